"""What a reconcile command refuses before it connects to anything (exit 2, nothing written)."""

from __future__ import annotations

from migrator.backends.base import Capabilities
from migrator.config import MigratorConfig
from migrator.config.base import Problem
from migrator.config.reconcile import ReconcileSettings
from migrator.errors import ConfigError

RECONCILE_EXAMPLE = ("the reconcile commands need a reconcile block, e.g. reconcile: {output: reconcile, "
                     "strategy: manual, tables: {shop.users: theirs}, allowDeletes: false}")


def settings_of(config: MigratorConfig) -> ReconcileSettings:
    """The config's ``reconcile`` block; a missing block is refused with an example."""
    if config.reconcile is None:
        raise ConfigError([("reconcile", RECONCILE_EXAMPLE)])
    return config.reconcile


def strategy_problems(config: MigratorConfig, settings: ReconcileSettings, capabilities: Capabilities) -> list[Problem]:
    """``newest`` where the source keeps no write times and no update-time attribute is named."""
    if "newest" not in settings.strategies or capabilities.write_times or settings.updated_at_attribute:
        return []
    where = "reconcile.strategy" if settings.strategy == "newest" else "reconcile.tables"
    return [(where, f"'newest' needs each row's write time, and {config.source.type} keeps none; name the "
                    "attribute that holds each item's update time in reconcile.updatedAtAttribute, or choose "
                    "ours, theirs or manual")]
