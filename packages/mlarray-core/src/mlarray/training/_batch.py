"""The layout of a batch: its arrays' shapes and dtypes, packed into one flat buffer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ALIGNMENT", "BatchLayout", "Field"]

ALIGNMENT = 64  # bytes: every array of a batch starts on a cache line


@dataclass(frozen=True)
class Field:
    """One array of a batch and where it lies in the batch's buffer.

    Attributes:
        key: Its key in the batch dict (``"image"``, ``"label"``, ``"box"``).
        shape: Its shape for a full batch (rows first).
        dtype: Its dtype.
        offset: Its first byte in the buffer.
    """

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int

    @property
    def nbytes(self) -> int:
        """Its size in bytes."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


@dataclass(frozen=True)
class BatchLayout:
    """The arrays of a batch, packed one after the other.

    Attributes:
        fields: The arrays, in buffer order.
    """

    fields: tuple[Field, ...]

    @classmethod
    def pack(cls, arrays: list[tuple[str, tuple[int, ...], np.dtype[Any]]]) -> BatchLayout:
        """Lay out ``(key, shape, dtype)`` arrays one after the other, each aligned."""
        fields, offset = [], 0
        for key, shape, dtype in arrays:
            field = Field(key, shape, np.dtype(dtype), offset)
            fields.append(field)
            offset += -(-field.nbytes // ALIGNMENT) * ALIGNMENT
        return cls(tuple(fields))

    @property
    def nbytes(self) -> int:
        """The size of the buffer holding the batch."""
        last = self.fields[-1]
        return last.offset + last.nbytes

    def carve(self, buffer: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
        """The batch's arrays as views of ``buffer`` (flat uint8, at least :attr:`nbytes`)."""
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for field in self.fields:
            flat = buffer[field.offset : field.offset + field.nbytes]
            arrays[field.key] = flat.view(field.dtype).reshape(field.shape)
        return arrays
