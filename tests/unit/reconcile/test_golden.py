"""Golden files: every byte ``diff`` writes for a CQL table, pinned (records, split fragments, conflicts.json, pack).

The executors' path is taken as in a diff: each difference found is made into its ``Example`` from the
raw rows (``examples.ExampleMaker``), written to its split's records with the split's fragments
beside them (``Rendering.fragments``), and the driver appends the fragments. The driver's own
rendering from the records (other settings) is pinned too. To write the golden files again after a
change that is meant to change them: ``MIGRATOR_WRITE_GOLDEN=1 pytest tests/unit/reconcile/test_golden.py``,
and say in docs/reconcile.md what changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from migrator.backends.cassandra.compare import row_token
from migrator.backends.cassandra.examples import ExampleMaker
from migrator.backends.cassandra.reconcile import CqlChanges
from migrator.backends.cassandra.rowdiff import RowDiffer
from migrator.differences import DifferenceSink, DifferenceWriter, split_files
from migrator.reconcile.diff import rendering_of, summarize
from migrator.reconcile.pack import PackWriter
from migrator.reconcile.render import Rendering
from migrator.report.model import Example
from tests.unit.config.helpers import cql_tree, load_tree
from tests.unit.reconcile import cql_cases

GOLDEN = Path(__file__).parent / "golden"
SPLITS = (slice(0, 5), slice(5, None))  # the cases, as two splits


def examples(index: int, part: slice) -> list[Example]:
    """The cases of one split as the executor makes them from the raw rows."""
    plan = cql_cases.plan()
    differ = RowDiffer(plan.columns, plan.settings, plan.user_types)
    maker = ExampleMaker(plan, differ, row_token(plan))
    found = []
    for position, (kind, s, t) in enumerate(cql_cases.cases()[part]):
        differences = differ.differences(s, t) if s is not None and t is not None else []
        found.append(maker.example(kind, s, t, differences, index, position))
    return found


def rendering(strategy: str, allow_deletes: bool) -> Rendering:
    config = load_tree(cql_tree(reconcile={"output": "unused", "strategy": strategy,
                                           "allowDeletes": allow_deletes})).model
    used = rendering_of(config)
    assert isinstance(used.fmt, CqlChanges)
    return used


def written(output: Path, used: Rendering, companion: Rendering | None) -> dict[str, str]:
    """Every file a diff writes into ``output`` (pack.json without its creation time), by relative path."""
    sink = DifferenceSink(str(output / "differences"), digests=True, companion=companion)
    for index, part in enumerate(SPLITS):
        with DifferenceWriter.open(sink, index) as writer:
            assert writer is not None
            for example in examples(index, part):
                writer.write(example)
    pack = PackWriter(output, used.fmt, table=used.table, dev="demo.events", allow_deletes=used.allow_deletes,
                      config_hash="hash")
    summarize(split_files(output / "differences"), output, used, pack)
    manifest = json.loads((output / "pack" / "pack.json").read_text())
    del manifest["createdAt"]
    (output / "pack" / "pack.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (output / "pack" / "summary.txt").unlink()  # pack.json's counts in words, with its creation time
    return {str(p.relative_to(output)): p.read_text(encoding="utf-8") for p in sorted(output.rglob("*"))
            if p.is_file()}


def check(name: str, files: dict[str, str]) -> None:
    folder = GOLDEN / name
    if os.environ.get("MIGRATOR_WRITE_GOLDEN"):
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text, encoding="utf-8")
    expected = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*"))
                if p.is_file()}
    assert list(files) == list(expected)
    for relative, text in files.items():
        assert text == expected[relative], relative


def test_what_a_cql_diff_writes_on_the_executors_is_pinned(tmp_path):
    used = rendering("newest", False)
    check("cql-newest", written(tmp_path, used, used))


@pytest.mark.parametrize("strategy", ["theirs", "manual"])
def test_what_the_driver_renders_from_the_records_alone_is_pinned(tmp_path, strategy):
    """Records without fragments (as validate --differences writes them, or a crash left them)."""
    used = rendering(strategy, True)
    check(f"cql-{strategy}-driver", written(tmp_path, used, None))


def test_the_driver_renders_what_the_executors_render(tmp_path):
    used = rendering("theirs", True)
    fast, slow = written(tmp_path / "fast", used, used), written(tmp_path / "slow", used, None)
    assert {k: v for k, v in fast.items() if not k.startswith("differences/")} == \
        {k: v for k, v in slow.items() if not k.startswith("differences/")}
