"""A split's share of diff's outputs (reconcile.render): rendered by executors or on the driver, to the same bytes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from migrator.differences import DifferenceSink, DifferenceWriter, split_files
from migrator.reconcile.changes import Change
from migrator.reconcile.decisions import KEEP_PROD, PENDING, USE_DEV, Conflict
from migrator.reconcile.diff import summarize
from migrator.reconcile.pack import PackWriter
from migrator.reconcile.render import Rendering, conflict_of
from migrator.reconcile.resolutions import Resolutions
from migrator.report.model import DIFFERING, EXTRA, MISSING, Example


class Lines:
    """A ChangeFormat that writes what it was given, one line per change."""

    extension = "txt"

    def header(self, table: str, dev: str, production: str) -> list[str]:
        return [f"# {dev} -> {production}"]

    def render(self, change: Change) -> str:
        return f"{'' if change.enabled else '# '}{change.op} {json.dumps(change.key)} {change.why}\n"

    def parse(self, lines: Iterable[str]) -> Iterator[Change]:
        raise NotImplementedError

    def applier(self) -> None:
        raise NotImplementedError


def example(kind: str, key: int, written: tuple[float, float] = (1.0, 2.0)) -> Example:
    source = None if kind == EXTRA else {"k": key, "v": f"dev-{key}"}
    target = None if kind == MISSING else {"k": key, "v": f"prod-{key}"}
    return Example(kind, {"k": key}, source, target, ["v"] if kind == DIFFERING else [], 0, key, -key,
                   source_digest=None if source is None else f"d{key}",
                   target_digest=None if target is None else f"p{key}",
                   source_written=written[1], target_written=written[0])


SPLITS = [
    [example(MISSING, 1), example(DIFFERING, 2), example(EXTRA, 3), example(DIFFERING, 4, (5.0, 1.0))],
    [],
    [example(DIFFERING, 5, (1.0, None)), example(EXTRA, 6), example(MISSING, 7)],  # type: ignore[arg-type]
]


def rendering(strategy: str = "newest", allow_deletes: bool = False) -> Rendering:
    return Rendering("ks.t", strategy, allow_deletes, Lines())


def write_splits(directory: Path, companion: Rendering | None) -> None:
    sink = DifferenceSink(str(directory), True, companion=companion)
    for index, examples in enumerate(SPLITS):
        with DifferenceWriter.open(sink, index) as writer:
            assert writer is not None
            for ex in examples:
                writer.write(ex)


def outputs(output: Path, used: Rendering) -> tuple[str, str, dict]:
    pack = PackWriter(output, used.fmt, table=used.table, dev="dev.t", allow_deletes=used.allow_deletes,
                      config_hash="h")
    result = summarize(split_files(output / "differences"), output, used, pack)
    manifest = json.loads((output / "pack" / "pack.json").read_text())["tables"]["ks.t"]
    counts = {**result.tables["ks.t"].to_json(), "pack": manifest}
    return (output / "conflicts.json").read_text(), (output / "pack" / "ks.t.txt").read_text(), counts


@pytest.mark.parametrize("strategy", ["ours", "theirs", "manual", "newest"])
@pytest.mark.parametrize("allow_deletes", [False, True])
def test_the_executors_fragments_give_exactly_what_the_driver_renders(tmp_path, strategy, allow_deletes):
    used = rendering(strategy, allow_deletes)
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    write_splits(fast / "differences", used)
    write_splits(slow / "differences", None)  # records only: the driver renders
    assert sorted(p.name for p in (fast / "differences").iterdir())[:5] == [
        "split-000000.conflicts", "split-000000.deletes", "split-000000.jsonl", "split-000000.puts",
        "split-000000.tally"]
    got = outputs(fast, used)
    assert got == outputs(slow, used)
    conflicts = json.loads(got[0])["conflicts"]
    assert [c["key"]["k"] for c in conflicts] == [2, 4, 5]
    assert got[2]["added"] == 2 and got[2]["removed"] == 2 and got[2]["conflicts"] == 3


def test_newest_decides_per_row_and_deletes_come_last(tmp_path):
    used = rendering("newest")
    write_splits(tmp_path / "differences", used)
    conflicts, pack, counts = outputs(tmp_path, used)
    assert [c["decision"] for c in json.loads(conflicts)["conflicts"]] == [USE_DEV, KEEP_PROD, PENDING]
    assert pack.splitlines() == [
        "# dev.t -> ks.t", 'put {"k": 1} added', 'put {"k": 2} conflict, dev\'s row (strategy newest)',
        'put {"k": 7} added',
        '# delete {"k": 3} removed: only in production (disabled: reconcile.allowDeletes is false)',
        '# delete {"k": 6} removed: only in production (disabled: reconcile.allowDeletes is false)']
    assert counts["pack"] == {"file": "ks.t.txt", "added": 2, "conflictsForDev": 1, "deletes": 0,
                              "deletesDisabled": 2, "keptProduction": 1, "pending": 1}


def test_recorded_decisions_are_applied_on_the_driver_over_the_fragments(tmp_path):
    used = rendering("ours")
    write_splits(tmp_path / "differences", used)
    Resolutions(tmp_path / "resolutions.json").record(conflict_of("ks.t", example(DIFFERING, 4)), USE_DEV)
    conflicts, pack, _ = outputs(tmp_path, used)
    decided = {c["key"]["k"]: (c["decision"], c["decidedBy"]) for c in json.loads(conflicts)["conflicts"]}
    assert decided == {2: (KEEP_PROD, "strategy ours"), 4: (USE_DEV, "resolutions.json"),
                       5: (KEEP_PROD, "strategy ours")}
    assert 'put {"k": 4} conflict, dev\'s row (resolutions.json)' in pack.splitlines()


def test_fragments_rendered_for_other_settings_are_rendered_again(tmp_path):
    write_splits(tmp_path / "differences", rendering("ours"))
    conflicts, _, counts = outputs(tmp_path, rendering("theirs"))  # the config's strategy changed since
    assert {c["decision"] for c in json.loads(conflicts)["conflicts"]} == {USE_DEV}
    assert counts["decisions"] == {KEEP_PROD: 0, USE_DEV: 3, PENDING: 0}


def test_a_split_missing_or_truncating_a_fragment_is_rendered_from_its_records(tmp_path):
    used = rendering("theirs")
    write_splits(tmp_path / "differences", used)
    (tmp_path / "differences" / "split-000002.puts").unlink()
    conflicts = tmp_path / "differences" / "split-000000.conflicts"
    conflicts.write_text(conflicts.read_text()[:-5])  # as a crash may leave a file that was never synced
    other = tmp_path / "other"
    write_splits(other / "differences", None)
    assert outputs(tmp_path, used) == outputs(other, used)


def test_a_failed_split_publishes_neither_records_nor_fragments(tmp_path):
    sink = DifferenceSink(str(tmp_path), True, companion=rendering())
    with pytest.raises(ZeroDivisionError), DifferenceWriter.open(sink, 0) as writer:
        assert writer is not None
        writer.write(example(MISSING, 1))
        raise ZeroDivisionError
    assert list(tmp_path.iterdir()) == []


def test_an_empty_table_gives_an_empty_conflicts_array(tmp_path):
    used = rendering()
    (tmp_path / "differences").mkdir()
    conflicts, _, counts = outputs(tmp_path, used)
    assert json.loads(conflicts) == {"conflicts": []} and counts["conflicts"] == 0


def test_a_conflict_is_bound_to_both_digests(tmp_path):
    conflict = conflict_of("ks.t", example(DIFFERING, 9))
    assert conflict == Conflict("ks.t", {"k": 9}, "p9", "d9", ("v",), 1.0, 2.0)
    assert conflict.values == {"v": {"prod": "prod-9", "dev": "dev-9"}}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_every_diff_output_is_owner_only_whatever_the_umask(tmp_path, umask):
    """Differences, fragments, conflicts, pack, summaries, resolutions: files 0600, the folders made 0700."""
    import os

    from migrator.reconcile.diff import write_summary

    old = os.umask(umask)
    try:
        output = tmp_path / "new" / "output"
        used = rendering("ours")
        write_splits(output / "differences", used)
        Resolutions(output / "resolutions.json").record(conflict_of("ks.t", example(DIFFERING, 4)), USE_DEV)
        pack = PackWriter(output, used.fmt, table=used.table, dev="dev.t", allow_deletes=False, config_hash="h")
        write_summary(summarize(split_files(output / "differences"), output, used, pack), dev="dev.t", prod="ks.t")
    finally:
        os.umask(old)
    files = {str(p.relative_to(output)): p.stat().st_mode & 0o777 for p in output.rglob("*") if p.is_file()}
    assert {"conflicts.json", "summary.json", "summary.txt", "resolutions.json", "pack/pack.json",
            "pack/summary.txt", "pack/ks.t.txt", "differences/split-000000.jsonl",
            "differences/split-000000.puts"} <= set(files)
    assert set(files.values()) == {0o600} and len(files) == 7 + 5 * len(SPLITS)  # five files per split
    folders = [tmp_path / "new", output, output / "differences", output / "pack"]
    assert [f.stat().st_mode & 0o777 for f in folders] == [0o700] * 4
