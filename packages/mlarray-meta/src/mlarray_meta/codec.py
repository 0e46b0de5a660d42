"""The metadata codecs of the ``.mla`` format (standard library only).

Two vlmeta entries can hold a file's metadata:

* ``"mla"`` (:data:`ENVELOPE_KEY`), written by this package: UTF-8 JSON of a small
  versioned envelope ``{"format": "mla", "format_version": "1.0", "meta": {...}}``
  with optional ``"integrity"`` and ``"legacy_crc32"`` members. See
  :func:`encode_envelope` and :func:`decode_envelope`.
* ``"mlarray"`` (:data:`LEGACY_KEY`), written by the ``mlarray`` 0.0.54 package:
  gzip of a pickle. It is decoded by :func:`decode_legacy` with a restricted
  unpickler that builds nothing but plain lists, dicts and scalars, and is written
  by :func:`encode_legacy` so that users of the old package can open our files.

Every decoder caps the size of what it reads and the nesting depth of what it
returns, and reports problems as :class:`~mlarray_meta.errors.FileFormatError`
(or its subclasses) naming the source and the member at fault.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Final, NoReturn

from mlarray_meta._legacy import MAX_LEGACY_BYTES, decode_legacy, encode_legacy
from mlarray_meta._plain import MAX_DEPTH, PlainDataError, to_plain
from mlarray_meta.errors import (
    FileFormatError,
    MetaTypeError,
    MetaValidationError,
    UnsafeMetadataError,
    UnsupportedVersionError,
)

__all__ = [
    "ENVELOPE_KEY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LEGACY_KEY",
    "LEGACY_WRITER_VERSION",
    "MAX_ENVELOPE_BYTES",
    "MAX_LEGACY_BYTES",
    "Envelope",
    "decode_envelope",
    "decode_legacy",
    "encode_envelope",
    "encode_legacy",
    "legacy_fingerprint",
]

ENVELOPE_KEY: Final = "mla"
"""vlmeta key of the JSON envelope written by this package."""
LEGACY_KEY: Final = "mlarray"
"""vlmeta key of the gzip-pickle metadata of the ``mlarray`` 0.0.54 package."""
LEGACY_WRITER_VERSION: Final = "v0"
"""The ``_mlarray_version`` that ``mlarray`` 0.0.54 records in the metadata it writes."""
FORMAT_NAME: Final = "mla"
"""Value of the envelope's ``"format"`` member."""
FORMAT_VERSION: Final = (1, 0)
"""Envelope version written; files with the same major version are readable."""
MAX_ENVELOPE_BYTES: Final = 64 * 2**20
"""Largest envelope (JSON bytes) written or read."""

