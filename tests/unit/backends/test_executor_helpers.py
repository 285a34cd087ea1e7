"""Small pure executor pieces: Throttle, recheck_kind, row_key, repair_plan, compare_settings, preserve helpers."""

from __future__ import annotations

import dataclasses
import struct
from types import SimpleNamespace
from typing import Any

import pytest

from migrator.backends.cassandra import compare_plan
from migrator.backends.cassandra.compare import recheck_kind
from migrator.backends.cassandra.compare_plan import ComparePlan, compare_settings, repair_plan, row_key
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.copier import Throttle
from migrator.backends.cassandra.plan import PLAIN, PRESERVE, CopyPlan, build_plan
from migrator.backends.cassandra.preserve import element_metadata, group_by_metadata, runs_by_metadata, ttl_to_write
from migrator.backends.cassandra.raw import encode_bigint, encode_int
from migrator.backends.cassandra.rowdiff import CompareSettings
from migrator.backends.cassandra.schema import CLUSTERING, PARTITION, REGULAR, Column, TableSchema, compare
from migrator.config import CassandraTarget, ValidationSettings
from migrator.report.model import DIFFERING, EXTRA, MISSING

SOURCE_SPEC = ConnectionSpec("source", "10.0.0.1", 9042)
TARGET_SPEC = ConnectionSpec("target", "10.0.0.2", 9042)
NULL_ITEM = struct.pack(">i", -1)


# --- Throttle ------------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when told to, or when slept on."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_throttle_at_rate_zero_never_sleeps():
    fake = FakeTime(10.0)
    throttle = Throttle(0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        throttle.account(1_000_000)
    assert fake.sleeps == []


def test_a_negative_rate_means_no_cap():
    fake = FakeTime(10.0)
    Throttle(-5, clock=fake.clock, sleep=fake.sleep).account(1_000_000)
    assert fake.sleeps == []


def test_a_throttle_sleeps_exactly_as_long_as_it_is_ahead_of_its_rate():
    fake = FakeTime(10.0)
    throttle = Throttle(100, clock=fake.clock, sleep=fake.sleep)
    throttle.account(50)  # 50 rows at 100/s are due at 10.5; it is 10.0
    assert fake.sleeps == [0.5]
    fake.now += 0.25
    throttle.account(50)  # 100 rows are due at 11.0; it is 10.75
    assert fake.sleeps == [0.5, 0.25]
    assert fake.now == 11.0


def test_a_throttle_behind_its_rate_does_not_sleep():
    fake = FakeTime(10.0)
    throttle = Throttle(100, clock=fake.clock, sleep=fake.sleep)
    fake.now = 12.0
    throttle.account(100)  # due at 11.0
    throttle.account(100)  # due at 12.0: exactly on time
    assert fake.sleeps == []
    throttle.account(100)  # due at 13.0
    assert fake.sleeps == [1.0]


# --- recheck_kind --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (None, None, None),  # gone on both sides: resolved
        ((b"k",), None, MISSING),
        (None, (b"k",), EXTRA),
        ((b"k", b"a"), (b"k", b"b"), DIFFERING),
        ((b"k", b"a"), (b"k", b"a"), DIFFERING),  # a pair: the cells decide, not this
    ],
)
def test_recheck_kind(source, target, expected):
    assert recheck_kind(source, target) == expected


# --- row_key -------------------------------------------------------------------------------------


def plan_with_key(partition_key: tuple[int, ...], clustering: tuple[int, ...]) -> ComparePlan:
    return ComparePlan(
        source=SOURCE_SPEC, target=TARGET_SPEC, source_consistency="ONE", target_consistency="ONE", fetch_size=10,
        source_select="", target_select="", source_by_key="", target_by_key="", source_by_partition="",
        target_by_partition="", partition_key=partition_key, clustering=clustering, key_names=(), key_types=(),
        clustering_types=(), clustering_reversed=(), columns=(),
        settings=CompareSettings(0.0, 0, 0, 0.0, 1),
    )


def test_row_key_of_a_normal_row_is_partition_key_then_clustering():
    plan = plan_with_key((0, 1), (2, 3))
    assert row_key(plan, (b"p1", b"p2", b"c1", b"c2", b"value")) == (False, [b"p1", b"p2", b"c1", b"c2"])


