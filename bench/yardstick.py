"""The yardstick: the DataStax Spark Cassandra Connector doing the same work in the same session.

The connector's newest release (3.5.1) targets Spark 3.5, so the yardstick runs only when pyspark
is 3.5.x; it is fetched from Maven Central through ``spark.jars.packages``.
"""

from __future__ import annotations

from typing import Any

import pyspark

CONNECTOR = "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"


def available() -> str | None:
    """None when the yardstick can run here, else why not."""
    if not pyspark.__version__.startswith("3.5"):
        return f"the connector ({CONNECTOR}) needs pyspark 3.5.x, this is {pyspark.__version__}"
    return None


def spark_conf(env: dict[str, str], fetch_size: int) -> dict[str, str]:
    """Session settings: the connector package and one catalog per cluster (src, tgt).

    The connector reads pages of ``fetch_size`` rows, as the migrator does (its default is 1,000).
    """
    conf = {
        "spark.jars.packages": CONNECTOR,
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
    }
    for name, role in (("src", "SOURCE"), ("tgt", "TARGET")):
        prefix = f"spark.sql.catalog.{name}"
        conf[prefix] = "com.datastax.spark.connector.datasource.CassandraCatalog"
        conf[f"{prefix}.spark.cassandra.connection.host"] = env[f"MIGRATOR_{role}_HOST"]
        conf[f"{prefix}.spark.cassandra.connection.port"] = env[f"MIGRATOR_{role}_PORT"]
        conf[f"{prefix}.spark.cassandra.input.fetch.sizeInRows"] = str(fetch_size)
    return conf


def copy(spark: Any, keyspace: str, source_table: str, target_table: str) -> None:
    """DataFrame read of the source table, append into an existing target table."""
    spark.read.table(f"src.{keyspace}.{source_table}").writeTo(f"tgt.{keyspace}.{target_table}").append()


def copy_preserving(spark: Any, keyspace: str, source_table: str, target_table: str, key: list[str],
                    cells: list[str]) -> None:
    """Upstream's preserve method: each row read with its cells' WRITETIME and TTL, written with per-row
    ``writetime`` and ``ttl`` options (the newest writetime and longest TTL of the row's cells; the
    benchmark's rows are written by one statement each, so all of a row's cells share them)."""
    from pyspark.sql import functions as F

    meta = ", ".join(f"writetime({c}) AS wt_{c}, ttl({c}) AS ttl_{c}" for c in cells)
    df = spark.sql(f"SELECT *, {meta} FROM src.{keyspace}.{source_table}")

    def newest(prefix: str) -> Any:
        columns = [F.col(f"{prefix}_{c}") for c in cells]
        return F.greatest(*columns) if len(columns) > 1 else columns[0]

    rows = df.select(*key, *cells, newest("wt").alias("row_writetime"), newest("ttl").alias("row_ttl"))
    (rows.writeTo(f"tgt.{keyspace}.{target_table}")
     .option("writetime", "row_writetime").option("ttl", "row_ttl").append())


def scan(spark: Any, keyspace: str, table: str) -> int:
    """A read-only full scan: every column of every row is read and hashed in the JVM."""
    df = spark.read.table(f"src.{keyspace}.{table}")
    return int(df.selectExpr("count(*) AS n", "sum(hash(*)) AS h").collect()[0]["n"])


def compare(spark: Any, keyspace: str, source_table: str, target_table: str, key: list[str]) -> dict[str, int]:
    """The usual Spark validation: read both, full outer join on the key, compare the other columns."""
    from pyspark.sql import functions as F

    a = spark.read.table(f"src.{keyspace}.{source_table}").withColumn("_in_a", F.lit(1))
    b = spark.read.table(f"tgt.{keyspace}.{target_table}").withColumn("_in_b", F.lit(1))
    others = [c for c in a.columns if c not in key and c != "_in_a"]
    joined = a.alias("a").join(b.alias("b"), on=key, how="full_outer")
    differs = F.lit(False)
    for c in others:
        differs = differs | ~F.col(f"a.{c}").eqNullSafe(F.col(f"b.{c}"))
    row = joined.select(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("_in_b").isNull().cast("int")).alias("missing"),
        F.sum(F.col("_in_a").isNull().cast("int")).alias("extra"),
        F.sum(differs.cast("int")).alias("differing"),
    ).collect()[0]
    return {k: int(row[k] or 0) for k in ("rows", "missing", "extra", "differing")}


def write_only(spark: Any, keyspace: str, table: str, rows: int) -> None:
    """A write-only load through the connector (narrow rows generated in the JVM)."""
    from pyspark.sql import functions as F

    df = spark.range(rows).select(
        F.col("id"), (F.col("id") % 2147483647).cast("int").alias("n"),
        F.format_string("value-%012d", F.col("id")).alias("s"), F.rand(7).alias("d"),
    )
    df.writeTo(f"tgt.{keyspace}.{table}").append()


def to_parquet(spark: Any, keyspace: str, table: str, folder: str) -> None:
    """The connector's DataFrame read of the source table, written by Spark's own Parquet writer (snappy,
    as the migrator's ``compression: snappy``) into a new folder."""
    spark.read.table(f"src.{keyspace}.{table}").write.option("compression", "snappy").parquet(folder)


def from_parquet(spark: Any, folder: str, keyspace: str, table: str) -> None:
    """Spark's own Parquet reader of a folder, appended by the connector into an existing target table."""
    spark.read.parquet(folder).writeTo(f"tgt.{keyspace}.{table}").append()
