"""Spark session creation for the migrator's jobs.

Under ``spark-submit`` the master and resources come from the submit command; run directly, the
job uses ``local[*]`` unless ``--master`` says otherwise. Python workers run the same interpreter
as the driver, so they import the same ``migrator`` and driver packages.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from importlib import resources
from typing import Any

DEFAULT_MASTER = "local[*]"

# Settings the jobs rely on; a user's --conf or spark-submit --conf wins.
DEFAULT_CONF = {
    "spark.ui.showConsoleProgress": "false",  # we print our own progress
    "spark.task.maxFailures": "8",
    "spark.stage.maxConsecutiveAttempts": "8",
    "spark.speculation": "false",  # a speculative copy of a counter range would double-count
    "spark.python.worker.reuse": "true",  # keeps each worker's cached sessions
    "spark.sql.shuffle.partitions": "8",
}


def log4j_config() -> str | None:
    """Path of the packaged log4j2 configuration that keeps the JVM quiet.

    None when the package runs from a zip (``--py-files``): the JVM needs a real file, and under
    spark-submit it has started already anyway.
    """
    path = resources.files("migrator").joinpath("log4j2.properties")
    return str(path) if isinstance(path, os.PathLike) and os.path.isfile(path) else None


def submitted_conf() -> Any:
    """The Spark settings spark-submit passed (``--master``, ``--conf``), or None when not under it.

    A plain ``SparkConf()`` made before the SparkContext does not see them: they live in the JVM's
    system properties, which only a conf bound to the JVM gateway loads.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return SparkConf(_jvm=SparkContext._jvm)


def create_session(master: str | None = None, conf: Mapping[str, str] | None = None,
                   app_name: str = "migrator") -> Any:
    """Get or create the SparkSession; quiet JVM logging; workers use this interpreter."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    existing = submitted_conf() or SparkConf()
    if not existing.contains("spark.pyspark.python"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if not master and not existing.contains("spark.master"):
        master = DEFAULT_MASTER
    if master and master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local runs stay on loopback
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in DEFAULT_CONF.items():
        if not existing.contains(key):
            builder = builder.config(key, value)
    log4j = log4j_config()
    if log4j and not existing.contains("spark.driver.extraJavaOptions"):
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    quiet_accumulator_server(spark.sparkContext)
    return spark


def quiet_accumulator_server(sc: Any) -> None:
    """Log, instead of printing a traceback, when the JVM drops its accumulator connection.

    Ctrl-C (or SIGTERM to the process group) stops the JVM with the driver; PySpark's accumulator
    server then prints an ``EOFError`` traceback, which says nothing to a user whose run already
    stopped with its own message and savepoint.
    """
    server = getattr(sc, "_accumulatorServer", None)
    if server is None or not hasattr(server, "handle_error"):
        return
    shown = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], EOFError | ConnectionError):
            logging.getLogger(__name__).debug("the JVM closed its accumulator connection")
            return
        shown(request, client_address)

    server.handle_error = handle_error
