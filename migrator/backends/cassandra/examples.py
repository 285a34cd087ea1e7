"""A difference the CQL validator found, made into its ``Example``: from the raw rows, without I/O.

``ExampleMaker.example`` gives what a report shows of a row (its key and cells, decoded for people)
and, for reconcile's diff (``plan.digests``), what the outputs need besides: both rows' digests and
newest WRITETIMEs, dev's row as CQL literals (every compared cell, for the pack's statement; the key
alone for a row only production has), and the row's address (token and key bytes, where ``apply``
reads production again; and dev's cell bytes where both sides' types are the same, which ``apply``
binds to a prepared INSERT instead of sending the statement's text). A diff shows a conflict's differing columns only.
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
        self.key_fields = list(zip(plan.key_names, self.decode_key, self.key_positions, strict=True))
        self.column_index = {col.name: i for i, col in enumerate(plan.columns)}
        self.single = [pos for pos, multicell in plan.written if not multicell]
        self.multi = [pos for pos, multicell in plan.written if multicell]
        self._literals: list[tuple[str, int, Callable[[bytes | None], str]]] | None = None  # for pack rows

    def example(self, kind: str, s: Row | None, t: Row | None, differences: Sequence[Difference], index: int,
                position: int) -> Example:
        """The example of a row only in the source (``s``), only in the target (``t``), or in both.

        ``differences``: what ``RowDiffer.differences`` found in a pair, its values decoded already.
        """
        row = s if s is not None else t
        assert row is not None
        key = {name: values.to_display(decode(row[i])) for name, decode, i in self.key_fields}
        columns = [d[0] for d in differences]
        if self.plan.digests and kind == DIFFERING:
            # reconcile shows a conflict's differing columns only, from the values the comparison decoded
            # (with compareTimestamps, "writetime(c)" and "ttl(c)" differ too: they are no columns to show)
            source, target = dict(key), dict(key)
            for name, a, b, _ in differences:
                if name in self.column_index:
                    source[name], target[name] = values.to_display(a), values.to_display(b)
            example = Example(kind, key, source, target, columns, index, position, self.token(row))
        else:
            example = Example(kind, key, self._display(s, self.differ.decode_src, key),
                              self._display(t, self.differ.decode_tgt, key), columns, index, position, self.token(row))
        if self.plan.digests:
            self._sign(example, s, t, row)
        return example

    def _sign(self, example: Example, s: Row | None, t: Row | None, row: Row) -> None:
        """What a diff's outputs need besides: digests, write times, dev's row as literals, the address."""
        if s is not None:
            example.source_digest, example.source_written = self.differ.src_digest.digest(s).hex(), self._written(s)
        if t is not None:
            example.target_digest, example.target_written = self.differ.tgt_digest.digest(t).hex(), self._written(t)
        example.literals = self._row_literals(row, whole=s is not None)
        example.address = {"token": example.token,
                           "key": [cell.hex() if (cell := row[i]) is not None else None for i in self.key_positions]}
        if s is not None and self.plan.bindable:  # dev's cells as they are, for apply to bind (``literals``' order)
            example.address["cells"] = [cell.hex() if (cell := row[i]) is not None else None
                                        for _, i, _ in self._literals or ()]
        if example.target_written is not None and example.target_written >= time.time() * 1e6:
            # a write at the coordinator's time would lose to these cells: write just after them
            example.address["after"] = int(example.target_written) + 1

    def _display(self, row: Row | None, decoders: list[Any], key: dict[str, Any]) -> dict[str, Any] | None:
        """The row by target column name, for people: its key, then its cells."""
        if row is None:
            return None
        out = dict(key)
        for col, decode in zip(self.plan.columns, decoders, strict=True):
            out[col.name] = values.to_display(decode(row[col.position]))
        return out

    def _row_literals(self, row: Row, *, whole: bool) -> dict[str, str]:
        """The row as CQL literals by target column name: its key, then (``whole``) every compared cell."""
        if self._literals is None:
            user_types, plan = self.plan.user_types, self.plan
            self._literals = [(name, i, literals.raw_literal(ordering.parse_cql_type(t, user_types), decode))
                              for (name, decode, i), t in zip(self.key_fields, plan.key_types, strict=True)]
            self._literals += [(col.name, col.position, literals.raw_literal(
                ordering.parse_cql_type(col.source_type, user_types), decode))
                for col, decode in zip(plan.columns, self.differ.decode_src, strict=True)]
        fields = self._literals if whole else self._literals[: len(self.key_positions)]
        return {name: literal(row[i]) for name, i, literal in fields}

    def _written(self, row: Row) -> float | None:
        """The row's newest cell WRITETIME (microseconds), None when it has no cell with one."""
        times = [int.from_bytes(raw, "big", signed=True) for pos in self.single if (raw := row[pos])]
        for pos in self.multi:
            if (raw := row[pos]) is not None:
                times += [v for v in metadata_value(raw, True) if v is not None]
        return float(max(times)) if times else None
