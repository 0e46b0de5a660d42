"""A ``.mla`` file's array layout and metadata mapping, read with the standard library.

:func:`read_header_mapping` parses the frame (:mod:`mlarray_meta.format`) and
decodes the metadata entry: the JSON envelope under ``"mla"`` when present (unless
an older writer replaced the legacy entry after it, see
:meth:`HeaderMapping.from_frame`), otherwise the legacy ``mlarray`` 0.0.54 entry
under ``"mlarray"``. Turning the mapping into a ``Meta`` object is left to the
caller (``meta_from_file(header.meta, source=...)``, which reads leniently), or
done by :func:`read_header`.

The checksum record of the envelope stays in force whatever happened to the
legacy entry: when the two entries no longer belong together, the header says so
(:attr:`HeaderMapping.metadata_problem`) and ``mlarray verify`` reports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Literal

from mlarray_meta._http import read_url_frame
from mlarray_meta._remote import is_url
from mlarray_meta.codec import (
    ENVELOPE_KEY,
    LEGACY_KEY,
    LEGACY_WRITER_VERSION,
    Envelope,
    decode_envelope,
    decode_legacy,
    legacy_fingerprint,
)
from mlarray_meta.errors import (
    CodecRequiredError,
    FileFormatError,
    MLArrayError,
    UnsafeMetadataError,
)
from mlarray_meta.format import ChunkDecoder, FrameInfo, read_frame
from mlarray_meta.meta import Meta, meta_from_file

__all__ = ["Header", "HeaderMapping", "read_header", "read_header_mapping"]


@dataclass(frozen=True, slots=True)
class HeaderMapping:
    """The array layout and the undecoded-to-objects metadata of a ``.mla`` file.

    Attributes:
        path: The file read.
        shape: Array shape.
        dtype: NumPy dtype string, e.g. ``'<i2'``.
        chunks: Chunk shape.
        blocks: Block shape.
        meta: The ``Meta.to_mapping()`` dict; empty when the file has no metadata entry.
        origin: ``"mla"`` (JSON envelope), ``"legacy"`` (``mlarray`` 0.0.54 entry), or
            None when the file has neither.
        format_version: ``(major, minor)`` of the envelope; None unless origin is "mla".
        integrity: The envelope's integrity record (per-chunk checksums), or None.
        frame: Everything else the frame header and trailer say (codec, sizes, vlmeta).
        expects_integrity: Whether the file was written by mlarray (not by
            ``mlarray`` 0.0.54 or plain blosc2), which always records checksums: a
            missing record then means damage, not an older file.
        metadata_problem: What is wrong with the metadata entries although they
            could be read (the legacy entry no longer belongs to the envelope, an
            entry or the checksum record is missing), or None.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]
    meta: dict[str, Any]
    origin: Literal["mla", "legacy"] | None
    format_version: tuple[int, int] | None
    integrity: dict[str, Any] | None
    frame: FrameInfo
    expects_integrity: bool = False
    metadata_problem: str | None = None

    @classmethod
    def from_frame(
        cls, frame: FrameInfo, *, decompress: ChunkDecoder | None = None
    ) -> HeaderMapping:
        """Decode the metadata entry of an already parsed frame.

        Args:
            frame: The parsed frame.
            decompress: Decodes entries the standard library cannot (see
                :meth:`FrameInfo.vlmeta_payload`).

        Returns:
            The header mapping. ``"mla"`` wins when both entries exist, unless the
            envelope records the fingerprint of the legacy entry written with it and
            the legacy entry now holds other metadata: then ``mlarray`` 0.0.54 saved
            metadata in place after us, so the legacy entry is the current metadata.
            The envelope's integrity record is kept in every case: chunks that the
            old writer replaced are reported as not matching it, never read
            unchecked. Disagreements are described in ``metadata_problem``.

        Raises:
            FileFormatError: The metadata entry is malformed, cannot be decoded without
                python-blosc2, or (for a legacy entry) is unsafe
                (:class:`~mlarray_meta.errors.UnsafeMetadataError`).
        """
        meta: dict[str, Any] = {}
        origin: Literal["mla", "legacy"] | None = None
        version: tuple[int, int] | None = None
        integrity: dict[str, Any] | None = None
        problem: str | None = None
        expects = ENVELOPE_KEY in frame.vlmeta
        if expects:
            source = f"{frame.path}: vlmeta {ENVELOPE_KEY!r}"
            envelope = decode_envelope(_binary(frame, ENVELOPE_KEY, decompress), source=source)
            meta, origin = envelope.meta, "mla"
            version, integrity = envelope.format_version, envelope.integrity
            legacy, problem = _legacy_divergence(frame, envelope, decompress)
            if legacy is not None:
                meta, origin = legacy, "legacy"
            if integrity is None:
                problem = _join(problem, _NO_RECORD)
        elif LEGACY_KEY in frame.vlmeta:
            source = f"{frame.path}: vlmeta {LEGACY_KEY!r}"
            payload = _binary(frame, LEGACY_KEY, decompress)
            meta, origin = decode_legacy(payload, source=source), "legacy"
            expects = _written_by_mlarray(meta)
            if expects:
                problem = (
                    f"vlmeta {ENVELOPE_KEY!r} is missing, although vlmeta {LEGACY_KEY!r} "
                    "says mlarray wrote the file, which stores it with the checksums: the "
                    "trailer is damaged or the entry was removed"
                )
        return cls(
            path=frame.path,
            shape=frame.shape,
            dtype=frame.dtype,
            chunks=frame.chunks,
            blocks=frame.blocks,
            meta=meta,
            origin=origin,
            format_version=version,
            integrity=integrity,
            frame=frame,
            expects_integrity=expects,
            metadata_problem=problem,
        )


