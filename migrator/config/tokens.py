"""``skipTokenRanges``: the token ranges a previous run finished, in upstream's encoding (reference A.12).

Upstream writes each range as a pair ``[start, end]`` of tokens ``{type: long|bigint, value: N}``
(``long`` for Murmur3Partitioner, ``bigint`` for RandomPartitioner). Bare integers ``[N, M]`` are accepted
too and take the type of the other tokens in the list (``long`` when there are none and the values fit).
A ``bigint`` value may be a YAML integer or a string of digits. One list holds one token type.

The config model keeps plain ``(start, end)`` integer pairs plus the token type; ``encode_token_ranges``
writes them back in upstream's encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, Strict, TypeAdapter, ValidationError
from pydantic_core import PydanticKnownError

from migrator.config.base import ConfigModel, Problem, case_insensitive, rule_error, rule_failure

TokenType = Literal["long", "bigint"]

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
"""Murmur3Partitioner tokens are signed 64-bit integers."""
BIGINT_MIN, BIGINT_MAX = -1, 2**127
"""RandomPartitioner tokens run from -1 (the minimum token) to 2**127."""

MAX_TOKEN_DIGITS = 39
"""Digits of the longest token of either partitioner (2**127); a longer string of digits is never converted."""
_DIGITS = re.compile(r"^\s*-?\d+\s*$")


def _digit_count(text: str) -> int:
    return len(text.strip().lstrip("-"))


def _token_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticKnownError("int_type")
    if isinstance(value, str) and _DIGITS.match(value):
        if _digit_count(value) > MAX_TOKEN_DIGITS:
            raise rule_failure(
                f"a token of {_digit_count(value)} digits is outside every token range; tokens run from "
                f"{LONG_MIN} to {LONG_MAX} (long) or from {BIGINT_MIN} to 2**127 (bigint)"
            )
        return int(value)
    return value


class Token(ConfigModel):
    """One end of a token range, as upstream encodes it."""

    type: Annotated[TokenType, BeforeValidator(case_insensitive("long", "bigint"))] = Field(examples=["long"])
    value: Annotated[int, BeforeValidator(_token_int), Strict()] = Field(examples=[-9223372036854775808])

    def rule_problems(self) -> Iterator[Problem]:
        """The value must fit the partitioner's token range."""
        if self.type == "long" and not LONG_MIN <= self.value <= LONG_MAX:
            yield (
                "value",
                (
                    f"{self.value} is outside the long (Murmur3Partitioner) token range; "
                    "use type: bigint for RandomPartitioner tokens"
                ),
            )
        if self.type == "bigint" and not BIGINT_MIN <= self.value <= BIGINT_MAX:
            yield "value", f"{self.value} is outside the bigint (RandomPartitioner) token range -1..2**127"


TokenPair = tuple[Token, Token]
_PAIRS: TypeAdapter[list[TokenPair]] = TypeAdapter(list[TokenPair])


def _is_bare(token: Any) -> bool:
    return (isinstance(token, int) and not isinstance(token, bool)) or (
        isinstance(token, str) and bool(_DIGITS.match(token))
    )


def _fits_long(token: int | str) -> bool:
    """Whether a bare token (an integer, or a string of digits) is inside the long range."""
    if isinstance(token, str):
        return _digit_count(token) <= MAX_TOKEN_DIGITS and LONG_MIN <= int(token) <= LONG_MAX
    return LONG_MIN <= token <= LONG_MAX


def _explicit_types(value: list[Any]) -> set[str]:
    """The valid token types written in ``value`` (invalid ones are reported by validation)."""
    return {
        str(token["type"]).lower()
        for pair in value
        if isinstance(pair, list | tuple)
        for token in pair
        if isinstance(token, dict) and str(token.get("type")).lower() in ("long", "bigint")
    }


def normalise_encoding(value: Any) -> Any:
    """Turn bare integers into ``{type, value}`` tokens of the list's token type."""
    if not isinstance(value, list):
        return value
    explicit = _explicit_types(value)
    if len(explicit) == 1:
        kind = explicit.pop()
    else:
        bare = [t for pair in value if isinstance(pair, list | tuple) for t in pair if _is_bare(t)]
        kind = "long" if all(_fits_long(t) for t in bare) else "bigint"
    return [
        [{"type": kind, "value": t} if _is_bare(t) else t for t in pair]
        if isinstance(pair, list | tuple)
        else pair
        for pair in value
    ]


def parse_token_ranges(value: Any) -> Any:
    """Before-validator: upstream's encoding (or bare pairs) -> ``[(start, end), ...]``.

    Problems are raised as one rule error whose paths are relative to the list (``[0][1].value``).
    """
    from migrator.config.problems import format_path, translate

    if not isinstance(value, list):
        return value
    try:
        pairs = _PAIRS.validate_python(normalise_encoding(value))
    except ValidationError as exc:
        problems = translate(exc, value, list[TokenPair])
        raise rule_error((format_path(path), message) for path, message in problems) from None
    if len({token.type for pair in pairs for token in pair}) > 1:
        raise rule_error(
            [("", "mixes long and bigint tokens; one cluster uses one partitioner, so one token type")]
        )
    return [(start.value, end.value) for start, end in pairs]


def declared_token_type(value: Any) -> TokenType | None:
    """The token type written in an encoded list, or None when no token says (bare integers only)."""
    explicit = _explicit_types(value) if isinstance(value, list) else set()
    kind = explicit.pop() if len(explicit) == 1 else None
    return "bigint" if kind == "bigint" else "long" if kind == "long" else None


def infer_token_type(ranges: Sequence[tuple[int, int]]) -> TokenType:
    """``bigint`` when a token is outside the long range, else ``long``."""
    inside = all(LONG_MIN <= t <= LONG_MAX for pair in ranges for t in pair)
    return "long" if inside else "bigint"


def encode_token_ranges(
    ranges: Sequence[tuple[int, int]], token_type: str = "long"
) -> list[list[dict[str, Any]]]:
    """Upstream's encoding of ``ranges``, ready to put under ``skipTokenRanges`` and render."""
    if token_type not in ("long", "bigint"):
        raise ValueError(f"token_type must be 'long' or 'bigint', got {token_type!r}")
    return [
        [{"type": token_type, "value": int(start)}, {"type": token_type, "value": int(end)}]
        for start, end in ranges
    ]