def test_row_key_of_a_static_only_row_is_its_partition_key():
    plan = plan_with_key((0, 1), (2, 3))
    assert row_key(plan, (b"p1", b"p2", None, None, b"static")) == (True, [b"p1", b"p2"])


def test_row_key_only_looks_at_the_first_clustering_column_for_static_rows():
    plan = plan_with_key((0,), (1, 2))
    assert row_key(plan, (b"p", b"c1", None, b"v")) == (False, [b"p", b"c1", None])


def test_row_key_of_a_table_without_clustering_is_never_static_only():
    plan = plan_with_key((0,), ())
    assert row_key(plan, (b"p", None)) == (False, [b"p"])


# --- repair_plan and compare_settings --------------------------------------------------------------


def validation(**changes: Any) -> ValidationSettings:
    data: dict[str, Any] = {
        "compareTimestamps": True,
        "ttlToleranceMillis": 60_000,
        "writetimeToleranceMillis": 1_500,
        "failuresToFetch": 25,
        "floatingPointTolerance": 0.001,
        "timestampMsTolerance": 3,
    }
    data.update(changes)
    return ValidationSettings.model_validate(data)


def target_config(writetime: int | None = None) -> CassandraTarget:
    return CassandraTarget.model_validate({
        "type": "cassandra", "host": "10.0.0.2", "port": 9042, "keyspace": "dst", "table": "t",
        "consistencyLevel": "LOCAL_QUORUM", "stripTrailingZerosForDecimals": False,
        "writeWritetimestampInuS": writetime,
    })


TABLE = TableSchema(
    "src", "t", (Column("k", "int", PARTITION), Column("c", "int", CLUSTERING), Column("v", "text", REGULAR))
)


def copy_plan(preserve: bool, constant_timestamp: int | None = None) -> CopyPlan:
    return build_plan(
        source=TABLE, target=dataclasses.replace(TABLE, keyspace="dst"), mappings=compare(TABLE, TABLE, {}).mappings,
        source_spec=SOURCE_SPEC, target_spec=TARGET_SPEC, source_consistency="LOCAL_QUORUM",
        target_consistency="LOCAL_ONE", fetch_size=100, preserve_timestamps=preserve, collection_metadata=True,
        where=None, strip_decimals=False, constant_ttl=None, constant_timestamp=constant_timestamp,
        user_type_fields={},
    )


@pytest.mark.parametrize("preserve", [False, True])
def test_the_source_strategy_repairs_with_the_copy_plan_itself(preserve):
    plan = copy_plan(preserve)
    assert repair_plan(plan, validation(repairWritetimeStrategy="source"), target_config(123)) is plan


def test_the_config_strategy_in_plain_mode_sets_a_constant_timestamp():
    plan = copy_plan(False, constant_timestamp=5)
    assert plan.mode == PLAIN
    repaired = repair_plan(plan, validation(repairWritetimeStrategy="config"), target_config(1_600_000_000_000_000))
    assert (repaired.constant_timestamp, repaired.timestamp_override) == (1_600_000_000_000_000, None)
    assert repaired == dataclasses.replace(plan, constant_timestamp=1_600_000_000_000_000)


def test_the_config_strategy_in_preserve_mode_overrides_every_cell_timestamp():
    plan = copy_plan(True)
    assert plan.mode == PRESERVE
    repaired = repair_plan(plan, validation(repairWritetimeStrategy="config"), target_config(1_600_000_000_000_000))
    assert (repaired.constant_timestamp, repaired.timestamp_override) == (None, 1_600_000_000_000_000)
    assert repaired == dataclasses.replace(plan, timestamp_override=1_600_000_000_000_000)


@pytest.mark.parametrize("preserve", [False, True])
def test_the_coordinator_strategy_stamps_with_the_current_time_in_microseconds(monkeypatch, preserve):
    monkeypatch.setattr(compare_plan, "time", SimpleNamespace(time=lambda: 1_700_000_000.5))
    plan = copy_plan(preserve)
    repaired = repair_plan(plan, validation(repairWritetimeStrategy="COORDINATOR"), target_config())
    stamps = (repaired.constant_timestamp, repaired.timestamp_override)
    assert stamps == ((None, 1_700_000_000_500_000) if preserve else (1_700_000_000_500_000, None))
    assert dataclasses.replace(repaired, constant_timestamp=None, timestamp_override=None) == plan


