"""The compare command's checks that need no server: the validation block and the backend's capabilities."""

from __future__ import annotations

import pytest

from migrator.backends.base import Capabilities
from migrator.backends.cassandra.backend import BACKEND as CASSANDRA
from migrator.config import ValidationSettings
from migrator.errors import EXIT_CONFIG, ConfigError
from migrator.validate import require_repairs, require_validation
from tests.unit.config.helpers import cql_tree, load_tree

VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
              "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}


class NoRepairs:
    """A backend that cannot repair: all ``require_repairs`` reads of one."""

    name = "elsewhere"
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=True, repairs=False)


def settings(**keys: object) -> ValidationSettings:
    return require_validation(load_tree(cql_tree(validation={**VALIDATION, **keys})).model)


def test_a_missing_validation_block_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        require_validation(load_tree(cql_tree()).model)
    assert caught.value.exit_code == EXIT_CONFIG
    [(path, message)] = caught.value.problems
    assert path == "validation" and message.startswith("the validate command needs a validation block, e.g.")


def test_repair_keys_lists_the_switches_that_are_on():
    assert settings().repair_keys == []
    assert settings(copyMissingRows=True, deleteExtraRows=True).repair_keys == ["copyMissingRows", "deleteExtraRows"]


def test_repairs_are_refused_where_the_backend_cannot_repair():
    require_repairs(settings(copyDifferingRows=True), CASSANDRA)
    require_repairs(settings(), NoRepairs())  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        require_repairs(settings(copyMissingRows=True, copyDifferingRows=True), NoRepairs())  # type: ignore[arg-type]
    assert caught.value.problems == [
        (f"validation.{key}", "elsewhere cannot repair while validating yet; set it to false and copy the "
                              "differences with migrate")
        for key in ("copyMissingRows", "copyDifferingRows")
    ]
