"""A difference the CQL validator found, made into its ``Example``: from the raw rows, without I/O.

``ExampleMaker.example`` gives what a report shows of a row (its key and cells, decoded for people)
and, for reconcile's diff (``plan.digests``), what the outputs need besides: both rows' digests and
newest WRITETIMEs, dev's row as CQL literals (every compared cell, for the pack's statement; the key
alone for a row only production has), and the row's address (token and key bytes, where ``apply``
reads production again). A diff shows a conflict's differing columns only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from migrator.backends.cassandra import literals, ordering, values
from migrator.backends.cassandra.compare_plan import ComparePlan
from migrator.backends.cassandra.rowdiff import Difference, Row, RowDiffer, metadata_value
from migrator.report.model import DIFFERING, Example


class ExampleMaker:
    """Makes the examples of one range's differences; build once per range, call per difference."""

    def __init__(self, plan: ComparePlan, differ: RowDiffer, token: Callable[[Row], int]) -> None:
        self.plan = plan
        self.differ = differ
        self.token = token
        self.decode_key = [values.decoder_for(t, plan.user_types) for t in plan.key_types]
        self.key_positions = plan.partition_key + plan.clustering
        self.column_index = {col.name: i for i, col in enumerate(plan.columns)}
        self._types: tuple[list[Any], list[Any]] | None = None  # parsed key and cell types, for pack literals

    def example(self, kind: str, s: Row | None, t: Row | None, differences: Sequence[Difference], index: int,
                position: int) -> Example:
        """The example of a row only in the source (``s``), only in the target (``t``), or in both."""
        columns = [d[0] for d in differences]
        row = s if s is not None else t
        assert row is not None
        key = self._key(row)
        decoded = None
        if self.plan.digests and s is not None:  # decoded once, for the display and the pack's literals
            decoded = [decode(s[col.position]) for col, decode in zip(self.plan.columns, self.differ.decode_src,
                                                                      strict=True)]
        # reconcile shows a conflict's differing columns only (its pack writes the literals of every cell)
        # (with compareTimestamps, "writetime(c)" and "ttl(c)" differ too: they are no columns to show)
        shown = ([self.column_index[name] for name in columns if name in self.column_index]
                 if self.plan.digests and kind == DIFFERING else None)
        example = Example(kind, key, self._display(s, self.differ.decode_src, key, decoded, shown),
                          self._display(t, self.differ.decode_tgt, key, None, shown), columns, index,
                          position, self.token(row))
        if self.plan.digests:
            if s is not None:
                example.source_digest, example.source_written = self.differ.src_digest.digest(s).hex(), self._written(s)
            if t is not None:
                example.target_digest, example.target_written = self.differ.tgt_digest.digest(t).hex(), self._written(t)
            example.literals = self._literals(row, decoded)
            example.address = {"token": example.token,
                               "key": [cell.hex() if (cell := row[i]) is not None else None
                                       for i in self.key_positions]}
            if example.target_written is not None and example.target_written >= time.time() * 1e6:
                # a write at the coordinator's time would lose to these cells: write just after them
                example.address["after"] = int(example.target_written) + 1
        return example

    def _display(self, row: Row | None, decoders: list[Any], key: dict[str, Any], decoded: list[Any] | None = None,
                 shown: Sequence[int] | None = None) -> dict[str, Any] | None:
        """The row by target column name, for people: its key, then its cells (``shown``: these columns only).

        ``decoded``: the row's cells already decoded.
        """
        if row is None:
            return None
        out = dict(key)
        columns = self.plan.columns
        for i in shown if shown is not None else range(len(columns)):
            col = columns[i]
            out[col.name] = values.to_display(decoded[i] if decoded is not None else decoders[i](row[col.position]))
        return out

    def _key(self, row: Row) -> dict[str, Any]:
        return {name: values.to_display(decode(row[i])) for name, decode, i in
                zip(self.plan.key_names, self.decode_key, self.key_positions, strict=True)}

    def _literals(self, row: Row, decoded: list[Any] | None) -> dict[str, str]:
        """The row as CQL literals by target column name: its key, then every compared cell.

        ``decoded``: the row's compared cells, decoded; None for the key alone.
        """
        if self._types is None:
            user_types = self.plan.user_types
            self._types = ([ordering.parse_cql_type(t, user_types) for t in self.plan.key_types],
                           [ordering.parse_cql_type(c.source_type, user_types) for c in self.plan.columns])
        key_types, cell_types = self._types
        out = {name: literals.cell_literal(t, row[i], decode(row[i])) for name, t, decode, i in
               zip(self.plan.key_names, key_types, self.decode_key, self.key_positions, strict=True)}
        if decoded is not None:
            for col, t, value in zip(self.plan.columns, cell_types, decoded, strict=True):
                out[col.name] = literals.cell_literal(t, row[col.position], value)
        return out

    def _written(self, row: Row) -> float | None:
        """The row's newest cell WRITETIME (microseconds), None when it has no cell with one."""
        times = [w for pos, multicell in self.plan.written for w in _writetimes(row[pos], multicell)]
        return float(max(times)) if times else None


def _writetimes(raw: bytes | None, multicell: bool) -> list[int]:
    """A scanned WRITETIME(): nothing for a null, one time, or one per collection element."""
    if raw is None:
        return []
    value = metadata_value(raw, multicell)
    return [v for v in value if v is not None] if isinstance(value, tuple) else [value]
