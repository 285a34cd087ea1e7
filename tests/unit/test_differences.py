"""Every difference written per split (migrator.differences): publish on success only, replace on retry, read back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from migrator.differences import DifferenceSink, DifferenceWriter, read_differences, read_split, split_file
from migrator.report.model import DIFFERING, EXTRA, MISSING, Example


class Boom(Exception):
    pass


def example(kind: str = MISSING, key: int = 1, range_index: int = 0, position: int = 0) -> Example:
    source = None if kind == EXTRA else {"k": key, "v": "a"}
    target = None if kind == MISSING else {"k": key, "v": "b"}
    columns = ["v"] if kind == DIFFERING else []
    return Example(kind, {"k": key}, source, target, columns, range_index, position, token=-42 * key)


def write(sink: DifferenceSink, index: int, examples: list[Example]) -> Path:
    with DifferenceWriter.open(sink, index) as writer:
        assert writer is not None
        for ex in examples:
            writer.write(ex)
    return writer.path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_split_files_are_named_by_zero_padded_index():
    assert split_file("/data/diffs", 7) == Path("/data/diffs/split-000007.jsonl")
    assert split_file(Path("d"), 123456) == Path("d/split-123456.jsonl")


def test_a_successful_block_publishes_exactly_the_split_file(tmp_path):
    sink = DifferenceSink(str(tmp_path / "diffs"))
    written = [example(MISSING, 1), example(EXTRA, 2, position=1), example(DIFFERING, 3, position=2)]
    with DifferenceWriter.open(sink, 4) as writer:
        assert writer is not None
        for ex in written:
            writer.write(ex)
        [temp] = listing(tmp_path / "diffs")  # only a hidden temp file so far
        assert temp.startswith(".split-000004.jsonl.") and temp.endswith(".tmp")
        assert not writer.path.exists()
    assert writer.count == 3
    assert writer.path == split_file(sink.directory, 4)
    assert listing(tmp_path / "diffs") == ["split-000004.jsonl"]
    assert list(read_differences(sink.directory)) == written


def test_an_empty_split_still_publishes_an_empty_file(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    path = write(sink, 0, [])
    assert path.read_text() == ""
    assert list(read_differences(tmp_path)) == []


def test_a_failing_block_leaves_neither_the_file_nor_a_temp_file(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    with pytest.raises(Boom), DifferenceWriter.open(sink, 1) as writer:
        assert writer is not None
        writer.write(example())
        raise Boom
    assert listing(tmp_path) == []
    assert list(read_differences(tmp_path)) == []


def test_a_failed_retry_keeps_the_earlier_complete_file(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    first = [example(MISSING, 1)]
    write(sink, 2, first)
    with pytest.raises(Boom), DifferenceWriter.open(sink, 2) as writer:
        assert writer is not None
        writer.write(example(EXTRA, 9))
        raise Boom
    assert listing(tmp_path) == ["split-000002.jsonl"]
    assert list(read_differences(tmp_path)) == first


def test_a_second_successful_write_of_a_split_replaces_the_first(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    write(sink, 5, [example(MISSING, 1), example(MISSING, 2, position=1)])
    again = [example(DIFFERING, 2, position=1)]
    write(sink, 5, again)
    assert listing(tmp_path) == ["split-000005.jsonl"]
    assert list(read_differences(tmp_path)) == again


def test_differences_are_read_split_by_split_in_split_order(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    by_split = {
        10: [example(MISSING, 100, 10, 0), example(EXTRA, 101, 10, 1)],
        2: [example(DIFFERING, 20, 2, 0)],
        0: [example(EXTRA, 1, 0, 0), example(MISSING, 2, 0, 3)],
    }
    for index, examples in by_split.items():  # written out of order, as tasks finish
        write(sink, index, examples)
    assert list(read_differences(tmp_path)) == by_split[0] + by_split[2] + by_split[10]


def test_split_order_holds_beyond_a_million_splits(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    write(sink, 1_000_000, [example(MISSING, 2, 1_000_000)])
    write(sink, 999_999, [example(MISSING, 1, 999_999)])
    assert [e.range_index for e in read_differences(tmp_path)] == [999_999, 1_000_000]


def test_an_abandoned_temp_file_is_never_read(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    written = [example(MISSING, 1)]
    write(sink, 3, written)
    (tmp_path / ".split-000003.jsonl.1234.deadbeef.tmp").write_text('{"kind": "half a line')  # a killed task's
    assert list(read_differences(tmp_path)) == written


def test_without_a_sink_the_writer_is_none(tmp_path):
    with DifferenceWriter.open(None, 3) as writer:
        assert writer is None
    with pytest.raises(Boom), DifferenceWriter.open(None, 3):
        raise Boom  # errors still reach the caller


def test_json_native_rows_are_written_as_json_safe_would_write_them(tmp_path):
    from migrator.report.view import json_safe, json_text

    item = {"id": {"S": "k\u00e9"}, "n": {"N": "1.50"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}}
    assert json_text(item) == json.dumps(json_safe(item), ensure_ascii=False)
    assert json_text({"x": float("nan"), (1, 2): 3}) == json.dumps({"x": "nan", "(1, 2)": 3})


def test_values_that_are_not_json_native_come_back_json_safe(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    source = {
        "nan": float("nan"),
        "inf": float("-inf"),
        "nested": {"a": (1, 2), 3: {"deep": Decimal("1.50")}},
        "bytes": b"\x00",
    }
    written = Example(DIFFERING, {"k": 1}, source, {"nan": 1.5}, ["nan"], 0, 0, 7)
    write(sink, 0, [written])
    [read] = read_differences(tmp_path)
    assert read == Example(
        DIFFERING,
        {"k": 1},
        {"nan": "nan", "inf": "-inf", "nested": {"a": [1, 2], "3": {"deep": "1.50"}}, "bytes": "b'\\x00'"},
        {"nan": 1.5},
        ["nan"],
        0,
        0,
        7,
    )


def test_text_that_looks_like_line_breaks_keeps_one_difference_per_line(tmp_path):
    sink = DifferenceSink(str(tmp_path))
    tricky = "a\nb\r\nc\rd\u2028e\u0085f ☃ \"quoted\""
    written = [Example(DIFFERING, {"k": tricky}, {"v": tricky}, {"v": ""}, ["v"], 0, 0, 0), example(EXTRA, 2)]
    path = write(sink, 0, written)
    assert path.read_bytes().count(b"\n") == 2
    assert list(read_differences(tmp_path)) == written


def test_the_follower_reads_splits_in_index_order_while_they_are_published_out_of_order(tmp_path):
    import threading

    from migrator.differences import DifferenceFollower

    sink = DifferenceSink(str(tmp_path))
    follower = DifferenceFollower(tmp_path, poll_s=0.01)
    got: list[Example] = []
    reader = threading.Thread(target=lambda: got.extend(e for path in follower.splits() for e in read_split(path)))
    reader.start()
    write(sink, 1, [example(MISSING, 2)])  # split 1 is done before split 0: the reader waits for 0
    threading.Event().wait(0.05)
    assert got == []
    write(sink, 0, [example(MISSING, 1)])
    write(sink, 3, [example(EXTRA, 4)])  # 2 never comes before the end: the rest is read in order at the end
    threading.Event().wait(0.05)
    assert [e.key["k"] for e in got] == [1, 2]
    write(sink, 2, [example(DIFFERING, 3)])
    follower.finished.set()
    reader.join(5)
    assert [e.key["k"] for e in got] == [1, 2, 3, 4] and got == list(read_differences(tmp_path))
    assert not follower.changed()
    write(sink, 0, [example(MISSING, 1)])  # the split was done again after it was read
    assert follower.changed()


def test_an_abandoned_follower_raises_instead_of_yielding_a_partial_set(tmp_path):
    from migrator.differences import Abandoned, DifferenceFollower

    follower = DifferenceFollower(tmp_path, poll_s=0.01)
    write(DifferenceSink(str(tmp_path)), 0, [example(MISSING, 1)])
    splits = follower.splits()
    assert next(splits) == split_file(tmp_path, 0)
    follower.abandoned.set()
    with pytest.raises(Abandoned):
        next(splits)
