"""Many tables in one run, without a database: expansion, per-table configs, isolation, savepoint entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from migrator.backends.base import MIGRATE, WorkItem
from migrator.config import load_config
from migrator.errors import ConfigError, MigratorError, RuntimeFailure, SavepointMismatch
from migrator.tableset import ItemFailed, Member, TableJob, TableSet, TableTask, open_tables, plan_jobs

CONFIG = """
source: {type: cassandra, host: 127.0.0.1, port: 9042, keyspace: ks, table: "*", exclude: ["*_tmp"],
         consistencyLevel: ONE, fetchSize: 100, preserveTimestamps: false}
target: {type: cassandra, host: 127.0.0.1, port: 9043, keyspace: ks2, consistencyLevel: ONE,
         stripTrailingZerosForDecimals: false}
tables:
  - {name: orders, target: orders_v2, renames: [{from: a, to: b}], where: "x > 1"}
"""


@dataclass
class FakeRun:
    """A prepared table with ``total`` items of which those in ``done`` were finished before."""

    name: str
    total: int
    done: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    closed: bool = False
    savepoint_note: str = "note"
    max_partitions: int | None = None
    split_unit: str = "token"

    @property
    def source_identity(self) -> str:
        return f"c/ks.{self.name}"

    @property
    def target_identity(self) -> str:
        return f"c/ks2.{self.name}"

    @property
    def splits_total(self) -> int:
        return self.total

    @property
    def splits_done_before(self) -> int:
        return len(self.done)

    def pending(self) -> list[WorkItem]:
        return [WorkItem(i, f"{self.name}-{i}") for i in range(self.total) if i not in self.done]

    def copy_task(self) -> Any:
        if self.name == "broken":
            raise RuntimeFailure("cannot create broken")
        return lambda item: len(item.spec)

    def savepoint_problems(self, state: Any) -> list[tuple[str, str]]:
        return []

    def savepoint_fields(self, finished: Any) -> dict[str, Any]:
        return {"skipSegments": sorted({*self.done, *finished})}

    def state(self) -> dict[str, Any]:
        return {"totalSegments": self.total}

    def describe(self) -> str:
        return f"plan of {self.name}\nnothing was written"

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    def __init__(self, names: list[str], sizes: dict[str, int] | None = None,
                 errors: dict[str, MigratorError] | None = None) -> None:
        self.names, self.sizes, self.errors = names, sizes or {}, errors or {}
        self.runs: list[Any] = []

    def list_tables(self, config: Any) -> list[str]:
        return self.names

    def prepare_tables(self, configs: list[Any], *, parallelism: int) -> list[Any]:
        self.runs = [self.errors.get(c.source.table) or FakeRun(c.source.table, self.sizes.get(c.source.table, 2))
                     for c in configs]
        return self.runs


def test_a_pattern_expands_to_one_config_per_table_with_its_own_settings() -> None:
    config = load_config(CONFIG).model
    jobs, removed = plan_jobs(config, FakeBackend(["users", "orders", "old_tmp"]))  # type: ignore[arg-type]
    assert [(j.name, j.target) for j in jobs] == [("orders", "orders_v2"), ("users", "users")]
    orders, users = (j.config for j in jobs)
    assert (orders.source.table, orders.target.table) == ("orders", "orders_v2")  # type: ignore[union-attr]
    assert orders.rename_map == {"a": "b"} and orders.source.where == "x > 1"  # type: ignore[union-attr]
    assert users.rename_map == {} and users.source.where is None  # type: ignore[union-attr]
    assert not orders.many_tables and not users.many_tables and removed == []


def test_a_listed_entry_the_pattern_does_not_select_is_named() -> None:
    with pytest.raises(ConfigError, match=r"tables\[0\].name"):
        plan_jobs(load_config(CONFIG).model, FakeBackend(["users"]))  # type: ignore[arg-type]


def test_nothing_selected_is_a_config_error() -> None:
    text = CONFIG.split("tables:")[0]
    with pytest.raises(ConfigError, match="no table of the source matches"):
        plan_jobs(load_config(text).model, FakeBackend(["a_tmp"]))  # type: ignore[arg-type]


def test_two_tables_into_one_target_are_refused() -> None:
    text = CONFIG.replace("target: orders_v2", "target: users")
    with pytest.raises(ConfigError, match="would both be written into users"):
        plan_jobs(load_config(text).model, FakeBackend(["users", "orders"]))  # type: ignore[arg-type]


def test_every_table_that_cannot_run_is_named_in_one_error_and_what_was_opened_is_closed() -> None:
    backend = FakeBackend(["users", "orders", "zeta"], errors={
        "users": RuntimeFailure("target users has another key"), "zeta": RuntimeFailure("zeta is missing")})
    with pytest.raises(RuntimeFailure) as caught:
        open_tables(load_config(CONFIG).model, backend, parallelism=2, kind=MIGRATE)  # type: ignore[arg-type]
    text = caught.value.render()
    assert "2 of 3 tables cannot be run as asked; nothing was written" in text
    assert "users: target users has another key" in text and "zeta: zeta is missing" in text
    assert all(run.closed for run in backend.runs if isinstance(run, FakeRun))


def test_only_config_problems_give_a_config_error() -> None:
    backend = FakeBackend(["users", "orders"], errors={"users": SavepointMismatch([("skipSegments", "bad")])})
    with pytest.raises(ConfigError, match="users: skipSegments"):
        open_tables(load_config(CONFIG).model, backend, parallelism=2, kind=MIGRATE)  # type: ignore[arg-type]


def _set(*runs: FakeRun, isolate: bool = True) -> TableSet:
    members, offset = [], 0
    for run in runs:
        members.append(Member(TableJob(run.name, run.name, load_config(CONFIG).model), run, offset))
        offset += run.total
    return TableSet(members, many=True, isolate=isolate)  # type: ignore[arg-type]


def test_the_largest_tables_items_come_first_with_global_indexes() -> None:
    tables = _set(FakeRun("small", 1), FakeRun("big", 3, done={1}))
    items = tables.pending()
    assert [(i.index, i.spec[0], i.spec[1].spec) for i in items] == [
        (1, 1, "big-0"), (3, 1, "big-2"), (0, 0, "small-0")]
    assert (tables.splits_total, tables.splits_done_before) == (4, 1)


def test_a_failing_table_reports_its_items_failed_and_the_others_go_on() -> None:
    def fails(item: WorkItem) -> int:
        raise RuntimeFailure("write rejected")

    task = TableTask((fails, lambda item: 7), isolate=True, run="r1")
    first = task(WorkItem(0, (0, WorkItem(0, "a"))))
    assert first == ItemFailed(0, "write rejected")
    assert task(WorkItem(1, (0, WorkItem(1, "b")))) == ItemFailed(0, "write rejected")  # skipped, not retried
    assert task(WorkItem(2, (1, WorkItem(0, "c")))) == 7
    with pytest.raises(RuntimeFailure):
        TableTask((fails,), isolate=False, run="r2")(WorkItem(0, (0, WorkItem(0, "a"))))


def test_a_table_whose_target_cannot_be_made_fails_alone_or_stops_everything() -> None:
    tables = _set(FakeRun("ok", 2), FakeRun("broken", 1))
    task = tables.copy_task()
    assert tables.members[1].failure == "cannot create broken"
    assert [i.spec[0] for i in tables.pending()] == [0, 0]  # broken's item is not run
    assert task(WorkItem(0, (0, WorkItem(0, "ab")))) == 2
    with pytest.raises(RuntimeFailure):
        _set(FakeRun("ok", 2), FakeRun("broken", 1), isolate=False).copy_task()


def test_savepoint_entries_hold_each_tables_work_state_and_failure() -> None:
    tables = _set(FakeRun("a", 2, done={0}), FakeRun("b", 2))
    results = {1: 5, 2: 3}  # a's item 1, b's item 0
    entries = tables.table_entries(MIGRATE, MIGRATE, results, {3: ItemFailed(1, "boom")}, int)
    assert entries["a"]["skipSegments"] == [0, 1] and entries["b"]["skipSegments"] == [0]
    a, b = entries["a"]["migratorState"], entries["b"]["migratorState"]
    assert (a["rangesDone"], a["rangesTotal"], a["rowsCopied"], a["totalSegments"]) == (2, 2, 5, 2)
    assert "failure" not in a and b["failure"] == "boom" and b["rangesDone"] == 1
    assert tables.progress_detail(results, {3: ItemFailed(1, "boom")}) == "tables: 1/2 done, 1 failed (b)"
    assert tables.progress_detail({}, {}) == "tables: 0/2 done; in progress: a 1/2, b 0/2"


def test_tables_of_the_savepoint_no_longer_selected_are_reported_and_new_ones_start_fresh() -> None:
    saved = CONFIG + """