_NO_RECORD = (
    f"vlmeta {ENVELOPE_KEY!r} holds no checksum record, although mlarray always stores "
    "one: the metadata is damaged, or an edit by an older mlarray was interrupted"
)


def _join(first: str | None, second: str) -> str:
    return second if first is None else f"{first}; {second}"


def _written_by_mlarray(meta: dict[str, Any]) -> bool:
    """Whether legacy metadata names this package as its writer (0.0.54 records ``"v0"``)."""
    version = meta.get("_mlarray_version")
    if isinstance(version, dict):  # our mapping form; 0.0.54 may store the bare value
        version = version.get("mlarray_version")
    return isinstance(version, str) and version != LEGACY_WRITER_VERSION


def _legacy_divergence(
    frame: FrameInfo, envelope: Envelope, decompress: ChunkDecoder | None
) -> tuple[dict[str, Any] | None, str | None]:
    """Compare the legacy entry with the one written together with ``envelope``.

    Returns:
        ``(metadata, problem)``: the legacy entry's metadata when it replaced the
        envelope's (``mlarray`` 0.0.54 edited the file in place), else None; and a
        description of the disagreement, or None when the entries belong together.

    Raises:
        UnsafeMetadataError: The legacy entry asks for code to run.
        CodecRequiredError: The legacy entry needs python-blosc2 to be decoded.
    """
    if envelope.legacy_crc32 is None:
        return None, None
    entry = f"vlmeta {LEGACY_KEY!r} (the metadata for mlarray 0.0.54)"
    if LEGACY_KEY not in frame.vlmeta:
        return None, f"{entry} written with vlmeta {ENVELOPE_KEY!r} is missing"
    try:
        payload = _binary(frame, LEGACY_KEY, decompress)
    except (UnsafeMetadataError, CodecRequiredError):
        raise
    except FileFormatError as exc:
        return None, f"{entry} is damaged: {exc}"
    found = legacy_fingerprint(payload)
    if found == envelope.legacy_crc32:
        return None, None
    changed = (
        f"{entry} is not the one written with vlmeta {ENVELOPE_KEY!r} (fingerprint "
        f"{found:08x}, recorded {envelope.legacy_crc32:08x})"
    )
    try:
        legacy = decode_legacy(payload, source=f"{frame.path}: vlmeta {LEGACY_KEY!r}")
    except UnsafeMetadataError:
        raise
    except FileFormatError as exc:
        return None, f"{changed} and cannot be decoded ({exc}); the metadata of 'mla' is used"
    if legacy == envelope.meta:
        return None, f"{changed}, but holds the same metadata: its bytes are damaged"
    return legacy, (
        f"{changed} and holds other metadata, which is used: mlarray 0.0.54 edited the "
        "file in place; the checksums stored with 'mla' still apply, so chunks it "
        "rewrote no longer match them"
    )


def _binary(frame: FrameInfo, name: str, decompress: ChunkDecoder | None) -> bytes:
    value = frame.vlmeta_value(name, decompress=decompress)
    if not isinstance(value, bytes):
        raise FileFormatError(
            f"{frame.path}: vlmeta {name!r}: expected a msgpack bin value, "
            f"found {type(value).__name__}"
        )
    return value


