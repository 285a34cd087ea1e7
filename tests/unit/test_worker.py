"""A Spark worker made ready once: zip archives read again only when they change, long-lived objects frozen."""

import gc
import sys
import zipfile
import zipimport

import pytest

from migrator import worker

READ_AGAIN = zipimport.zipimporter.invalidate_caches  # Python's own, as the test process starts


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "lib.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("first.py", "VALUE = 1\n")
    return path


def test_a_zip_archive_is_read_again_only_when_it_changed(archive):
    reads = []

    def read_again(importer):
        reads.append(importer.archive)
        READ_AGAIN(importer)

    invalidate_caches = worker._when_changed(read_again)
    importer = zipimport.zipimporter(str(archive))
    for _ in range(5):
        invalidate_caches(importer)
    assert len(reads) == 1  # the first call reads; the unchanged archive is not read again

    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("second.py", "VALUE = 2\n")
    invalidate_caches(importer)
    assert len(reads) == 2
    assert importer.find_spec("second") is not None  # what was added is importable


def test_zip_importers_are_changed_only_where_python_reads_archives_again_eagerly(monkeypatch):
    original = zipimport.zipimporter.invalidate_caches
    monkeypatch.setattr(zipimport.zipimporter, "invalidate_caches", original)  # restored after the test
    monkeypatch.setattr(worker, "_patched", False)
    worker.prepare()
    assert (zipimport.zipimporter.invalidate_caches is not original) == (sys.version_info < (3, 12))
    assert zipimport.zipimporter.invalidate_caches.__doc__ == original.__doc__


def test_what_accumulated_is_frozen_and_little_is_left_alone(monkeypatch):
    monkeypatch.setattr(worker, "_patched", True)
    # freezes are counted by their calls: the frozen count itself falls whenever another thread of the
    # test process frees a frozen object (seen in CI, with the drivers' threads of earlier tests alive)
    freezes = []
    freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(True), freeze()))
    frozen_before = gc.get_freeze_count()
    try:
        kept = [[i] for i in range(worker.FREEZE_ABOVE)]  # a process still importing and connecting
        worker.prepare()
        assert len(freezes) == 1
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        assert len(gc.get_objects()) < worker.FREEZE_ABOVE

        few = [[i] for i in range(100)]  # a task's own arguments: not frozen
        worker.prepare()
        assert len(freezes) == 1
        assert few
    finally:
        gc.unfreeze()  # the test process keeps collecting as usual
