"""What blosc2 can store: dtypes, chunk sizes and chunk counts, and its build errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from mlarray.errors import ArgumentTypeError, LayoutError, MLArrayError

__all__ = [
    "MAX_CHUNKS",
    "MAX_CHUNK_BYTES",
    "check_limits",
    "check_storable",
    "creation_errors",
    "within_limits",
]

MAX_CHUNK_BYTES = 2**31 - 1 - 32
"""Largest chunk blosc2 compresses: its buffer size limit (``BLOSC2_MAX_BUFFERSIZE``)."""
MAX_CHUNKS = MAX_CHUNK_BYTES // 8
"""Most chunks one array may have: their index (8 bytes each) is stored as one chunk."""


def check_storable(dtype: np.dtype[Any]) -> None:
    """Refuse dtypes a ``.mla`` file does not store: Python objects, structured records.

    Raises:
        ArgumentTypeError: ``dtype`` holds objects, fields or sub-arrays.
    """
    if dtype.hasobject:
        raise ArgumentTypeError(
            f"dtype {dtype}: arrays of Python objects cannot be stored; use a numeric dtype",
            path="dtype",
        )
    if dtype.names is not None or dtype.subdtype is not None:
        raise ArgumentTypeError(
            f"dtype {dtype}: structured dtypes (fields or sub-arrays) cannot be stored in a "
            ".mla file; store each field as an array of its own",
            path="dtype",
        )


def check_limits(shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]) -> None:
    """Check that blosc2 can store ``shape`` of ``dtype`` in chunks of ``chunks``.

    Raises:
        LayoutError: A chunk takes more than 2 GiB, or there are too many chunks.
    """
    chunk_bytes = math.prod(chunks) * dtype.itemsize
    if chunk_bytes > MAX_CHUNK_BYTES:
        raise LayoutError(
            f"chunks {list(chunks)} of {dtype} take {chunk_bytes} bytes each; blosc2 compresses "
            f"at most {MAX_CHUNK_BYTES} bytes (2 GiB) per chunk: use smaller chunks",
            path="chunk_size",
        )
    count = math.prod(-(-side // chunk) for side, chunk in zip(shape, chunks, strict=True))
    if count > MAX_CHUNKS:
        raise LayoutError(
            f"shape {list(shape)} in chunks of {list(chunks)} makes {count} chunks; blosc2 "
            f"stores at most {MAX_CHUNKS} per array (their index, 8 bytes per chunk, is one "
            "chunk of at most 2 GiB): use larger chunks (chunk_size) or a smaller array",
            path="chunk_size",
        )


def within_limits(shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]) -> bool:
    """Whether blosc2 can store ``shape`` in chunks of ``chunks`` (see :func:`check_limits`)."""
    try:
        check_limits(shape, dtype, chunks)
    except LayoutError:
        return False
    return True


@contextmanager
def creation_errors(shape: tuple[int, ...], dtype: np.dtype[Any], how: str) -> Iterator[None]:
    """Turn blosc2's failure to build an array into a :class:`LayoutError` saying which.

    Args:
        shape: The array's shape.
        dtype: Its dtype.
        how: How it is stored, e.g. ``", chunks (64, 64), codec LZ4"`` (or empty).
    """
    try:
        yield
    except MLArrayError:
        raise
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise LayoutError(
            f"blosc2 cannot build an array of shape {list(shape)}, dtype {dtype}{how}: "
            f"{type(exc).__name__}: {exc} (is the codec available for this data?)"
        ) from exc
