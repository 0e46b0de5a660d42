"""The restricted decoder and the plain encoder of ``mlarray`` 0.0.54 metadata (stdlib only).

0.0.54 stores ``Meta.to_mapping()`` as gzip of a pickle in which lists and dicts may
appear as its helper classes ``mlarray.meta._FrozenList`` and ``_FrozenDict``. This
module decompresses with a hard cap and unpickles with an unpickler that maps those
two names to ``list`` and ``dict`` and refuses every other global, so no code from a
file ever runs. Public entry points are re-exported by :mod:`mlarray_meta.codec`.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from typing import Any, Final, NoReturn

from mlarray_meta._legacy_numpy import NUMPY_GLOBALS
from mlarray_meta._plain import PlainDataError, to_plain
from mlarray_meta.errors import (
    FileFormatError,
    MetaTypeError,
    MetaValidationError,
    UnsafeMetadataError,
)

__all__ = ["MAX_LEGACY_BYTES", "decode_legacy", "encode_legacy"]

MAX_LEGACY_BYTES: Final = 64 * 2**20
"""Largest decompressed legacy pickle read."""

_GUNZIP_STEP: Final = 2**20
# The only globals a 0.0.54 pickle may name, and what they are rebuilt as: its two
# container classes, an OrderedDict given as a dict, and NumPy float/str scalars.
_LEGACY_GLOBALS: Final[dict[tuple[str, str], Any]] = {
    ("mlarray.meta", "_FrozenList"): list,
    ("mlarray.meta", "_FrozenDict"): dict,
    ("collections", "OrderedDict"): dict,
    **NUMPY_GLOBALS,
}


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds 0.0.54's two container classes and nothing else."""

    def __init__(self, data: bytes, *, source: str) -> None:
        super().__init__(io.BytesIO(data))
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = _LEGACY_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafeMetadataError(
                f"{self._source}: legacy metadata asks for the global {module}.{name}; only "
                "mlarray 0.0.54's list and dict classes, OrderedDict and NumPy scalars are "
                "allowed, so it was not loaded"
            )
        return allowed

    def persistent_load(self, pid: Any) -> NoReturn:
        raise UnsafeMetadataError(
            f"{self._source}: legacy metadata uses a pickle persistent id; it was not loaded"
        )


def _gunzip(data: bytes, *, source: str) -> bytes:
    """Decompress one gzip member, refusing output beyond :data:`MAX_LEGACY_BYTES`.

    Output is produced in steps of 1 MiB, so a bomb is refused
    once the cap is passed, holding little more than the cap in memory.
    """
    stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pieces: list[bytes] = []
    total = 0
    pending = data
    try:
        while not stream.eof:
            piece = stream.decompress(pending, _GUNZIP_STEP)
            if not piece and stream.unconsumed_tail == pending:
                break  # no progress: the input ran out before the end of the stream
            pending = stream.unconsumed_tail
            total += len(piece)
            if total > MAX_LEGACY_BYTES:
                raise UnsafeMetadataError(
                    f"{source}: legacy metadata decompresses to more than {MAX_LEGACY_BYTES} "
                    "bytes; refused as a possible decompression bomb"
                )
            pieces.append(piece)
    except zlib.error as exc:
        raise FileFormatError(f"{source}: legacy metadata is not valid gzip: {exc}") from None
    if not stream.eof:
        raise FileFormatError(f"{source}: legacy metadata: the gzip stream is truncated")
    if stream.unused_data:
        extra = len(stream.unused_data)
        raise FileFormatError(
            f"{source}: legacy metadata: {extra} unexpected bytes after the gzip stream"
        )
    return b"".join(pieces)


def decode_legacy(data: bytes, *, source: str) -> dict[str, Any]:
    """Decode the ``mlarray`` 0.0.54 metadata stored in the ``"mlarray"`` vlmeta entry.

    The value is gzip of a pickle of ``Meta.to_mapping()``. It is decompressed with a
    hard cap and unpickled by an unpickler that maps ``mlarray.meta._FrozenList`` and
    ``mlarray.meta._FrozenDict`` to ``list`` and ``dict`` and refuses every other
    global and every persistent id, so no code from the file ever runs.

    Args:
        data: The gzip bytes.
        source: Names the data in error messages.

    Returns:
        The metadata mapping, made of plain builtins only (tuples become lists).

    Raises:
        UnsafeMetadataError: The pickle names a forbidden global or a persistent id,
            or the data is a decompression bomb or expands beyond the size limit.
        FileFormatError: The data is not gzip, not a pickle, or not a mapping.
    """
    raw = _gunzip(bytes(data), source=source)
    try:
        loaded = _LegacyUnpickler(raw, source=source).load()
        mapping = to_plain(loaded, root="meta", max_nodes=len(raw))
    except UnsafeMetadataError:
        raise
    except PlainDataError as exc:
        if exc.limit:
            raise UnsafeMetadataError(f"{source}: legacy metadata refused: {exc}") from None
        raise FileFormatError(f"{source}: legacy metadata is not plain data: {exc}") from None
    except Exception as exc:  # any unpickling failure of a malformed stream
        kind = type(exc).__name__
        raise FileFormatError(
            f"{source}: legacy metadata is not a valid pickle: {kind}: {exc}"
        ) from None
    if not isinstance(mapping, dict) or not all(isinstance(key, str) for key in mapping):
        found = type(loaded).__name__ if not isinstance(mapping, dict) else "non-string keys"
        raise FileFormatError(
            f"{source}: legacy metadata: expected a mapping with string keys, found {found}"
        )
    return mapping


def encode_legacy(mapping: dict[str, Any]) -> bytes:
    """Encode metadata the way ``mlarray`` 0.0.54 reads its ``"mlarray"`` vlmeta entry.

    The pickle (protocol 5) holds plain builtins only, so it names no global at all:
    the old package, or anyone, can load it without importing anything.

    Args:
        mapping: The metadata mapping (tuples are stored as lists).

    Returns:
        gzip bytes of the pickle (deterministic: the gzip timestamp is zero).

    Raises:
        MetaTypeError: A value is not plain data.
        MetaValidationError: The data is nested deeper than the limit.
    """
    try:
        plain = to_plain(mapping, root="meta", max_nodes=MAX_LEGACY_BYTES)
    except PlainDataError as exc:
        error = MetaValidationError if exc.limit else MetaTypeError
        raise error(f"metadata cannot be stored for mlarray 0.0.54: {exc}") from None
    return gzip.compress(pickle.dumps(plain, protocol=5), mtime=0)