def _read_any_frame(path: str | os.PathLike[str]) -> FrameInfo:
    """The frame of a local file, or of an ``http(s)://`` URL (read with ``urllib``)."""
    return read_url_frame(path) if is_url(path) else read_frame(path)


def read_header_mapping(
    path: str | os.PathLike[str], *, decompress: ChunkDecoder | None = None
) -> HeaderMapping:
    """Read the array layout and metadata mapping of a ``.mla`` file.

    Only the frame's header and trailer are read, with the standard library alone.

    Args:
        path: The ``.mla`` file, or its ``http://``/``https://`` URL.
        decompress: Decodes metadata entries compressed with a real codec (entries
            set through python-blosc2's own vlmeta setter); ``mlarray`` passes
            blosc2's decompressor.
            Without it such files raise :class:`~mlarray_meta.errors.CodecRequiredError`.

    Returns:
        The header mapping.

    Raises:
        MLArrayFileError: The path is missing, a directory, or unreadable.
        FileFormatError: The file or its metadata entry is invalid (including
            :class:`~mlarray_meta.errors.UnsafeMetadataError` and
            :class:`~mlarray_meta.errors.UnsupportedVersionError`).
    """
    return HeaderMapping.from_frame(_read_any_frame(path), decompress=decompress)


@dataclass(frozen=True, slots=True)
class Header:
    """Everything a ``.mla`` file's header says, with the metadata as a :class:`Meta`.

    Attributes:
        meta: The file's metadata. For files without a metadata entry (plain blosc2
            frames) it is a default Meta with ``_has_array`` set from the shape.
        mapping: The raw header (frame description, metadata mapping, integrity record).
    """

    meta: Meta
    mapping: HeaderMapping

    @classmethod
    def from_frame(cls, frame: FrameInfo, *, decompress: ChunkDecoder | None = None) -> Header:
        """Decode the metadata of an already parsed frame into a :class:`Meta`.

        Args:
            frame: The parsed frame.
            decompress: Decodes entries the standard library cannot (see
                :meth:`FrameInfo.vlmeta_payload`).

        Raises:
            FileFormatError: The metadata is invalid, unsafe or from an incompatible
                newer format version.
        """
        mapping = HeaderMapping.from_frame(frame, decompress=decompress)
        try:
            meta = meta_from_file(mapping.meta, source=mapping.path)
        except MLArrayError as exc:
            raise FileFormatError(f"{mapping.path}: invalid metadata in the file: {exc}") from exc
        if mapping.origin is None:
            meta._set_facts(replace(meta._facts, has_array=mapping.shape != (0,)))
        return cls(meta=meta, mapping=mapping)

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape (``(0,)`` for a metadata-only file)."""
        return self.mapping.shape

    @property
    def dtype(self) -> str:
        """NumPy dtype string, e.g. ``'<i2'``."""
        return self.mapping.dtype

    @property
    def chunk_size(self) -> tuple[int, ...]:
        """Chunk shape of the stored array."""
        return self.mapping.chunks

    @property
    def block_size(self) -> tuple[int, ...]:
        """Block shape of the stored array."""
        return self.mapping.blocks


def read_header(path: str | os.PathLike[str], *, decompress: ChunkDecoder | None = None) -> Header:
    """Read shape, dtype, chunk/block sizes and the full :class:`Meta` of a ``.mla`` file.

    Uses the standard library alone and reads only the frame's header and trailer,
    for files written by mlarray and by the ``mlarray`` 0.0.54 package. A URL is read
    with HTTP range requests (usually two: the end of the file, then its start).

    Args:
        path: The ``.mla`` file, or its ``http://``/``https://`` URL.
        decompress: Decodes metadata entries compressed with a real codec (entries
            set through python-blosc2's own vlmeta setter); ``mlarray`` passes
            blosc2's decompressor.
            Without it such files raise :class:`~mlarray_meta.errors.CodecRequiredError`.

    Returns:
        The header.

    Raises:
        MLArrayFileError: The path is missing, a directory, or unreadable, or the
            URL's scheme is not http(s).
        RemoteFileError: The server cannot be reached, answers with an error status,
            ignores range requests for a file too large to download whole
            (:class:`~mlarray_meta.errors.RangeRequestsUnsupportedError`), or the file
            changes between the requests
            (:class:`~mlarray_meta.errors.RemoteFileChangedError`).
        FileFormatError: The file or its metadata is invalid, unsafe or from an
            incompatible newer format version.
    """
    return Header.from_frame(_read_any_frame(path), decompress=decompress)