migratorState:
  kind: migrate
  tables:
    orders: {target: orders_v2, skipSegments: [0], migratorState: {kind: migrate, rowsCopied: 7}}
    dropped: {target: dropped, skipSegments: [0, 1], migratorState: {kind: migrate}}
"""
    backend = FakeBackend(["orders", "users"])
    jobs, removed = plan_jobs(load_config(saved).model, backend)  # type: ignore[arg-type]
    assert removed == ["dropped"]
    orders, users = (job.config for job in jobs)
    assert orders.skip_segments == [0] and orders.migrator_state is not None
    assert orders.migrator_state.rows_copied == 7
    assert users.skip_segments == [] and users.migrator_state is None
    tables = open_tables(load_config(saved).model, backend, parallelism=2, kind=MIGRATE)  # type: ignore[arg-type]
    assert any("dropped: in the savepoint but no longer selected" in w for w in tables.warnings)
    assert tables.rows_before(MIGRATE) == 7


def test_a_one_table_savepoint_and_a_many_table_config_do_not_mix() -> None:
    with pytest.raises(SavepointMismatch, match="one-table run"):
        plan_jobs(load_config(CONFIG + "skipSegments: [1]\nmigratorState: {kind: migrate}\n").model,
                  FakeBackend(["orders"]))  # type: ignore[arg-type]
    one = (CONFIG.replace('table: "*", exclude: ["*_tmp"]', "table: orders")
           .replace("keyspace: ks2,", "keyspace: ks2, table: orders,").split("tables:")[0])
    with pytest.raises(SavepointMismatch, match="many-table run"):
        plan_jobs(load_config(one + "migratorState: {kind: migrate, tables: {orders: {}}}\n").model,
                  FakeBackend(["orders"]))  # type: ignore[arg-type]


def test_validation_examples_are_kept_per_table() -> None:
    from migrator.report.model import Example, RangeResult
    from migrator.validate import TableTrim

    def result(index: int, local: int, examples: int) -> RangeResult:
        return RangeResult(index, 0, 0, missing=examples, examples=[
            Example("MISSING", {"k": n}, None, None, [], local, n, 0) for n in range(examples)])

    trim = TableTrim(((0, 2, 1), (2, 4, 3)))  # table one: items 0-1, keeps 1 example; table two: 2-3, keeps 3
    trimmed = trim({0: result(0, 0, 2), 1: result(1, 1, 2), 2: result(2, 0, 2), 3: result(3, 1, 2)})
    assert [len(trimmed[i].examples) for i in range(4)] == [1, 0, 2, 1]
    assert [trimmed[i].missing for i in range(4)] == [2, 2, 2, 2]  # counts are never trimmed
