"""Building blocks shared by every config model: the base class, rule errors and scalar types.

Guarantees:

* every model forbids unknown keys, accepts the upstream camelCase spelling (and the Python name), and is
  frozen, so settings can be shipped to executors and compared safely;
* cross-field rules live next to the model they concern (``rule_problems``) and are all reported in one go:
  a model raises a single ``config_rule`` error that carries every ``(relative.path, message)`` pair;
* a secret that still holds the redaction placeholder is reported by every model, wherever it sits;
* ``repr()`` of any block shows secrets as ``<redacted>``;
* integers and floats never silently accept ``true``/``false``; strings never silently accept numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError, PydanticKnownError

from migrator.config.secrets import REDACTED, REDACTED_MESSAGE, is_secret_key

Problem = tuple[str, str]
"""A problem found by a rule: a path relative to the model (``""`` for the model itself) and a message."""

RULE_ERROR = "config_rule"


def rule_error(problems: Iterable[Problem]) -> PydanticCustomError:
    """One pydantic error carrying several located problems; ``migrator.config.problems`` unpacks it."""
    items = list(problems)
    text = "; ".join(msg for _, msg in items)
    # The message goes through ctx: a literal template would treat "${VAR}" braces as placeholders.
    return PydanticCustomError(RULE_ERROR, "{message}", {"message": text, "problems": items})


def rule_failure(message: str, where: str = "") -> PydanticCustomError:
    """A single rule problem, for field validators."""
    return rule_error([(where, message)])


class ConfigModel(BaseModel):
    """Base of every config block: unknown keys are errors, camelCase aliases, frozen, self-checking."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    def rule_problems(self) -> Iterator[Problem]:
        """Cross-field problems of this block; paths are relative to it. Override in subclasses."""
        return iter(())

    @classmethod
    def unknown_key_hint(cls, key: str) -> str | None:
        """A specific explanation for an unknown ``key`` in this block, or None for the generic one."""
        return None

    @classmethod
    def yaml_keys(cls) -> list[str]:
        """The keys a user may write in this block, in declaration order."""
        return [info.alias or name for name, info in cls.model_fields.items()]

    def keys_set(self, names: tuple[str, ...]) -> list[str]:
        """The YAML keys of the fields ``names`` that the block sets (not None)."""
        return [type(self).model_fields[n].alias or n for n in names if getattr(self, n) is not None]

    @model_validator(mode="after")
    def check_rules(self) -> Self:
        """Run the block's rules once every field is valid; report them all together."""
        problems = [*self._redacted_secrets(), *self.rule_problems()]
        if problems:
            raise rule_error(problems)
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Secrets never show in ``repr()``/``str()`` (tracebacks, debug logs)."""
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            info = fields.get(name) if name else None
            secret = info is not None and is_secret_key(info.alias or name)
            yield name, (REDACTED if secret and value is not None else value)

    def _redacted_secrets(self) -> Iterator[Problem]:
        for name, info in type(self).model_fields.items():
            key = info.alias or name
            if is_secret_key(key) and getattr(self, name) == REDACTED:
                yield key, REDACTED_MESSAGE


def set_keys(model: ConfigModel, *names: str) -> list[str]:
    """The YAML keys among the given field ``names`` that are set (not None) on ``model``."""
    fields = type(model).model_fields
    return [fields[n].alias or n for n in names if getattr(model, n) is not None]


# ----- scalar types ------------------------------------------------------------------------------------


def _no_bool_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticKnownError("int_type")
    return value


def _no_bool_float(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticKnownError("float_type")
    return value


Int = Annotated[int, BeforeValidator(_no_bool_int)]
PositiveInt = Annotated[int, BeforeValidator(_no_bool_int), Field(gt=0)]
NonNegativeInt = Annotated[int, BeforeValidator(_no_bool_int), Field(ge=0)]
Port = Annotated[int, BeforeValidator(_no_bool_int), Field(ge=1, le=65535)]
NonNegativeFloat = Annotated[float, BeforeValidator(_no_bool_float), Field(ge=0, allow_inf_nan=False)]
ThroughputPercent = Annotated[float, BeforeValidator(_no_bool_float), Field(ge=0.1, le=1.5)]

MAX_SPLIT_COUNT = 1_000_000
"""Token ranges a CQL ring may be cut into; each is a Spark task, so far more would only stall the planner."""
MAX_SCAN_SEGMENTS = 1_000_000
"""DynamoDB's limit on a parallel scan's ``TotalSegments``."""
SplitCount = Annotated[int, BeforeValidator(_no_bool_int), Field(gt=0, le=MAX_SPLIT_COUNT)]
SegmentCount = Annotated[int, BeforeValidator(_no_bool_int), Field(gt=0, le=MAX_SCAN_SEGMENTS)]
SegmentNumber = Annotated[int, BeforeValidator(_no_bool_int), Field(ge=0, lt=MAX_SCAN_SEGMENTS)]


MAX_OUTAGE_SECONDS = 86_400
"""The longest outage tolerance: a day (an endpoint down longer is a job to restart, not to wait for)."""
OutageSeconds = Annotated[float, BeforeValidator(_no_bool_float), Field(ge=0, le=MAX_OUTAGE_SECONDS,
                                                                         allow_inf_nan=False)]


OutageTolerance = Annotated[OutageSeconds | None, Field(alias="outageToleranceSeconds", examples=[120])]
"""How long requests to a side are retried before the job gives up (``migrator.retry``); None: the default."""


def _non_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise rule_failure("must not be empty")
    return value


NonBlankStr = Annotated[str, BeforeValidator(_non_blank)]


def case_insensitive(*choices: str) -> Callable[[Any], Any]:
    """A before-validator that maps any spelling of one of ``choices`` to its canonical spelling."""
    canonical = {c.lower(): c for c in choices}

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            return canonical.get(value.strip().lower(), value)
        return value

    return normalise


ConsistencyLevelName = Literal[
    "ANY",
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "SERIAL",
    "LOCAL_SERIAL",
    "LOCAL_ONE",
]
CONSISTENCY_LEVELS: tuple[str, ...] = get_args(ConsistencyLevelName)
ConsistencyLevel = Annotated[ConsistencyLevelName, BeforeValidator(case_insensitive(*CONSISTENCY_LEVELS))]

BillingMode = Annotated[
    Literal["PROVISIONED", "PAY_PER_REQUEST"],
    BeforeValidator(case_insensitive("PROVISIONED", "PAY_PER_REQUEST")),
]

# ----- host names --------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_URL_CHARS = set("/?#@ \t\\,;")


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a single host name, IPv4 or (optionally bracketed) IPv6 address; None if it is."""
    import ipaddress

    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    if "://" in host or _URL_CHARS.intersection(host):
        return "expected a single host name or IP address, not a URL or a list (for example 10.0.0.1)"
    if ":" in host:
        return "expected a host name or IP address without a port; put the port under 'port'"
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return "expected a host name or IP address (for example 10.0.0.1 or cassandra-1.example.com)"
    return None


def _valid_host(value: Any) -> Any:
    if isinstance(value, str):
        problem = host_problem(value.strip())
        if problem:
            raise rule_failure(f"{problem}; got '{value}'")
        return value.strip()
    return value


Host = Annotated[str, BeforeValidator(_valid_host)]
