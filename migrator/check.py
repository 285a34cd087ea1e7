"""``migrator check``: validate the config, connect to both sides and describe the plan.

Nothing is written: a target table the copy would create is described, not created.
"""

from __future__ import annotations

import os

from migrator.backends.base import MIGRATE
from migrator.config import LoadedConfig
from migrator.runner import open_run

DEFAULT_CHECK_PARALLELISM = 2


def check(loaded: LoadedConfig, *, parallelism: int | None = None) -> str:
    """Prepare the run as ``migrate`` would, without writing anything, and return its description."""
    config = loaded.model
    prepared = open_run(config, parallelism=parallelism or os.cpu_count() or DEFAULT_CHECK_PARALLELISM, kind=MIGRATE)
    try:
        return prepared.describe()
    finally:
        prepared.close()
