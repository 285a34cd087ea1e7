"""Job plumbing without Spark: reading executor errors, translating failures, the range ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.backends.cassandra.savepoint import finished_ranges
from migrator.errors import EXIT_CONFIG, EXIT_RUNTIME, ConfigError, RuntimeFailure
from migrator.planning import tokens
from migrator.runner import SplitLedger, _MergeParam, executor_exception, translate_failure

SPARK_ERROR = """\
An error occurred while calling o87.foreachPartition.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 0.0 failed 8 times, \
most recent failure: Lost task 3.7 in stage 0.0 (TID 31) (10.0.0.5 executor 1): \
org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/opt/spark/python/lib/pyspark.zip/pyspark/worker.py", line 1247, in main
    process()
  File "/app/migrator/backends/cassandra/writers.py", line 59, in send
    self.window.submit(self.bound(statement, values))
cassandra.InvalidRequest: Error from server: code=2200 [Invalid query] message="Unknown column v"

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/opt/spark/python/lib/pyspark.zip/pyspark/worker.py", line 1247, in main
    process()
  File "/app/migrator/backends/cassandra/copier.py", line 37, in copy_pieces
    src = cached_session(plan.source, raw=True)
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
migrator.errors.RuntimeFailure: cannot connect to the source cluster at 10.0.0.1:9042 (gave up after 10 s): \
10.0.0.1:9042: timed out

\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)
\tat org.apache.spark.api.python.PythonRunner$$anon$3.read(PythonRunner.scala:784)
\tat java.base/java.lang.Thread.run(Thread.java:840)

Driver stacktrace:
\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2898)
\tat py4j.GatewayConnection.run(GatewayConnection.java:238)
"""
CONNECT_FAILURE = (
    "RuntimeFailure: cannot connect to the source cluster at 10.0.0.1:9042 (gave up after 10 s): "
    "10.0.0.1:9042: timed out"
)


class Py4JLikeError(Exception):
    """What PySpark raises on the driver: the Java error text, Python traceback included."""


def test_executor_exception_takes_the_last_python_exception():
    assert executor_exception(SPARK_ERROR) == CONNECT_FAILURE


def test_executor_exception_keeps_colons_in_the_message():
    text = SPARK_ERROR.split("During handling")[0]
    assert executor_exception(text) == (
        'InvalidRequest: Error from server: code=2200 [Invalid query] message="Unknown column v"'
    )


def test_executor_exception_without_a_message_or_traceback():
    assert executor_exception(
        'Traceback (most recent call last):\n  File "x", line 1\nKeyboardInterrupt\n'
    ) == ("KeyboardInterrupt")
    assert executor_exception("org.apache.spark.SparkException: Job 3 cancelled") is None
    assert executor_exception('Traceback (most recent call last):\n  File "x", line 1\n') is None


def test_translate_failure_keeps_migrator_errors():
    error = ConfigError([("source.host", "missing")])
    assert translate_failure(error, Path("/sp/savepoint_1.yaml")) is error
    assert translate_failure(error, None).exit_code == EXIT_CONFIG


def test_translate_failure_names_the_savepoint():
    failure = translate_failure(Py4JLikeError(SPARK_ERROR), Path("/sp/savepoint_1700000000.yaml"))
    assert isinstance(failure, RuntimeFailure)
    assert failure.exit_code == EXIT_RUNTIME
    assert failure.message == (
        f"the Spark job failed: {CONNECT_FAILURE}; finished ranges are in /sp/savepoint_1700000000.yaml"
    )
    assert failure.hint == "fix the cause, then resume with --config pointing at that savepoint"


def test_translate_failure_without_traceback_or_savepoint():
    failure = translate_failure(
        Py4JLikeError("Job 3 cancelled because SparkContext was shut down\nmore"), None
    )
    assert failure.message == "the Spark job failed: Job 3 cancelled because SparkContext was shut down"
    assert failure.hint is None
    assert translate_failure(Py4JLikeError(""), None).message == "the Spark job failed: Py4JLikeError"


# --- the ledger ------------------------------------------------------------------------------------


class FakeAccumulator:
    """Spark's accumulator contract on the driver: ``value`` is the merge of every ``add``."""

    def __init__(self, value: dict[int, Any], param: Any) -> None:
        self.value = value
        self.param = param

    def add(self, term: dict[int, Any]) -> None:
        self.value = self.param.addInPlace(self.value, term)


