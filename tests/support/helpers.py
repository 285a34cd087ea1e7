"""Helpers for tests against the local clusters: configs, table set-up, cell-by-cell dumps, running the CLI.

Shared by the integration and end-to-end suites.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.support.constants import ROOT, SOURCE_KS, TARGET_KS

TTL_TOLERANCE_S = 5


def write_config(tmp_path: Path, endpoints: dict[str, Any], table: str, *, source: dict[str, Any] | None = None,
                 target: dict[str, Any] | None = None, top: dict[str, Any] | None = None,
                 name: str = "config.yaml") -> Path:
    (src_host, src_port), (tgt_host, tgt_port) = endpoints["source"], endpoints["target"]
    config: dict[str, Any] = {
        "source": {
            "type": "cassandra", "host": src_host, "port": src_port, "keyspace": SOURCE_KS, "table": table,
            "consistencyLevel": "LOCAL_QUORUM", "preserveTimestamps": False, "fetchSize": 1000, "splitCount": 8,
            **(source or {}),
        },
        "target": {
            "type": "scylla", "host": tgt_host, "port": tgt_port, "keyspace": TARGET_KS, "table": table,
            "consistencyLevel": "LOCAL_QUORUM", "stripTrailingZerosForDecimals": False, **(target or {}),
        },
        "savepoints": {"path": str(tmp_path / "savepoints"), "intervalSeconds": 300},
        **(top or {}),
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def recreate(source: Any, target: Any, table: str, columns_cql: str, *, create_target: bool = True,
             types: list[str] = ()) -> None:
    """Drop and create ``table`` in the source keyspace (and in the target one unless told not to)."""
    for session, ks, create in ((source, SOURCE_KS, True), (target, TARGET_KS, create_target)):
        session.execute(f"DROP TABLE IF EXISTS {ks}.{table}")
        for t in types:
            session.execute(t.format(ks=ks))
        if create:
            session.execute(f"CREATE TABLE {ks}.{table} {columns_cql}")


def dump(raw_session: Any, ks: str, table: str, *, with_meta: bool = True) -> dict[tuple[bytes, ...], dict[str, Any]]:
    """Every row, keyed by its primary key bytes: each cell's bytes, WRITETIME and TTL (names exact, any case)."""
    from migrator.backends.cassandra.cql import quote

    meta = raw_session.cluster.metadata
    raw_session.cluster.refresh_table_metadata(ks, table)
    tm = meta.keyspaces[ks].tables[table]
    keys = [c.name for c in tm.primary_key]
    cells = [c for c in tm.columns if c not in keys]
    counters = any(tm.columns[c].cql_type == "counter" for c in cells)
    selectors = [quote(c) for c in keys + cells]
    if with_meta and not counters:
        for c in cells:
            selectors += [f"WRITETIME({quote(c)})", f"TTL({quote(c)})"]
    rows = raw_session.execute(f"SELECT {', '.join(selectors)} FROM {quote(ks)}.{quote(table)}", timeout=120)
    out: dict[tuple[bytes, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[: len(keys)])
        values = dict(zip(cells, row[len(keys): len(keys) + len(cells)], strict=True))
        if with_meta and not counters:
            base = len(keys) + len(cells)
            for i, c in enumerate(cells):
                values[f"writetime({c})"] = row[base + 2 * i]
                values[f"ttl({c})"] = _ttls(row[base + 2 * i + 1], multi=tm.columns[c].cql_type)
        out[key] = values
    return out


def _ttls(raw: bytes | None, multi: str) -> Any:
    from migrator.backends.cassandra import raw as codec

    if raw is None:
        return None
    if len(raw) == 4 and not multi.startswith(("list<", "set<", "map<")):
        return codec.decode_int(raw)
    try:
        return tuple(codec.split_int_list(raw))
    except Exception:  # a plain int after all
        return codec.decode_int(raw)


def assert_same(source_dump: dict[Any, Any], target_dump: dict[Any, Any], *,
                ttl_tolerance: float = TTL_TOLERANCE_S) -> None:
    """Cell-by-cell equality; TTLs may differ by the copy delay, everything else must be exact."""
    assert set(source_dump) == set(target_dump), (
        f"missing in target: {len(set(source_dump) - set(target_dump))}, "
        f"extra in target: {len(set(target_dump) - set(source_dump))}"
    )
    for key, src in source_dump.items():
        tgt = target_dump[key]
        for name, value in src.items():
            other = tgt.get(name)
            if name.startswith("ttl(") and value is not None and other is not None:
                _assert_ttl_close(value, other, key, name, ttl_tolerance)
            else:
                assert other == value, f"row {key} column {name}: source {value!r} target {other!r}"


def _assert_ttl_close(a: Any, b: Any, key: Any, name: str, tolerance: float) -> None:
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), f"row {key} {name}: {a} vs {b}"
        for x, y in zip(a, b, strict=True):
            _assert_ttl_close(x, y, key, name, tolerance)
        return
    if a is None or b is None:
        assert a == b, f"row {key} {name}: {a} vs {b}"
        return
    assert abs(b - a) <= tolerance, f"row {key} {name}: source ttl {a}, target ttl {b}"


def run_migrate(spark: Any, config_path: Path) -> Any:
    from migrator.config import load_config
    from migrator.migrate import migrate

    return migrate(load_config(config_path), spark)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def popen_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "migrator", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, **(env or {})}, start_new_session=True,
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())



def wait_for_partial_savepoint(directory: Path, proc: Any, timeout: float = 240) -> Path:
    """The first savepoint in ``directory`` showing some, not all, splits done, while ``proc`` still runs."""
    from migrator.savepoints import list_savepoints

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"migration ended early:\n{proc.stdout.read()}"
        for path in reversed(list_savepoints(directory) if directory.exists() else []):
            state = load_yaml(path).get("migratorState", {})
            if 0 < state.get("rangesDone", 0) < state.get("rangesTotal", 0):
                return path
        time.sleep(0.2)
    raise AssertionError("no savepoint with partial progress appeared")