# A JSON string literal, as "unrolled loop": runs of plain bytes matched in one step
# (one alternation per byte took 0.5 s per MiB of string).
_JSON_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(set(range(256)) - set(b"[]{}"))
_VERSION_TEXT: Final = re.compile(r"(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded ``"mla"`` envelope.

    Attributes:
        format_version: ``(major, minor)`` of the writer; the major equals ours.
        meta: The ``Meta.to_mapping()`` dict (plain JSON data).
        integrity: The integrity record (per-chunk checksums), or None if absent.
        legacy_crc32: :func:`legacy_fingerprint` of the legacy entry written together
            with this envelope, or None if none was written.
    """

    format_version: tuple[int, int]
    meta: dict[str, Any]
    integrity: dict[str, Any] | None
    legacy_crc32: int | None = None


def legacy_fingerprint(payload: bytes) -> int:
    """Return the CRC-32 of a legacy entry's bytes (the msgpack bin value, i.e. the gzip).

    A writer that stores both entries records it in the envelope; a reader that finds
    a legacy entry with another fingerprint knows that an older writer (``mlarray``
    0.0.54 saving metadata in place) replaced the legacy entry after the envelope.
    """
    return zlib.crc32(payload) & 0xFFFFFFFF


def encode_envelope(
    meta_mapping: dict[str, Any],
    *,
    integrity: dict[str, Any] | None = None,
    legacy_crc32: int | None = None,
) -> bytes:
    """Encode metadata as the UTF-8 JSON envelope stored under :data:`ENVELOPE_KEY`.

    Args:
        meta_mapping: The ``Meta.to_mapping()`` dict.
        integrity: Optional integrity record, carried verbatim.
        legacy_crc32: The :func:`legacy_fingerprint` of the legacy entry stored with
            this envelope, if one is.

    Returns:
        The envelope's JSON bytes.

    Raises:
        MetaTypeError: A value is not JSON data (str, int, float, bool, None, list, dict).
        MetaValidationError: A float is NaN or infinite, the data is nested deeper than
            the limit, or the envelope would exceed :data:`MAX_ENVELOPE_BYTES`.
    """
    try:
        meta = to_plain(meta_mapping, root="meta", max_nodes=MAX_ENVELOPE_BYTES)
        extra = to_plain(integrity, root="integrity", max_nodes=MAX_ENVELOPE_BYTES)
    except PlainDataError as exc:
        error = MetaValidationError if exc.limit else MetaTypeError
        raise error(f"metadata cannot be stored as JSON: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(extra, dict | None):
        raise MetaTypeError(
            "metadata cannot be stored as JSON: meta and integrity must be mappings"
        )
    envelope: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}",
        "meta": meta,
    }
    if extra is not None:
        envelope["integrity"] = extra
    if legacy_crc32 is not None:
        envelope["legacy_crc32"] = legacy_crc32
    try:
        text = json.dumps(envelope, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError as exc:
        raise MetaValidationError(f"metadata cannot be stored as strict JSON: {exc}") from None
    data = text.encode("utf-8")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise MetaValidationError(
            f"metadata is {len(data)} bytes as JSON; the limit is {MAX_ENVELOPE_BYTES}"
        )
    return data


def _nesting_depth(data: bytes) -> int:
    """Deepest nesting of JSON arrays and objects in ``data``, without parsing it.

    Strings are cut out first (they may contain brackets); what is left of the
    brackets is counted. Cheaper than walking the parsed result, and it runs
    before ``json.loads`` so that deep input never reaches the parser.
    """
    brackets = _JSON_STRING.sub(b"", bytes(data)).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if byte in b"[{" else -1 for byte in brackets), default=0)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid in strict JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def decode_envelope(data: bytes, *, source: str) -> Envelope:
    """Decode and check the JSON envelope stored under :data:`ENVELOPE_KEY`.

    Args:
        data: The envelope's bytes.
        source: Names the data in error messages (e.g. ``"x.mla: vlmeta 'mla'"``).

    Returns:
        The decoded envelope. Members other than ``format``, ``format_version``,
        ``meta``, ``integrity`` and ``legacy_crc32`` are ignored (a newer minor version
        may add some).

    Raises:
        UnsafeMetadataError: The data exceeds :data:`MAX_ENVELOPE_BYTES`.
        UnsupportedVersionError: The envelope was written by a newer major version.
        FileFormatError: The data is not strict UTF-8 JSON, is nested too deeply, or a
            member is missing or has the wrong type.
    """
    if len(data) > MAX_ENVELOPE_BYTES:
        raise UnsafeMetadataError(
            f"{source}: {len(data)} bytes of metadata, above the limit of {MAX_ENVELOPE_BYTES}"
        )
    if _nesting_depth(data) > MAX_DEPTH:
        raise FileFormatError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        envelope = json.loads(
            bytes(data).decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise FileFormatError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise FileFormatError(f"{source}: not valid metadata JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise FileFormatError(f"{source}: expected a JSON object, found {_json_type(envelope)}")
    if envelope.get("format") != FORMAT_NAME:
        raise _member(source, "format", f"the string {FORMAT_NAME!r}", envelope.get("format"))
    version = _version(envelope.get("format_version"), source)
    meta = envelope.get("meta")
    if not isinstance(meta, dict):
        raise _member(source, "meta", "an object", meta)
    integrity = envelope.get("integrity")
    if integrity is not None and not isinstance(integrity, dict):
        raise _member(source, "integrity", "an object", integrity)
    fingerprint = envelope.get("legacy_crc32")
    if fingerprint is not None and not (type(fingerprint) is int and 0 <= fingerprint < 2**32):
        raise _member(source, "legacy_crc32", "an integer in [0, 2**32)", fingerprint)
    return Envelope(
        format_version=version, meta=meta, integrity=integrity, legacy_crc32=fingerprint
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _member(source: str, name: str, expected: str, found: Any) -> FileFormatError:
    what = "missing" if found is None else _json_type(found)
    return FileFormatError(f"{source}: member {name!r}: expected {expected}, found {what}")


def _version(value: Any, source: str) -> tuple[int, int]:
    match = _VERSION_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _member(source, "format_version", "a string 'MAJOR.MINOR'", value)
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] > FORMAT_VERSION[0]:
        raise UnsupportedVersionError(
            f"{source}: written by format {version[0]}.x, this reader supports "
            f"{FORMAT_VERSION[0]}.x; upgrade mlarray-meta"
        )
    if version[0] < FORMAT_VERSION[0]:
        raise FileFormatError(
            f"{source}: member 'format_version': expected {FORMAT_VERSION[0]}.x, found {value}"
        )
    return version