class FakeSparkContext:
    def accumulator(self, value: dict[int, Any], param: Any) -> FakeAccumulator:
        return FakeAccumulator(value, param)


class FakeSpark:
    sparkContext = FakeSparkContext()


SPLITS = [
    tokens.TokenRange(-(2**63), -4611686018427387905),
    tokens.TokenRange(-4611686018427387905, -1),
    tokens.TokenRange(-1, 4611686018427387903),
    tokens.TokenRange(4611686018427387903, 2**63 - 1),
]


PLAN = tokens.plan(tokens.MURMUR3, 4, [SPLITS[0]])


def ledger_with_first_split_done(**kwargs: Any) -> SplitLedger:
    assert PLAN.all_ranges == tuple(SPLITS)
    return SplitLedger(done_before=PLAN.done_count, **kwargs)


def finished(ledger: SplitLedger, plan: tokens.Plan = PLAN) -> list[tokens.TokenRange]:
    """The savepoint's ranges for what the ledger holds (the Cassandra backend's rendering)."""
    return finished_ranges(plan, ledger.results())


def test_ledger_before_anything_ran():
    ledger = ledger_with_first_split_done(rows_before=100)
    assert ledger.results() == {}
    assert ledger.done_count() == 1
    assert ledger.rows() == 100
    assert finished(ledger) == [SPLITS[0]]


def test_ledger_counts_what_executors_reported():
    ledger = ledger_with_first_split_done(rows_before=100)
    acc = ledger.accumulator(FakeSpark())
    acc.add({1: 10})
    acc.add({3: 5})
    assert ledger.results() == {1: 10, 3: 5}
    assert ledger.done_count() == 3
    assert ledger.rows() == 115
    assert finished(ledger) == [tokens.TokenRange(-(2**63), -1), SPLITS[3]]


def test_ledger_with_structured_results():
    ledger = ledger_with_first_split_done(rows_of=lambda r: r["rows"])
    acc = ledger.accumulator(FakeSpark())
    acc.add({2: {"rows": 7, "differences": 1}})
    assert ledger.rows() == 7
    assert finished(ledger) == [SPLITS[0], SPLITS[2]]


def test_accumulator_param_is_a_spark_accumulator_param():
    from pyspark.accumulators import AccumulatorParam

    ledger = ledger_with_first_split_done()
    acc = ledger.accumulator(FakeSpark())
    assert isinstance(acc.param, AccumulatorParam)
    assert acc.param.zero({5: 1}) == {}


def test_merge_returns_a_new_dict_and_leaves_its_inputs_alone():
    param = _MergeParam()
    a, b = {1: 10}, {2: 20, 1: 11}
    merged = param.addInPlace(a, b)
    assert merged == {1: 11, 2: 20}
    assert merged is not a and merged is not b
    assert a == {1: 10} and b == {2: 20, 1: 11}


def test_merging_nothing_returns_the_same_dict():
    param = _MergeParam()
    a = {1: 10}
    assert param.addInPlace(a, {}) is a
    assert a == {1: 10}


def test_ranges_from_a_savepoint_only_are_not_counted_twice():
    plan = tokens.plan(tokens.MURMUR3, 4, [SPLITS[0], SPLITS[1]])
    ledger = SplitLedger(done_before=plan.done_count)
    acc = ledger.accumulator(FakeSpark())
    acc.add({2: 1})
    assert ledger.done_count() == 3
    assert finished(ledger, plan) == [tokens.TokenRange(-(2**63), 4611686018427387903)]
