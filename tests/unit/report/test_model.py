from migrator.report.model import (
    DIFFERING,
    MISSING,
    ColumnStats,
    Example,
    RangeResult,
    ValidationReport,
    merge,
    report_from_json,
)


def _result(index, missing_positions=(), differing=0):
    r = RangeResult(index, index * 10, index * 10 + 10, source_rows=5, target_rows=5 - len(missing_positions),
                    missing=len(missing_positions), differing=differing)
    r.columns["v"] = ColumnStats(unequal=differing, max_difference=float(index), null_vs_value=0)
    for pos in missing_positions:
        r.examples.append(Example(MISSING, {"k": pos}, {"k": pos}, None, [], index, pos, index * 10 + 1))
    return r


def test_merge_is_independent_of_order_and_keeps_the_first_examples_by_range():
    results = [_result(2, [1, 2]), _result(0, [5]), _result(1, [3], differing=1)]
    a = merge(ValidationReport("s", "t", 3), results, failures_to_fetch=2)
    b = merge(merge(ValidationReport("s", "t", 3), results[:1], 2), results[1:], 2)
    assert a.to_json() == b.to_json()
    assert [(e.range_index, e.position) for e in a.examples[MISSING]] == [(0, 5), (1, 3)]
    assert a.counts.missing == 4 and a.counts.differing == 1 and a.counts.sourceRows == 15
    assert a.columns["v"].unequal == 1 and a.columns["v"].max_difference == 2.0
    assert [r.index for r in a.ranges] == [0, 1, 2] and a.ranges_done == 3
    assert not a.equal and a.examples[DIFFERING] == []


def test_json_round_trip():
    report = merge(ValidationReport("s", "t", 3, settings={"x": 1}), [_result(0, [1]), _result(1)], 10)
    assert report_from_json(report.to_json()).to_json() == report.to_json()


def test_trimming_examples_early_never_changes_the_final_choice():
    from migrator.report.model import trim_examples

    results = {i: _result(i, [1, 2, 3]) for i in range(5)}
    untrimmed = merge(ValidationReport("s", "t", 5), results.values(), failures_to_fetch=4)
    partial = trim_examples({i: results[i] for i in (3, 4)}, 4)  # late ranges arrive first
    assert sum(len(r.examples) for r in partial.values()) == 4
    everything = trim_examples({**partial, **{i: results[i] for i in (0, 1, 2)}}, 4)
    assert sum(len(r.examples) for r in everything.values()) == 4
    trimmed = merge(ValidationReport("s", "t", 5), everything.values(), failures_to_fetch=4)
    assert trimmed.to_json() == untrimmed.to_json()
    assert [len(r.examples) for r in results.values()] == [3, 3, 3, 3, 3]  # inputs untouched


def test_a_kind_counted_from_the_totals_is_replaced_not_added_to():
    from migrator.report.model import EXTRA, count_from_totals

    report = ValidationReport("s", "t", 1)
    report.counts.sourceRows, report.counts.targetRows, report.counts.missing = 100, 103, 2
    assert count_from_totals(report, EXTRA).counts.extra == 5  # 103 target rows, 98 of them found
    assert count_from_totals(report, EXTRA).counts.extra == 5 and report.from_totals == EXTRA
    assert report_from_json(report.to_json()).from_totals == EXTRA

    other = ValidationReport("s", "t", 1)
    other.counts.sourceRows, other.counts.targetRows, other.counts.extra = 10, 9, 1
    assert count_from_totals(other, MISSING).counts.missing == 2  # 10 source rows, 8 found
    other.counts.sourceRows = 5  # a side changed while compared: never below zero
    assert count_from_totals(other, MISSING).counts.missing == 0
    assert "from_totals" not in ValidationReport("s", "t", 1).to_json()  # other reports read as before


def test_only_missing_or_extra_rows_can_be_counted_from_the_totals():
    import pytest

    from migrator.report.model import count_from_totals

    with pytest.raises(ValueError, match="not 'differing'"):
        count_from_totals(ValidationReport("s", "t", 1), DIFFERING)