def test_compare_settings_converts_to_the_units_the_server_reports():
    v = validation(
        recheckMismatches=True, recheckDelaySeconds=0.5, recheckLimit=7, copyMissingRows=True,
        copyDifferingRows=False, deleteExtraRows=True,
    )
    assert compare_settings(v) == CompareSettings(
        float_tolerance=0.001,
        timestamp_ms_tolerance=3,
        writetime_tolerance_us=1_500_000,
        ttl_tolerance_s=60.0,
        failures_to_fetch=25,
        recheck=True,
        recheck_delay_s=0.5,
        recheck_limit=7,
        copy_missing=True,
        copy_differing=False,
        delete_extra=True,
    )


def test_compare_settings_keeps_fractions_of_a_ttl_second():
    assert compare_settings(validation(ttlToleranceMillis=1_500)).ttl_tolerance_s == 1.5
    assert compare_settings(validation(writetimeToleranceMillis=0)).writetime_tolerance_us == 0


# --- preserve helpers ----------------------------------------------------------------------------


def int_list(items: list[int | None], encode: Any) -> bytes:
    """A WRITETIME()/TTL() list of a multi-cell column; None is a null item."""
    parts = [struct.pack(">i", len(items))]
    for item in items:
        parts.append(NULL_ITEM if item is None else struct.pack(">i", len(encode(item))) + encode(item))
    return b"".join(parts)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), (b"", None), (encode_int(0), encode_int(1)), (encode_int(1), encode_int(1)),
     (encode_int(3600), encode_int(3600)), (encode_int(-3), encode_int(1))],
)
def test_ttl_to_write_is_none_for_no_ttl_and_at_least_one_second(raw, expected):
    assert ttl_to_write(raw) == expected


def test_element_metadata_splits_stamps_and_ttls_to_write_without_decoding():
    stamps = int_list([10, None, 30], encode_bigint)
    ttls = int_list([None, 0, 5], encode_int)
    assert element_metadata(stamps, ttls) == ([encode_bigint(10), None, encode_bigint(30)],
                                              [None, encode_int(1), encode_int(5)])


def test_element_metadata_override_replaces_only_present_stamps():
    stamps = int_list([10, None, 30], encode_bigint)
    ttls = int_list([None, 0, 5], encode_int)
    over = encode_bigint(99)
    assert element_metadata(stamps, ttls, override=over) == ([over, None, over], [None, encode_int(1), encode_int(5)])


def test_element_metadata_of_a_null_collection_is_empty():
    assert element_metadata(None, None) == ([], [])
    assert element_metadata(None, None, override=encode_bigint(99)) == ([], [])


def test_group_by_metadata_groups_in_first_seen_order():
    groups = group_by_metadata(["a", "b", "c", "d", "e"], [2, 1, 2, None, 2], [0, 0, 0, 0, 60])
    assert list(groups.items()) == [
        ((2, 0), ["a", "c"]),
        ((1, 0), ["b"]),
        ((None, 0), ["d"]),
        ((2, 60), ["e"]),  # the same writetime with another TTL is another write
    ]


def test_group_by_metadata_of_nothing_is_empty():
    assert group_by_metadata([], [], []) == {}


def test_group_by_metadata_rejects_lists_of_different_lengths():
    with pytest.raises(ValueError):
        group_by_metadata(["a", "b"], [1], [0, 0])


def test_runs_by_metadata_only_joins_consecutive_entries():
    assert runs_by_metadata(["a", "b", "c", "d"], [1, 1, 2, 1], [0, 0, 0, 0]) == [
        (["a", "b"], (1, 0)),
        (["c"], (2, 0)),
        (["d"], (1, 0)),
    ]


def test_runs_by_metadata_splits_on_a_ttl_change_and_keeps_order():
    assert runs_by_metadata(["a", "b", "c"], [1, 1, 1], [0, 5, 5]) == [(["a"], (1, 0)), (["b", "c"], (1, 5))]
    assert runs_by_metadata([], [], []) == []
