"""Once per PySpark Python worker process: stop paying, on every task, for what never changes.

PySpark's worker spends CPU around every task, even an empty one, in two places (measured on
Python 3.11 with pyspark 3.5 and 4.0: 0.15 to 0.2 CPU-s a task, 3 CPU-s for a 16-split run, more
than the comparison of 200,000 rows itself):

* Each task starts with ``importlib.invalidate_caches()``, so that files added with ``addPyFile``
  can be imported. Before Python 3.12, that makes every zip importer read its archive's whole
  directory again: pyspark.zip, py4j's, the standard library's, once per package imported from
  them (0.10 to 0.14 s a task). ``prepare`` makes a zip importer read its archive again only when the
  file changed (its size, modification time or inode), which is all the re-read is for. Python 3.12
  made the re-read lazy itself; there nothing is changed.
* Each task ends with ``gc.collect()`` over every object the process holds: the modules of
  PySpark, the drivers and ours, and the sessions kept for later tasks (about 90,000 objects,
  0.05 to 0.06 s a task). ``prepare`` moves what has accumulated since the last task to the
  collector's permanent generation (``gc.freeze``) when it is a lot, which it is only while the
  process is still importing and connecting. The collection after a task then scans only what that
  task made. Frozen objects are still freed when nothing refers to them any more; only reference
  cycles among them are never collected, and a frozen object is one the process kept anyway, or a
  task's own arguments, frozen at most a few times per process.

``prepare`` is the first thing every task does (``runner``, ``streaming``); after the first call it
costs a fraction of a millisecond.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import zipimport
from collections.abc import Callable
from typing import Any

FREEZE_ABOVE = 10_000  # objects the collector tracks outside the permanent generation, at a task's start

_patched = False


def prepare() -> None:
    """Make this process's later tasks cheaper (see the module docstring); safe to call any number of times."""
    global _patched
    if not _patched:  # a worker runs one task at a time
        if sys.version_info < (3, 12):
            zipimport.zipimporter.invalidate_caches = _when_changed(  # type: ignore[method-assign,assignment]
                zipimport.zipimporter.invalidate_caches)
        _patched = True
    if len(gc.get_objects()) > FREEZE_ABOVE:
        gc.freeze()


def _when_changed(read_again: Callable[[Any], None]) -> Callable[[Any], None]:
    """A zip importer's ``invalidate_caches`` that reads the archive again only when the file changed."""

    @functools.wraps(read_again)
    def invalidate_caches(importer: Any) -> None:
        try:
            stat = os.stat(importer.archive)
            stamp: tuple[int, int, int] | None = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except OSError:
            stamp = None
        if stamp is not None and getattr(importer, "_migrator_stamp", None) == stamp:
            return
        read_again(importer)
        importer._migrator_stamp = stamp  # taken before the read: a change during it is seen next time

    return invalidate_caches
