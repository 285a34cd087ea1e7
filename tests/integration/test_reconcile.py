"""Reconcile on CQL: ``migrator diff`` of two diverged tables, exact counts, digests and ``newest`` by WRITETIME."""

from __future__ import annotations

import json

import pytest

from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import cli, recreate, write_config

pytestmark = pytest.mark.integration

COLUMNS = "(k int, c int, v text, tags set<text>, PRIMARY KEY (k, c))"


def _diverge(source, target) -> None:
    """30 shared rows; dev adds (100, 0..2), production alone has (200, 0..1), conflicts on (0, 0..3).

    Conflicts (0, 0) and (0, 1) were written later in dev, (0, 2) later in production, and in (0, 3)
    only the set differs, written later in dev element by element.
    """
    recreate(source, target, "diverged", COLUMNS)
    insert = "INSERT INTO {ks}.diverged (k, c, v, tags) VALUES (%s, %s, %s, %s) USING TIMESTAMP %s"
    for session, ks in ((source, SOURCE_KS), (target, TARGET_KS)):
        for i in range(1, 31):
            session.execute(insert.format(ks=ks), (i, i % 3, f"v{i}", {"a"}, 1_000))
    times = {0: (3_000, 2_000), 1: (3_000, 2_000), 2: (1_500, 2_000), 3: (1_000, 1_000)}
    for c, (dev_time, prod_time) in times.items():
        source.execute(insert.format(ks=SOURCE_KS), (0, c, "dev" if c < 3 else "same", {"a"}, dev_time))
        target.execute(insert.format(ks=TARGET_KS), (0, c, "prod" if c < 3 else "same", {"a"}, prod_time))
    source.execute(f"UPDATE {SOURCE_KS}.diverged USING TIMESTAMP 5000 SET tags = tags + {{'b'}} WHERE k = 0 AND c = 3")
    for c in range(3):
        source.execute(insert.format(ks=SOURCE_KS), (100, c, "new", None, 1_000))
    for c in range(2):
        target.execute(insert.format(ks=TARGET_KS), (200, c, "old", None, 1_000))


def test_diff_counts_exactly_and_newest_follows_writetime(source, target, endpoints, tmp_path) -> None:
    _diverge(source, target)
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "diverged", top={"reconcile": {"output": str(output),
                                                                              "strategy": "newest"}})
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 1, done.stderr
    summary = json.loads((output / "summary.json").read_text())
    counts = summary["tables"][f"{TARGET_KS}.diverged"]
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (3, 2, 4)
    assert counts["decisions"] == {"keep_prod": 1, "use_dev": 3, "pending": 0}
    conflicts = {c["key"]["c"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert {c: v["decision"] for c, v in conflicts.items()} == {0: "use_dev", 1: "use_dev", 2: "keep_prod",
                                                                3: "use_dev"}
    assert (conflicts[0]["devWritten"], conflicts[0]["prodWritten"]) == (3000, 2000)
    assert conflicts[3]["devWritten"] == 5000 and list(conflicts[3]["columns"]) == ["tags"]
    assert conflicts[0]["columns"]["v"] == {"prod": "prod", "dev": "dev"}
    assert all(len(c["devDigest"]) == 32 and len(c["prodDigest"]) == 32 for c in conflicts.values())
    assert conflicts[0]["devDigest"] != conflicts[0]["prodDigest"]
    # a second diff of unchanged tables gives the same digests: they are what apply will check against
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    again = {c["key"]["c"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert {c: (v["devDigest"], v["prodDigest"]) for c, v in again.items()} == \
        {c: (v["devDigest"], v["prodDigest"]) for c, v in conflicts.items()}
