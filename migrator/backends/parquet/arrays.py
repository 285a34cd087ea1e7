"""Array helpers for the Parquet codec: Arrow arrays and columns of raw CQL cells, through numpy.

Columns of cells are turned into one byte buffer with offsets (``binary_buffers``) and back
(``cells_from``), fixed-width values are read and written in place (``gather``, ``windows``), and
arrays from other tools are brought to one plain form first (``plain``) and converted only when
nothing is lost (``cast_exact``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Cells = Sequence[bytes | None]
INT32 = struct.Struct(">i")


class CodecError(ValueError):
    """A cell that is not a valid value of its CQL type, or an Arrow array that cannot become one."""



def plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous, decoded array: chunks combined, dictionaries decoded, extension types unwrapped."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if isinstance(array.type, pa.BaseExtensionType):
        array = array.storage
    return array


def mismatch(source: pa.DataType, cql: str, why: object) -> CodecError:
    """The refusal of an array of ``source`` type for a CQL ``cql`` column."""
    return CodecError(f"cannot convert Arrow type {source} to CQL {cql}: {why}")


def cast_exact(array: pa.Array, target: pa.DataType, cql: str) -> pa.Array:
    """``array`` as ``target``, refused when a value would change (pyarrow's safe cast, plus floats)."""
    if array.type == target:
        return array
    try:
        result = pc.cast(array, target, safe=True)
    except pa.ArrowException as exc:
        raise mismatch(array.type, cql, exc) from None
    if pa.types.is_floating(array.type) and pa.types.is_floating(target):  # safe casts may round these
        back = pc.cast(result, array.type)
        same = pc.or_(pc.equal(back, array), pc.and_(pc.is_nan(back), pc.is_nan(array)))
        if pc.all(same).as_py() is False:
            raise mismatch(array.type, cql, "some values would be rounded")
    return result


def validity(array: pa.Array) -> np.ndarray | None:
    """Which entries are not null; ``None`` when none is."""
    if array.null_count == 0:
        return None
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def null_mask(cells: Cells) -> pa.Array | None:
    """Arrow's null mask of cells whose null is ``None`` or zero bytes; ``None`` when none is."""
    mask = [not cell for cell in cells]
    return pa.array(mask, pa.bool_()) if any(mask) else None


def binary_buffers(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """All cells' bytes one after the other (uint8), and where each starts and ends (n + 1 offsets)."""
    binary = pa.array(cells, pa.large_binary())
    bounds = np.frombuffer(binary.buffers()[1], np.int64, len(binary) + 1)
    size = int(bounds[-1])
    return (np.frombuffer(binary.buffers()[2], np.uint8, size) if size else np.zeros(0, np.uint8)), bounds


def cells_from(data: np.ndarray, bounds: np.ndarray, valid: np.ndarray | None) -> list[bytes | None]:
    """Cells cut from ``data`` at ``bounds`` (``None`` where not ``valid``), by Arrow in C."""
    bitmap = None if valid is None else pa.array(valid).buffers()[1]
    buffers = [bitmap, pa.py_buffer(bounds.astype(np.int64)), pa.py_buffer(np.ascontiguousarray(data))]
    cells: list[bytes | None] = pa.Array.from_buffers(pa.large_binary(), len(bounds) - 1, buffers).to_pylist()
    return cells


def windows(data: np.ndarray, width: int) -> np.ndarray:
    """Every run of ``width`` bytes of ``data`` (a writable view: row i starts at byte i)."""
    return np.lib.stride_tricks.as_strided(data, (max(len(data) - width + 1, 0), width), (1, 1))


def ints_at(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The big-endian int32s at ``positions`` in ``data``."""
    return windows(data, 4)[positions].view(">i4").reshape(-1)


def gather(cells: Cells, width: int, cql: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Non-empty cells of ``width`` bytes as an (m, width) uint8 matrix, and which cells they are.

    The mask is ``None`` when every cell is present; a cell of another length raises ``CodecError``.
    """
    data, bounds = binary_buffers(cells)
    lengths = np.diff(bounds)
    present = lengths != 0
    wrong = present & (lengths != width)
    if wrong.any():
        index = int(np.argmax(wrong))
        raise CodecError(f"a CQL {cql} value is {width} bytes, got {lengths[index]} (cell {index})")
    return data.reshape(-1, width), (None if present.all() else present)


def scatter(values: np.ndarray, present: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of the present cells spread over all cells (zeros elsewhere), and the null mask."""
    if present is None:
        return values, None
    full = np.zeros((len(present), *values.shape[1:]), values.dtype)
    full[present] = values
    return full, ~present


def offsets_of(sizes: np.ndarray) -> np.ndarray:
    """Start offsets of consecutive items of ``sizes``, with the end of the last one."""
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])


