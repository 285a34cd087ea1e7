"""Source ``type: mysql`` (reference A.6): a MySQL table read over JDBC, optionally partitioned.

Rules: identifiers use MySQL's unquoted character set; the four partitioning keys come together, with
bounds of one kind (integer, DATE ``YYYY-MM-DD`` or TIMESTAMP ``YYYY-MM-DD HH:MM:SS``) and lower < upper;
``fetchSize`` is 1..100000; ``where`` must not be blank nor hold control characters; JDBC properties that
let the server read client files or run code are refused. MySQL sources have no savepoints.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticKnownError

from migrator.config.base import (
    ConfigModel,
    Host,
    Int,
    Port,
    PositiveInt,
    Problem,
    case_insensitive,
    rule_failure,
    set_keys,
)
from migrator.config.cql import Credentials
from migrator.config.secrets import REDACTED, REDACTED_MESSAGE, is_secret_key

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")

BLOCKED_CONNECTION_PROPERTIES = frozenset(
    name.lower()
    for name in (
        "allowLoadLocalInfile",
        "allowLoadLocalInfileInPath",
        "allowUrlInLocalInfile",
        "autoDeserialize",
        "queryInterceptors",
        "exceptionInterceptors",
        "connectionLifecycleInterceptors",
        "propertiesTransform",
    )
)
"""JDBC properties that let the server read client files or make the driver load classes."""


def _identifier(value: Any) -> Any:
    if isinstance(value, str) and not _IDENTIFIER.match(value):
        raise rule_failure(
            f"'{value}' is not a plain MySQL identifier (letters, digits, _ and $; at most 64 characters)"
        )
    return value


Identifier = Annotated[str, BeforeValidator(_identifier)]


def _bound(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticKnownError("int_type")
    return value


Bound = Annotated[int | str, BeforeValidator(_bound)]


def _jdbc_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def parse_bound(value: int | str) -> tuple[str, Any] | None:
    """``(kind, comparable value)`` of a partition bound, or None when it is none of the three kinds."""
    if isinstance(value, int):
        return "integer", value
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return "integer", int(text)
    try:
        return "date", dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return "timestamp", dt.datetime.fromisoformat(text)
    except ValueError:
        return None


class MySQLSource(ConfigModel):
    """Read one MySQL table over JDBC."""

    backend: ClassVar[str] = "mysql"
    supports_savepoints: ClassVar[bool] = False

    type: Literal["mysql"] = "mysql"
    host: Host = Field(examples=["127.0.0.1"])
    port: Port = Field(examples=[3306])
    database: Identifier = Field(examples=["shop"])
    table: Identifier = Field(examples=["orders"])
    credentials: Credentials = Field(examples=[{"username": "migrator", "password": "${MYSQL_PASSWORD}"}])
    primary_key: list[Identifier] | None = Field(default=None, alias="primaryKey")
    partition_column: Identifier | None = Field(default=None, alias="partitionColumn")
    num_partitions: PositiveInt | None = Field(default=None, alias="numPartitions")
    lower_bound: Bound | None = Field(default=None, alias="lowerBound")
    upper_bound: Bound | None = Field(default=None, alias="upperBound")
    zero_date_time_behavior: Annotated[
        Literal["EXCEPTION", "CONVERT_TO_NULL", "ROUND"],
        BeforeValidator(case_insensitive("EXCEPTION", "CONVERT_TO_NULL", "ROUND")),
    ] = Field(default="EXCEPTION", alias="zeroDateTimeBehavior")
    fetch_size: Annotated[Int, Field(ge=1, le=100_000)] = Field(default=1000, alias="fetchSize")
    where: str | None = None
    connection_properties: dict[str, Annotated[str, BeforeValidator(_jdbc_value)]] | None = Field(
        None, alias="connectionProperties"
    )

    def rule_problems(self) -> Iterator[Problem]:
        """Partitioning keys together and ordered; a usable where; no dangerous JDBC properties."""
        yield from self._partitioning_problems()
        if self.where is not None:
            if not self.where.strip():
                yield "where", "must not be blank; remove the key to read the whole table"
            elif any(ord(c) < 32 and c not in "\t\n\r" for c in self.where):
                yield "where", "must not contain control characters"
        for key, value in (self.connection_properties or {}).items():
            if is_secret_key(key) and value == REDACTED:
                yield f"connectionProperties.{key}", REDACTED_MESSAGE
            if key.lower() in BLOCKED_CONNECTION_PROPERTIES:
                yield (
                    f"connectionProperties.{key}",
                    (
                        f"'{key}' is refused for security reasons (it lets the server read local files or "
                        "load classes); remove it"
                    ),
                )

    def _partitioning_problems(self) -> Iterator[Problem]:
        names = ("partition_column", "num_partitions", "lower_bound", "upper_bound")
        given = set_keys(self, *names)
        if given and len(given) < len(names):
            missing = [
                k for k in ("partitionColumn", "numPartitions", "lowerBound", "upperBound") if k not in given
            ]
            yield (
                "",
                (
                    "partitionColumn, numPartitions, lowerBound and upperBound go together; "
                    f"missing: {', '.join(missing)}"
                ),
            )
            return
        if self.lower_bound is None or self.upper_bound is None:
            return
        lower, upper = parse_bound(self.lower_bound), parse_bound(self.upper_bound)
        for key, bound, raw in (
            ("lowerBound", lower, self.lower_bound),
            ("upperBound", upper, self.upper_bound),
        ):
            if bound is None:
                yield (
                    key,
                    (
                        "expected an integer, a DATE (YYYY-MM-DD) or a TIMESTAMP (YYYY-MM-DD HH:MM:SS); "
                        f"got '{raw}'"
                    ),
                )
        if lower is None or upper is None:
            return
        if lower[0] != upper[0]:
            yield "upperBound", f"lowerBound is a {lower[0]} but upperBound is a {upper[0]}; use one kind"
        elif not lower[1] < upper[1]:
            yield (
                "upperBound",
                f"must be greater than lowerBound ({self.lower_bound}); got {self.upper_bound}",
            )
