"""Sample data for the demo: ``load`` fills demo.events on the source, ``compare`` checks the copy.

Addresses come from .services.env (written by scripts/services up).
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from typing import Any

from localenv import require_services  # scripts/localenv.py: run as a script, scripts/ is on sys.path

KEYSPACE, TABLE = "demo", "events"
SCHEMA = f"""CREATE TABLE {KEYSPACE}.{TABLE} (
    device text, at timestamp, id uuid, kind text, value double, tags set<text>,
    attrs map<text, text>, owner text static,
    PRIMARY KEY (device, at, id)
) WITH CLUSTERING ORDER BY (at DESC, id ASC)"""


def session(role: str, raw: bool = False) -> Any:
    from migrator.backends.cassandra.connection import ConnectionSpec, connect

    env = require_services("demo")
    upper = role.upper()
    return connect(ConnectionSpec(role, env[f"MIGRATOR_{upper}_HOST"], int(env[f"MIGRATOR_{upper}_PORT"])), raw=raw)


def load(rows: int) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    src, tgt = session("source"), session("target")
    for s in (src, tgt):
        s.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        s.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{TABLE}", timeout=60)
    src.execute(SCHEMA)
    insert = src.prepare(f"INSERT INTO {KEYSPACE}.{TABLE} (device, at, id, kind, value, tags, attrs) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?")
    owner = src.prepare(f"UPDATE {KEYSPACE}.{TABLE} SET owner = ? WHERE device = ?")
    rnd = random.Random(42)
    devices = [f"device-{i:04d}" for i in range(max(1, rows // 50))]
    args = []
    for i in range(rows):
        device = devices[i % len(devices)]
        tags = {rnd.choice(["red", "green", "blue", "hot", "cold"]) for _ in range(rnd.randint(0, 3))}
        attrs = {"fw": f"1.{rnd.randint(0, 9)}", "site": rnd.choice(["north", "south"])} if i % 3 else {}
        ttl = rnd.choice([0, 0, 0, 86400 * 30])
        args.append((device, 1_700_000_000_000 + i * 1000, uuid.UUID(int=rnd.getrandbits(128)),
                     rnd.choice(["click", "view", "buy"]), rnd.random() * 100, tags or None, attrs or None, ttl))
    execute_concurrent_with_args(src, insert, args, concurrency=128, raise_on_first_error=True)
    execute_concurrent_with_args(src, owner, [(f"team-{i % 7}", d) for i, d in enumerate(devices)], concurrency=64)
    print(f"demo: loaded {rows:,} rows in {len(devices):,} partitions into {KEYSPACE}.{TABLE} on the source")
    src.cluster.shutdown()
    tgt.cluster.shutdown()


def table_cells(s: Any) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    cols = ["kind", "value", "tags", "attrs", "owner"]
    selectors = ", ".join([f"{c}, WRITETIME({c}), TTL({c})" for c in cols])
    rows = s.execute(f"SELECT device, at, id, {selectors} FROM {KEYSPACE}.{TABLE}", timeout=120)
    return {tuple(r[:3]): tuple(r[3:]) for r in rows}


def compare() -> int:
    src, tgt = session("source", raw=True), session("target", raw=True)
    a, b = table_cells(src), table_cells(tgt)
    missing = len(a.keys() - b.keys())
    extra = len(b.keys() - a.keys())
    differing = sum(1 for k in a.keys() & b.keys() if _differs(a[k], b[k]))
    print(f"demo: source rows {len(a):,}, target rows {len(b):,}, missing {missing}, extra {extra}, "
          f"differing {differing} (values and WRITETIME exact, TTL within 5 s)")
    return 0 if missing == extra == differing == 0 else 1


def _differs(x: tuple[Any, ...], y: tuple[Any, ...]) -> bool:
    from migrator.backends.cassandra import raw

    for i, (u, v) in enumerate(zip(x, y, strict=True)):
        if i % 3 == 2 and u is not None and v is not None:  # TTL: remaining seconds drift by the copy time
            ttl_u = raw.split_int_list(u) if len(u) != 4 else [raw.decode_int(u)]
            ttl_v = raw.split_int_list(v) if len(v) != 4 else [raw.decode_int(v)]
            if len(ttl_u) != len(ttl_v) or any(
                p != q and (p is None or q is None or abs(p - q) > 5) for p, q in zip(ttl_u, ttl_v, strict=True)
            ):
                return True
        elif u != v:
            return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("load").add_argument("--rows", type=int, default=20000)
    sub.add_parser("compare")
    args = parser.parse_args()
    if args.command == "load":
        load(args.rows)
        return 0
    return compare()


if __name__ == "__main__":
    sys.exit(main())
