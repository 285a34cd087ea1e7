"""CQL -> Parquet -> CQL: every type exact, WRITETIME and TTL kept, resumable per range and per file, refusals.

Local folders and moto's S3 (from ``scripts/services up``). Tables are compared cell by cell with the
same dumps the CQL copy tests use.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pyarrow
import pyarrow.parquet as pq
import pytest
import yaml

from tests.integration.test_migrate_types import (
    COLLECTION_ROWS,
    COLLECTIONS,
    NATIVE_ROWS,
    NATIVES,
    UDT_ROWS,
    UDT_TABLE,
    UDTS,
)
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, cli, dump, load_yaml, popen_cli, recreate, run_migrate

pytestmark = pytest.mark.integration

SLOW = {"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "150"}
# Parquet has no "empty" int (a zero-length cell CQL allows): it becomes null, as docs/parquet.md says
PARQUET_NATIVE_ROWS = [row.replace("blobAsInt(0x)", "null") for row in NATIVE_ROWS]


def _to_parquet(make_config, table: str, folder: str, *, preserve: bool = True, name: str = "export.yaml",
                **target) -> Path:
    path = make_config(table, source={"preserveTimestamps": preserve}, name=name)
    tree = load_yaml(path)
    tree["target"] = {"type": "parquet", "path": folder, **target}
    tree["savepoints"]["path"] = str(path.parent / f"savepoints-{name}")
    path.write_text(yaml.safe_dump(tree))
    return path


def _from_parquet(make_config, table: str, folder: str, *, name: str = "import.yaml", **source) -> Path:
    path = make_config(table, name=name)
    tree = load_yaml(path)
    tree["source"] = {"type": "parquet", "path": folder, **source}
    tree["savepoints"]["path"] = str(path.parent / f"savepoints-{name}")
    path.write_text(yaml.safe_dump(tree))
    return path


def _rows_in(folder: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in folder.glob("*.parquet"))


@pytest.mark.parametrize(("table", "columns", "rows", "types", "preserve"), [
    ("pq_natives", NATIVES, PARQUET_NATIVE_ROWS, [], False),
    ("pq_natives_meta", NATIVES, PARQUET_NATIVE_ROWS, [], True),
    ("pq_collections", COLLECTIONS, COLLECTION_ROWS, [], True),
    ("pq_udts", UDT_TABLE, UDT_ROWS, UDTS, True),
])
def test_every_type_survives_a_round_trip_through_parquet(source, target, raw_sessions, spark, make_config,
                                                          tmp_path, table, columns, rows, types, preserve):
    recreate(source, target, table, columns, create_target=False, types=types)
    for statement in rows:
        source.execute(statement.format(t=f"{SOURCE_KS}.{table}"))
    folder = tmp_path / "files"
    exported = run_migrate(spark, _to_parquet(make_config, table, str(folder), preserve=preserve))
    assert exported.rows == len(rows) == _rows_in(folder)
    assert (folder / "_SUCCESS").exists()
    imported = run_migrate(spark, _from_parquet(make_config, table, str(folder)))  # creates the target table
    assert imported.rows == len(rows)
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table, with_meta=preserve), dump(tgt, TARGET_KS, table, with_meta=preserve))


def test_ttl_and_writetime_survive_and_ttls_count_the_time_in_between(source, target, raw_sessions, spark,
                                                                       make_config, tmp_path):
    table = "pq_meta"
    recreate(source, target, table, "(k int, c int, v text, n int, s set<text>, st text static, "
                                    "PRIMARY KEY (k, c))", create_target=False)
    for k in range(20):
        source.execute(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v, n, st) VALUES ({k}, 1, 'v{k}', {k}, 's') "
                       f"USING TTL {5000 + k} AND TIMESTAMP {1_000_000 + k}")
        source.execute(f"UPDATE {SOURCE_KS}.{table} USING TTL 7000 AND TIMESTAMP 5 SET n = 9, s = s + {{'a'}} "
                       f"WHERE k = {k} AND c = 2")
        source.execute(f"UPDATE {SOURCE_KS}.{table} USING TIMESTAMP 6 SET s = s + {{'b'}} WHERE k = {k} AND c = 2")
    folder = tmp_path / "files"
    run_migrate(spark, _to_parquet(make_config, table, str(folder)))
    files = sorted(folder.glob("*.parquet"))
    written = pq.read_table(files[0])
    assert {"__migrator_meta_v_writetime", "__migrator_meta_v_ttl", "__migrator_meta_s_ttl"} <= set(
        written.column_names)
    assert str(written.schema.field("__migrator_meta_v_writetime").type) == "int64"
    run_migrate(spark, _from_parquet(make_config, table, str(folder)))
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table))

    # a file written 1,000 s ago: its cells get 1,000 s less, as they would have at the source
    for path in files:
        meta = {k: v for k, v in pq.read_metadata(path).metadata.items() if k != b"ARROW:schema"}
        meta[b"migrator.exportedAt"] = repr(float(meta[b"migrator.exportedAt"]) - 1000).encode()
        pq.write_table(pq.read_table(path).replace_schema_metadata(meta), path)
    target.execute(f"TRUNCATE {TARGET_KS}.{table}")
    run_migrate(spark, _from_parquet(make_config, table, str(folder), name="again.yaml"))
    def ttls(session, ks):
        return {row[0]: row[1] for row in session.execute(f"SELECT k, TTL(v) FROM {ks}.{table} WHERE c = 1 "
                                                          "ALLOW FILTERING")}

    now, then = ttls(source, SOURCE_KS), ttls(target, TARGET_KS)
    assert len(now) == 20 and all(abs(now[k] - 1000 - then[k]) <= 5 for k in now), (now, then)


def _moto_s3():
    import boto3

    from tests.support.dynamodb import dynamodb_urls

    url = dynamodb_urls().get("moto-source")
    assert url is not None, "moto is not running: scripts/services up starts it"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test-access",
                          aws_secret_access_key="test-secret")
    bucket = f"parquet-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    host, port = url.rsplit(":", 1)
    where = {"endpoint": {"host": host, "port": int(port)}, "region": "us-east-1", "usePathStyleAccess": True,
             "credentials": {"accessKey": "test-access", "secretKey": "test-secret"}}
    return client, bucket, where


def _kill_when_partial(proc, savepoints: Path, key: str) -> None:
    from migrator.savepoints import list_savepoints

    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the run ended early:\n{proc.stdout.read()}"
            for path in reversed(list_savepoints(savepoints) if savepoints.exists() else []):
                tree = load_yaml(path)
                state = tree.get("migratorState", {})
                if tree.get(key) and 0 < state.get("rangesDone", 0) < state.get("rangesTotal", 0):
                    return
            time.sleep(0.3)
        raise AssertionError("no savepoint with partial progress appeared")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def test_s3_round_trip_killed_and_resumed_both_ways(source, target, raw_sessions, make_config):
    """CQL -> s3a:// killed mid-way and resumed, then s3a:// -> CQL killed mid-way and resumed: exact."""
    table = "pq_resume"
    recreate(source, target, table, "(k int, c int, v text, s set<text>, PRIMARY KEY (k, c))", create_target=False)
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v, s) VALUES (?, ?, ?, ?) USING TTL ?")
    from cassandra.concurrent import execute_concurrent_with_args

    execute_concurrent_with_args(source, insert, [(k, c, f"v{k}-{c}", {f"s{c}"}, 86400 + k)
                                                  for k in range(400) for c in range(6)], concurrency=64)
    s3, bucket, where = _moto_s3()
    folder = f"s3a://{bucket}/exports/{table}"
    export = _to_parquet(make_config, table, folder, **where)
    tree = load_yaml(export)
    tree["source"]["splitCount"] = 24
    tree["savepoints"]["intervalSeconds"] = 1
    export.write_text(yaml.safe_dump(tree))
    _kill_when_partial(popen_cli("migrate", "--config", str(export), env=SLOW),
                       Path(tree["savepoints"]["path"]), "skipTokenRanges")
    resumed = cli("migrate", "--config", str(export))
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/{table}/")["Contents"]]
    assert f"exports/{table}/_SUCCESS" in keys
    parts = [k for k in keys if k.endswith(".parquet")]
    assert len({k.split("/")[-1].split("-")[1] for k in parts}) == len(parts)  # one file per range, never two
    assert sum(pq.read_metadata(pyarrow.BufferReader(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
               for k in parts) == 2400

    load = _from_parquet(make_config, table, folder, **where)
    tree = load_yaml(load)
    tree["savepoints"]["intervalSeconds"] = 1
    load.write_text(yaml.safe_dump(tree))
    _kill_when_partial(popen_cli("migrate", "--config", str(load), env={"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK":
                                                                             "300"}),
                       Path(tree["savepoints"]["path"]), "skipParquetFiles")
    resumed = cli("migrate", "--config", str(load))
    assert resumed.returncode == 0, resumed.stderr
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table))


