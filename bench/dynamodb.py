"""``python -m bench.dynamodb --items N [--server dynalite|moto]``: time a DynamoDB copy and validation.

Runs against the local DynamoDB servers of ``scripts/services up``: loads N items into a source table,
times our ``migrate`` into a new target table and ``validate`` of the result, then (on pyspark 3.5
only) the yardstick on the same servers and segment count: AWS's Hadoop DynamoDB connector
(``emr-dynamodb-hadoop``, the library upstream's reader and writer are built on) copying with
``DynamoDBInputFormat`` / ``DynamoDBOutputFormat``, entirely in the JVM. Prints items/s, peak memory
and CPU seconds per process group for each phase, and ends with one line
``RESULT dynamodb_copy_ratio=<x> client_cpu_ratio=<y> migrate_items_per_s=<a> validate_items_per_s=<b>``:
our copy rate over the connector's, and our client CPU per item (driver, JVM and Python workers)
over the connector's; and ``load_items_per_s``, the rate of the load, which writes with a client
cheap enough that it measures what one server process accepts: the ceiling of any copy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import uuid
from typing import Any

import yaml

from bench.measure import Phase, settle
from bench.reconcile import changed_rows, phase_rows, ratios, time_phases
from scripts.localenv import dynamodb_urls

CONNECTOR = "com.amazon.emr:emr-dynamodb-hadoop:4.16.0"
KEYS = {"accessKey": "bench", "secretKey": "bench"}  # any key works with the local servers
ITEM_BYTES = 200


def yardstick_available() -> str | None:
    """None when the connector can run here, else why not."""
    import pyspark

    if not pyspark.__version__.startswith("3.5"):
        return f"the connector ({CONNECTOR}) is run on pyspark 3.5.x (.venv-spark35), this is {pyspark.__version__}"
    return None


def endpoint(url: str) -> dict[str, Any]:
    host, port = url.rsplit(":", 1)
    return {"host": host, "port": int(port)}


def config_text(source_url: str, target_url: str, source: str, target: str, segments: int, savepoints: str,
                reconcile: dict[str, Any] | None = None) -> str:
    def side(url: str, table: str) -> dict[str, Any]:
        return {"type": "dynamodb", "table": table, "endpoint": endpoint(url), "region": "us-east-1",
                "credentials": KEYS}

    return yaml.safe_dump({
        "source": {**side(source_url, source), "scanSegments": segments},
        "target": {**side(target_url, target), "streamChanges": False},
        "savepoints": {"path": savepoints, "intervalSeconds": 30},
        "validation": {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                       "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0},
        **({"reconcile": reconcile} if reconcile else {}),
    })


def time_reconcile(spark: Any, args: Any, target_url: str, tmp: str, source_url: str, source: str, target: str,
                   timed: Any) -> None:
    """The first ``--diverge`` share of target items rewritten, then ``validate``, ``diff`` and ``apply``, timed."""
    from pathlib import Path

    from migrator.config import load_config

    def same_rows(n: int) -> Any:
        small = f"{source}_n{n}"
        create(source_url, small)
        load(spark, source_url, small, n)
        return load_config(config_text(source_url, target_url, small, f"{small}_copy", args.segments, f"{tmp}/same"))

    load(spark, target_url, target, changed_rows(args.items, args.diverge), value="w")
    output = Path(tmp) / "reconcile"
    loaded = load_config(config_text(source_url, target_url, source, target, args.segments, tmp,
                                     {"output": str(output), "strategy": "theirs"}))
    time_phases(spark, loaded, output, changed_rows(args.items, args.diverge), timed,
                same_rows if args.diverge < 1 else None, args.rounds,
                lambda: load(spark, target_url, target, changed_rows(args.items, args.diverge), value="w"))


def client(url: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=KEYS["accessKey"], aws_secret_access_key=KEYS["secretKey"])


def create(url: str, table: str) -> None:
    from migrator.backends.dynamodb.table import wait_active

    c = client(url)
    c.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                   KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    wait_active(c, table)


def load(spark: Any, url: str, table: str, items: int, *, value: str = "v") -> None:
    """Write ``items`` items of about ``ITEM_BYTES`` bytes, from Spark tasks (the migrator's batch writer).

    The writer's client costs little CPU, so the load's rate is about what the server can take: the
    ceiling any copy into a server of the same kind meets.
    """
    slices = [(start, min(items, start + 25_000)) for start in range(0, items, 25_000)]

    def write(parts: Any) -> None:
        from migrator.backends.dynamodb.client import ClientSpec
        from migrator.backends.dynamodb.copier import BatchWriter
        from migrator.backends.dynamodb.pacing import Pacer
        from migrator.backends.dynamodb.wire import wire_client

        spec = ClientSpec("load", url, "us-east-1", access_key=KEYS["accessKey"], secret_key=KEYS["secretKey"])
        writer = BatchWriter(wire_client(spec), table, 25, Pacer(None), False)
        try:
            for start, stop in parts:
                for i in range(start, stop):
                    writer.put({"id": {"S": f"item-{i:010d}"}, "n": {"N": str(i * 7)}, "s": {"S": value * 120},
                                "tags": {"SS": [f"t{i % 10}", "all"]}, "m": {"M": {"k": {"N": str(i % 1000)}}}})
            writer.finish()
        finally:
            writer.close()

    spark.sparkContext.parallelize(slices, len(slices)).foreachPartition(write)


def connector_copy(spark: Any, source_url: str, target_url: str, source: str, target: str, segments: int,
                   items: int) -> None:
    """The connector's copy: ``DynamoDBInputFormat`` into ``DynamoDBOutputFormat``, never leaving the JVM.

    Upstream fills ``dynamodb.item.count``, ``dynamodb.item.average.size`` and ``dynamodb.table.size-bytes``
    from DescribeTable; the connector reads nothing when they are zero, and the local servers report
    zeros, so they are given here from what was loaded.
    """
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    read = jvm.org.apache.hadoop.mapred.JobConf(jsc.hadoopConfiguration())
    write = jvm.org.apache.hadoop.mapred.JobConf(jsc.hadoopConfiguration())
    common = {"dynamodb.region": "us-east-1", "dynamodb.awsAccessKeyId": KEYS["accessKey"],
              "dynamodb.awsSecretAccessKey": KEYS["secretKey"], "dynamodb.yarn.enabled": "false",
              # getSplits sizes its tasks from YARN's memory settings even outside YARN: give it one node
              # with room for every segment (the read is capped by dynamodb.max.map.tasks anyway)
              "yarn.nodemanager.resource.memory-mb": str(1024 * (segments + 4)),
              "yarn.scheduler.minimum-allocation-mb": "1024", "mapreduce.map.memory.mb": "1024",
              "mapreduce.reduce.memory.mb": "1024", "yarn.app.mapreduce.am.resource.mb": "1024"}
    for key, value in {**common, "dynamodb.endpoint": source_url, "dynamodb.input.tableName": source,
                       "dynamodb.scan.segments": str(segments), "dynamodb.max.map.tasks": str(segments),
                       "dynamodb.item.count": str(items), "dynamodb.item.average.size": str(ITEM_BYTES),
                       "dynamodb.table.size-bytes": str(items * ITEM_BYTES),
                       "dynamodb.throughput.read": "40000", "dynamodb.throughput.read.percent": "0.5",
                       "mapred.input.format.class": "org.apache.hadoop.dynamodb.read.DynamoDBInputFormat"}.items():
        read.set(key, value)
    for key, value in {**common, "dynamodb.endpoint": target_url, "dynamodb.output.tableName": target,
                       "dynamodb.throughput.write": "40000", "dynamodb.throughput.write.percent": "0.5",
                       "mapred.output.format.class": "org.apache.hadoop.dynamodb.write.DynamoDBOutputFormat",
                       "mapred.output.key.class": "org.apache.hadoop.io.Text",
                       "mapred.output.value.class": "org.apache.hadoop.dynamodb.DynamoDBItemWritable"}.items():
        write.set(key, value)
    def cls(name: str) -> Any:  # through Spark's class loader, which holds the --packages jars
        return jvm.org.apache.spark.util.Utils.classForName(name, True, False)

    pairs = jsc.hadoopRDD(read, cls("org.apache.hadoop.dynamodb.read.DynamoDBInputFormat"),
                          cls("org.apache.hadoop.io.Text"), cls("org.apache.hadoop.dynamodb.DynamoDBItemWritable"),
                          segments)
    pairs.saveAsHadoopDataset(write)


def count(url: str, table: str) -> int:
    c, total, request = client(url), 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = c.scan(**request)
        total += page["Count"]
        if not page.get("LastEvaluatedKey"):
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def client_cpu(phase: Phase) -> float:
    return sum(phase.cpu_seconds.get(group, 0.0) for group in ("driver", "jvm", "workers"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dynamodb", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--server", choices=("dynalite", "moto"), default="dynalite")
    parser.add_argument("--segments", type=int, default=8, help="scanSegments, for both contenders")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--no-yardstick", dest="yardstick", action="store_false")
    parser.add_argument("--reconcile", action="store_true",
                        help="also time reconcile: target items rewritten, then validate, diff and apply")
    parser.add_argument("--diverge", type=float, default=1.0,
                        help="with --reconcile: the share of target items rewritten (in conflict)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --reconcile: validate and diff alternate N times, then apply and its migrate "
                             "(production re-diverged before each apply); the fastest of each counts")
    args = parser.parse_args(argv)

    from migrator.config import load_config
    from migrator.migrate import migrate
    from migrator.spark import create_session
    from migrator.validate import validate

    urls = dynamodb_urls()
    if f"{args.server}-source" not in urls:
        print(f"bench.dynamodb: the {args.server} servers are not up: run scripts/services up", file=sys.stderr)
        return 2
    source_url, target_url = urls[f"{args.server}-source"], urls[f"{args.server}-target"]
    why_not = yardstick_available() if args.yardstick else "--no-yardstick"
    # DynamoDBSplit reports a length of 0, and Spark drops splits of length 0 unless told not to
    yardstick_conf = {"spark.jars.packages": CONNECTOR, "spark.hadoopRDD.ignoreEmptySplits": "false"}
    conf = {"spark.ui.enabled": "false", **({} if why_not else yardstick_conf)}
    spark = create_session(args.master, conf, app_name="migrator-bench-dynamodb")
    run = uuid.uuid4().hex[:6]
    source, target, scc = f"bench_{run}", f"bench_{run}_copy", f"bench_{run}_emr"
    results: dict[str, Phase] = {}

    def timed(name: str) -> Phase:
        settle(group="dynamodb")
        results[name] = Phase(name)
        return results[name]

    try:
        create(source_url, source)
        with timed("load"):
            load(spark, source_url, source, args.items)
        with tempfile.TemporaryDirectory() as tmp:
            loaded = load_config(config_text(source_url, target_url, source, target, args.segments, tmp))
            with timed("migrate"):
                outcome = migrate(loaded, spark)
            assert outcome.rows == args.items, f"migrated {outcome.rows} items, expected {args.items}"
            with timed("validate"):
                report = validate(loaded, spark)
            assert report.equal and report.counts.sourceRows == args.items, report.counts
            if args.reconcile:
                time_reconcile(spark, args, target_url, tmp, source_url, source, target, timed)
        client(target_url).delete_table(TableName=target)  # the connector writes into a server as empty as ours was
        if why_not is None:
            create(target_url, scc)
            with timed("emr copy"):
                connector_copy(spark, source_url, target_url, source, scc, args.segments, args.items)
            copied = count(target_url, scc)
            assert copied == args.items, f"the connector copied {copied:,} of {args.items:,} items"
    finally:
        spark.stop()
        small = f"{source}_n{changed_rows(args.items, args.diverge)}"
        for url, table in ((source_url, source), (target_url, target), (target_url, scc), (source_url, small),
                           (target_url, f"{small}_copy")):
            with contextlib.suppress(Exception):  # best effort: the table may not exist
                client(url).delete_table(TableName=table)
    print(f"bench.dynamodb: {args.items:,} items of about {ITEM_BYTES} bytes on {args.server}, "
          f"{args.segments} segments, master {args.master}")
    for name, phase in results.items():
        mem = ", ".join(f"{k} {v:,.0f}" for k, v in phase.peak_mib.items())
        cpu = ", ".join(f"{k} {v:,.1f}" for k, v in phase.cpu_seconds.items() if k != "cassandra")
        rate = phase_rows(name, args.items, changed_rows(args.items, args.diverge)) / phase.seconds
        print(f"  {name:19s} {phase.seconds:8.1f} s {rate:10,.0f} items/s  peak MiB: {mem}  cpu s: {cpu}")
    m = args.items / results["migrate"].seconds
    load_rate = args.items / results["load"].seconds
    v = args.items / results["validate"].seconds
    if why_not is not None:
        print(f"  yardstick (emr-dynamodb-hadoop) not run: {why_not}")
        copy_ratio = cpu_ratio = "n/a"
    else:
        e = results["emr copy"]
        copy_ratio = f"{m / (args.items / e.seconds):.2f}"
        cpu_ratio = f"{client_cpu(results['migrate']) / max(client_cpu(e), 1e-9):.2f}"
    reconcile_ratios = ratios(results, args.items, changed_rows(args.items, args.diverge)) if "diff" in results else ""
    print(f"RESULT dynamodb_copy_ratio={copy_ratio} client_cpu_ratio={cpu_ratio} migrate_items_per_s={m:.0f} "
          f"validate_items_per_s={v:.0f} load_items_per_s={load_rate:.0f}{reconcile_ratios}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.exit(main())
