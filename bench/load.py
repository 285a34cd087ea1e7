"""Loading benchmark rows quickly: Spark tasks generate rows and write them with the migrator's own
writer plumbing (prepared statements, unlogged batches grouped by replica, a bounded async window)."""

from __future__ import annotations

from typing import Any

from bench.shapes import SHAPES
from migrator.backends.cassandra.connection import ConnectionSpec

ROWS_PER_TASK = 50_000


def create_tables(session: Any, keyspace: str, table: str, shape_name: str) -> None:
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"DROP TABLE IF EXISTS {keyspace}.{table}", timeout=120)
    session.execute(f"CREATE TABLE {keyspace}.{table} {SHAPES[shape_name].columns}", timeout=120)


def load(spark: Any, spec: ConnectionSpec, keyspace: str, table: str, shape_name: str, rows: int,
         seed: int = 0) -> None:
    """Write ``rows`` generated rows of the shape into keyspace.table (which must exist)."""
    shape = SHAPES[shape_name]
    slices = [(start, min(rows, start + ROWS_PER_TASK)) for start in range(0, rows, ROWS_PER_TASK)]

    def write(items: Any) -> None:
        from cassandra import ConsistencyLevel
        from cassandra.query import BoundStatement

        from migrator.backends.cassandra.batches import Batcher
        from migrator.backends.cassandra.connection import cached_session, prepared
        from migrator.backends.cassandra.window import WriteWindow

        session = cached_session(spec)
        cols = ", ".join(shape.insert_columns)
        marks = ", ".join("?" for _ in shape.insert_columns)
        stmt = prepared(session, f"INSERT INTO {keyspace}.{table} ({cols}) VALUES ({marks})")
        stmt.is_idempotent = True
        stmt.consistency_level = ConsistencyLevel.LOCAL_ONE
        batcher = Batcher(session, WriteWindow(session, 128), keyspace, ConsistencyLevel.LOCAL_ONE)
        for start, stop in items:
            for row in shape.rows(start, stop, seed):
                bound = BoundStatement(stmt).bind(row)
                batcher.add(stmt, bound.values, bound.routing_key)
        batcher.drain()

    spark.sparkContext.parallelize(slices, len(slices)).foreachPartition(write)