def test_damaged_changed_and_existing_files_are_refused_by_name(source, target, make_config, tmp_path):
    table = "pq_refusals"
    recreate(source, target, table, "(k int PRIMARY KEY, v text)", create_target=False)
    for k in range(50):
        source.execute(f"INSERT INTO {SOURCE_KS}.{table} (k, v) VALUES ({k}, 'v{k}')")
    folder = tmp_path / "files"
    export = _to_parquet(make_config, table, str(folder), preserve=False)
    assert cli("migrate", "--config", str(export)).returncode == 0

    again = cli("migrate", "--config", str(export), "--fresh")  # mode error: the folder holds files
    assert again.returncode == 2 and "target.mode" in again.stderr and "mode: overwrite" in again.stderr

    files = sorted(folder.glob("*.parquet"))
    load = _from_parquet(make_config, table, str(folder))
    target.execute(f"CREATE TABLE {TARGET_KS}.{table} (k int PRIMARY KEY, v text)")
    body = files[1].read_bytes()
    files[1].write_bytes(body[: len(body) // 2])  # truncated
    truncated = cli("migrate", "--config", str(load))
    assert truncated.returncode == 3, truncated.stderr
    assert f"{files[1].name}: not a readable Parquet file" in truncated.stderr
    assert list(target.execute(f"SELECT k FROM {TARGET_KS}.{table}")) == []  # nothing was written
    files[1].write_bytes(body)

    # a savepoint naming the files the way upstream spells them (file:/...) skips them ...
    tree = load_yaml(load)
    tree["skipParquetFiles"] = [f"file:{files[0]}"]
    tree["migratorState"] = {"parquetFiles": {f"file:{files[0]}": "0:0"}}
    load.write_text(yaml.safe_dump(tree))
    changed = cli("migrate", "--config", str(load))  # ... unless the file changed since it was imported
    assert changed.returncode == 2 and "changed since" in changed.stderr, changed.stderr
    del tree["migratorState"]
    load.write_text(yaml.safe_dump(tree))
    skipped = cli("migrate", "--config", str(load))
    assert skipped.returncode == 0, skipped.stderr
    count = target.execute(f"SELECT COUNT(*) FROM {TARGET_KS}.{table}").one()[0]
    assert count == 50 - pq.read_metadata(files[0]).num_rows

    (folder / "notes.txt").write_text("not parquet")
    stray = cli("check", "--config", str(load))
    assert stray.returncode == 3 and "notes.txt: not a readable Parquet file" in stray.stderr


def test_modes_decide_what_happens_to_a_folder_that_holds_files(source, target, spark, make_config, tmp_path):
    table = "pq_modes"
    recreate(source, target, table, "(k int PRIMARY KEY, v text)", create_target=False)
    for k in range(30):
        source.execute(f"INSERT INTO {SOURCE_KS}.{table} (k, v) VALUES ({k}, 'v{k}')")
    folder = tmp_path / "files"

    def export(mode: str, name: str):
        tree = load_yaml(_to_parquet(make_config, table, str(folder), preserve=False, name=name, mode=mode))
        tree["source"]["splitCount"] = 2
        path = tmp_path / name
        path.write_text(yaml.safe_dump(tree))
        return run_migrate(spark, path)

    export("error", "first.yaml")
    first = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}
    assert export("ignore", "ignore.yaml").rows == 0
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")} == first
    assert (folder / "_SUCCESS").exists()
    assert export("append", "append.yaml").rows == 30
    assert len(list(folder.glob("*.parquet"))) == 2 * len(first) and _rows_in(folder) == 60
    assert export("overwrite", "overwrite.yaml").rows == 30
    assert not set(first) & {p.name for p in folder.glob("*.parquet")} and _rows_in(folder) == 30
    assert (folder / "_SUCCESS").exists()
