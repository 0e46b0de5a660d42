"""NumPy scalars inside ``mlarray`` 0.0.54 pickles, rebuilt as Python values (stdlib only).

0.0.54 accepts ``np.float64`` and ``np.str_`` values wherever it accepts ``float``
and ``str`` (they are subclasses), so its pickles may hold them: a statistic
computed with NumPy, a spacing taken from an array, a label from a NumPy string
array. Pickle rebuilds such a scalar by calling ``numpy.dtype(...)`` and
``numpy.core.multiarray.scalar(dtype, raw_bytes)``. The stand-ins below take those
calls and decode the bytes with :mod:`struct`, so nothing of NumPy is imported and
no code from the file runs.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from mlarray_meta.errors import UnsafeMetadataError

__all__ = ["NUMPY_GLOBALS"]

# dtype kind and item size -> struct format character (sign is in the character)
_FORMATS: Final[dict[tuple[str, int], str]] = {
    ("f", 2): "e",
    ("f", 4): "f",
    ("f", 8): "d",
    ("i", 1): "b",
    ("i", 2): "h",
    ("i", 4): "i",
    ("i", 8): "q",
    ("u", 1): "B",
    ("u", 2): "H",
    ("u", 4): "I",
    ("u", 8): "Q",
    ("b", 1): "?",
}
_BYTE_ORDERS: Final = {"<": "<", ">": ">", "|": "<", "=": "="}


class LegacyDType:
    """What a pickled ``numpy.dtype`` is rebuilt as: its kind, item size and byte order."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        if not isinstance(spec, str) or len(spec) < 2 or not spec[1:].isdigit():
            raise UnsafeMetadataError(f"legacy metadata: unsupported numpy dtype {spec!r}")
        self.kind = spec[0]
        self.size = int(spec[1:])
        self.order = "<"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in _BYTE_ORDERS:
            self.order = _BYTE_ORDERS[state[1]]
        else:
            raise UnsafeMetadataError("legacy metadata: unsupported numpy dtype state")


def legacy_scalar(dtype: Any, data: Any = b"") -> bool | int | float | str:
    """Decode a pickled NumPy scalar (numbers, booleans and unicode strings)."""
    if not isinstance(dtype, LegacyDType) or not isinstance(data, bytes):
        raise UnsafeMetadataError("legacy metadata: malformed numpy scalar")
    if dtype.kind == "U":
        if len(data) != 4 * dtype.size:
            raise UnsafeMetadataError("legacy metadata: malformed numpy string")
        codec = "utf-32-be" if dtype.order == ">" else "utf-32-le"
        return data.decode(codec).rstrip("\x00")
    code = _FORMATS.get((dtype.kind, dtype.size))
    if code is None or len(data) != dtype.size:
        raise UnsafeMetadataError(
            f"legacy metadata: unsupported numpy scalar of kind {dtype.kind!r}, {dtype.size} bytes"
        )
    value: bool | int | float = struct.unpack(dtype.order + code, data)[0]
    return value


NUMPY_GLOBALS: Final[dict[tuple[str, str], Any]] = {
    ("numpy", "dtype"): LegacyDType,
    ("numpy.core.multiarray", "scalar"): legacy_scalar,
    ("numpy._core.multiarray", "scalar"): legacy_scalar,
}
"""The NumPy globals a 0.0.54 pickle may name (NumPy 1 and 2 spellings)."""
