"""Metadata in and out of ``.mla`` files.

Reading is :func:`mlarray_meta.header.read_header` (standard library only), which
also validates the frame's header and trailer before blosc2 ever sees the file.
Writing stores the JSON envelope (and, unless switched off, the legacy entry of
the ``mlarray`` 0.0.54 package) as uncompressed vlmeta chunks, so that readers
without blosc2 can decode them.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import blosc2
from blosc2.msgpack_utils import msgpack_packb

from mlarray import config
from mlarray._version import __version__
from mlarray.errors import FileFormatError
from mlarray.meta import Meta
from mlarray_meta._base import BaseMeta
from mlarray_meta.codec import (
    ENVELOPE_KEY,
    LEGACY_KEY,
    encode_envelope,
    encode_legacy,
    legacy_fingerprint,
)
from mlarray_meta.format import FrameInfo
from mlarray_meta.header import Header, read_header

__all__ = [
    "MetadataSnapshot",
    "header_of_frame",
    "read_file_header",
    "set_raw_vlmeta",
    "write_file_metadata",
]


def _decompress_entry(chunk: bytes) -> bytes:
    """Decode a metadata chunk that blosc2 compressed (it re-encodes them when copying).

    ``mlarray_meta`` has checked the chunk header (sizes, flags) before asking.
    """
    try:
        return bytes(blosc2.decompress2(chunk))
    except (RuntimeError, ValueError) as exc:
        raise FileFormatError(f"a metadata entry cannot be decompressed: {exc}") from exc


def read_file_header(path: Path | str) -> Header:
    """Read a file's header with the standard-library reader, blosc2 decoding what it cannot.

    Args:
        path: A local file, or an ``http(s)://`` URL (read with two range requests).

    Raises:
        MLArrayFileError: If the file is missing or unreadable (RemoteFileError for a URL).
        FileFormatError: If the frame or its metadata is invalid or unsafe.
    """
    return read_header(path, decompress=_decompress_entry)


def header_of_frame(frame: FrameInfo) -> Header:
    """The header of a frame already read, blosc2 decoding what the standard library cannot.

    Raises:
        FileFormatError: If the metadata is invalid or unsafe.
    """
    return Header.from_frame(frame, decompress=_decompress_entry)


def set_raw_vlmeta(array: Any, key: str, payload: bytes) -> None:
    """Store ``payload`` under ``key`` as an uncompressed (memcpyed) vlmeta chunk."""
    array.schunk.vlmeta.set_vlmeta(key, msgpack_packb(payload), typesize=1, clevel=0)


def write_file_metadata(array: Any, meta: Meta, *, integrity: dict[str, Any] | None = None) -> None:
    """Write ``meta`` into the vlmeta of the file-backed Blosc2 ``array``.

    The legacy entry (if enabled) is written first and its fingerprint recorded in
    the envelope, so that readers notice when ``mlarray`` 0.0.54 later rewrites the
    legacy entry in place; an interrupted write is noticed the same way.

    Args:
        array: A Blosc2 NDArray opened for writing.
        meta: The metadata to store; the format marker is recorded in it.
        integrity: Optional per-chunk checksum record.
    """
    meta._set_facts(replace(meta._facts, mlarray_version=__version__))
    mapping = meta.to_mapping()
    fingerprint = None
    if config.write_legacy_metadata:
        legacy = encode_legacy(mapping)
        fingerprint = legacy_fingerprint(legacy)
        set_raw_vlmeta(array, LEGACY_KEY, legacy)
    elif LEGACY_KEY in array.schunk.vlmeta:
        del array.schunk.vlmeta[LEGACY_KEY]
    envelope = encode_envelope(mapping, integrity=integrity, legacy_crc32=fingerprint)
    set_raw_vlmeta(array, ENVELOPE_KEY, envelope)
    if integrity is not None:  # the array is final: keep its foreground index current
        from mlarray.training._index import refresh_stored_index

        refresh_stored_index(array, integrity)


def _user_fields(section: BaseMeta) -> dict[str, Any]:
    """The fields of ``section`` that users may set, recursively (the array's facts left out)."""
    return {
        name: _user_fields(value) if isinstance(value, BaseMeta) else value
        for name in section._writable_fields()
        for value in (getattr(section, name),)
    }


class MetadataSnapshot:
    """The fields of a ``Meta`` that users may set, as they were when it was taken.

    Only those fields count: the container rewrites the array's facts (layout,
    shape, format markers) on its own. A copy of them is kept, so edits in place
    (``meta.extra["k"] = v``) are seen as well.

    Args:
        meta: The metadata to remember, e.g. the header's at ``open``.
    """

    def __init__(self, meta: Meta) -> None:
        self._fields = copy.deepcopy(_user_fields(meta))

    def edited(self, meta: Meta) -> bool:
        """Whether ``meta`` differs from the snapshot in a field users may set."""
        return _user_fields(meta) != self._fields
