"""Byte-level parsing of a Blosc2 contiguous frame's header and trailer (stdlib only).

The layout is c-blosc2's ``README_CFRAME_FORMAT.rst`` (as c-blosc2 actually writes
it); ``docs/format.md`` describes the part used here. Every function checks the
bytes it reads and raises :class:`~mlarray_meta.errors.FileFormatError` naming the
source, the field, what was expected and what was found.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from mlarray_meta.errors import FileFormatError, UnsupportedVersionError
from mlarray_meta.format._chunk import HEADER_SIZE as CHUNK_HEADER_SIZE
from mlarray_meta.format._msgpack import unpack_from

__all__ = [
    "HEADER_MIN",
    "MAX_HEADER_BYTES",
    "MAX_METALAYERS",
    "MAX_TRAILER_BYTES",
    "FixedFields",
    "fail",
    "parse_fixed_fields",
    "parse_metalayers",
    "parse_trailer",
    "trailer_length",
]

MAX_HEADER_BYTES: Final = 64 * 2**20
"""Largest frame header (fixed fields plus metalayers) the reader accepts."""
MAX_TRAILER_BYTES: Final = 256 * 2**20
"""Largest frame trailer (all vlmeta entries together) the reader accepts."""
HEADER_MIN: Final = 87
"""Size of the fixed header fields; the metalayer section starts here."""
MAX_METALAYERS: Final = 16
"""Most fixed metalayers a header may hold (c-blosc2's ``BLOSC2_MAX_METALAYERS``)."""

_TRAILER_MIN: Final = 25
_TRAILER_END: Final = 23  # 0xce + uint32 trailer length + fixext16 fingerprint
_MAGIC: Final = b"\xa8b2frame\x00"
_MAX_FRAME_VERSION: Final = 3
_TRAILER_VERSION: Final = 1
_MAX_VLMETALAYERS: Final = 8192
_MAX_NAME_BYTES: Final = 31
_HEADER_MARKERS: Final = (
    (10, 0xD2, "header length"),
    (15, 0xCF, "frame length"),
    (24, 0xA4, "flags"),
    (29, 0xD3, "uncompressed size"),
    (38, 0xD3, "compressed size"),
    (47, 0xD2, "typesize"),
    (52, 0xD2, "blocksize"),
    (57, 0xD2, "chunksize"),
    (62, 0xD1, "compression threads"),
    (65, 0xD1, "decompression threads"),
    (69, 0xD8, "filter pipeline"),
)
_FRAME_CODECS: Final = {0: "blosclz", 1: "lz4", 2: "lz4hc", 4: "zlib", 5: "zstd"}
_USER_CODEC: Final = 6


@dataclass(frozen=True, slots=True)
class FixedFields:
    """The fixed fields at the start of the frame header."""

    header_length: int
    format_version: int
    codec: str
    clevel: int
    nbytes: int
    cbytes: int
    typesize: int
    blocksize: int
    chunksize: int


def fail(source: str, field: str, expected: str, found: object) -> FileFormatError:
    """Build the error for a field that does not hold what it should."""
    return FileFormatError(f"{source}: {field}: expected {expected}, found {found}")


def parse_fixed_fields(head: bytes, size: int, source: str) -> FixedFields:
    """Check the msgpack markers of the first 87 bytes and return the fields they hold.

    Args:
        head: The first bytes of the frame (at least 87 unless the file is shorter).
        size: The size of the file (or buffer) holding the frame.
        source: Names the frame in error messages.
    """
    if len(head) < HEADER_MIN:
        raise fail(source, "frame header", f"at least {HEADER_MIN} bytes", f"a {size}-byte file")
    if head[0] & 0xF0 != 0x90 or head[1:10] != _MAGIC:
        raise FileFormatError(
            f"{source}: not a Blosc2 frame: expected the magic b'b2frame\\x00' at byte 2, "
            f"found {head[2:10]!r}"
        )
    for offset, marker, name in _HEADER_MARKERS:
        if head[offset] != marker:
            found = f"0x{head[offset]:02x}"
            raise fail(
                source, f"frame header {name}", f"marker 0x{marker:02x} at byte {offset}", found
            )
    if head[68] not in (0xC2, 0xC3):
        raise fail(source, "frame header vlmeta flag", "a msgpack bool at byte 68", hex(head[68]))
    (header_length,) = struct.unpack_from(">i", head, 11)
    (frame_length,) = struct.unpack_from(">Q", head, 16)
    general, frame_type, codec_flags = head[25], head[26], head[27]
    nbytes, cbytes = struct.unpack_from(">q", head, 30)[0], struct.unpack_from(">q", head, 39)[0]
    typesize, blocksize, chunksize = (struct.unpack_from(">i", head, at)[0] for at in (48, 53, 58))
    if frame_length != size:
        raise fail(
            source, "frame length", f"{size} (the file size)", f"{frame_length} (truncated?)"
        )
    if not HEADER_MIN <= header_length <= min(size, MAX_HEADER_BYTES):
        limit = min(size, MAX_HEADER_BYTES)
        raise fail(source, "header length", f"{HEADER_MIN}..{limit} bytes", header_length)
    version = general & 0x0F
    if version > _MAX_FRAME_VERSION:
        raise UnsupportedVersionError(
            f"{source}: Blosc2 frame format version {version}; this reader supports up to "
            f"{_MAX_FRAME_VERSION}; upgrade mlarray-meta"
        )
    if version == 0 or (general >> 4) & 0x03 != 1 or frame_type & 0x0F != 0:
        found = f"flags 0x{general:02x}, frame type 0x{frame_type:02x}"
        raise fail(source, "frame flags", "a contiguous frame with 64-bit offsets", found)
    checks = (("uncompressed size", nbytes), ("compressed size", cbytes), ("blocksize", blocksize))
    for name, value in (*checks, ("chunksize", chunksize)):
        if value < 0:
            raise fail(source, name, "a value >= 0", value)
    if typesize <= 0:
        raise fail(source, "typesize", "a value >= 1", typesize)
    codec = codec_flags & 0x0F
    if codec == _USER_CODEC:
        codec = head[77]
    return FixedFields(
        header_length=header_length,
        format_version=version,
        codec=_FRAME_CODECS.get(codec, f"codec {codec}"),
        clevel=codec_flags >> 4,
        nbytes=nbytes,
        cbytes=cbytes,
        typesize=typesize,
        blocksize=blocksize,
        chunksize=chunksize,
    )


def trailer_length(tail: bytes, size: int, fixed: FixedFields, source: str) -> int:
    """Read the trailer length stored at the end of the frame; check where it puts the trailer.

    Args:
        tail: The last bytes of the frame (at least 87).
        size: The size of the frame.
        fixed: The frame's fixed header fields.
        source: Names the frame in error messages.
    """
    if tail[-_TRAILER_END] != 0xCE:
        found = f"0x{tail[-_TRAILER_END]:02x}"
        raise fail(source, "trailer length", f"marker 0xce at byte {size - _TRAILER_END}", found)
    length = int.from_bytes(tail[1 - _TRAILER_END : 5 - _TRAILER_END], "big")
    room = size - fixed.header_length
    if not _TRAILER_MIN <= length <= min(room, MAX_TRAILER_BYTES):
        limit = min(room, MAX_TRAILER_BYTES)
        raise fail(source, "trailer length", f"{_TRAILER_MIN}..{limit} bytes", length)
    offset = size - length
    if fixed.nbytes == 0:
        if offset != fixed.header_length:
            where = f"at byte {fixed.header_length} (right after the header)"
            raise fail(source, "trailer offset", where, offset)
    elif offset < fixed.header_length + fixed.cbytes + CHUNK_HEADER_SIZE:
        expected = f"after the {fixed.cbytes} bytes of chunks and their index"
        raise fail(source, "trailer offset", expected, offset)
    return length


def parse_trailer(trailer: bytes, source: str) -> dict[str, bytes]:
    """Check the trailer's framing and return its vlmeta entries (name to raw chunk)."""
    if trailer[0] != 0x94:
        raise fail(source, "trailer", "a msgpack array of 4 (0x94)", f"0x{trailer[0]:02x}")
    version = trailer[1]
    if _TRAILER_VERSION < version <= 0x7F:
        raise UnsupportedVersionError(
            f"{source}: Blosc2 frame trailer version {version}; this reader supports "
            f"{_TRAILER_VERSION}; upgrade mlarray-meta"
        )
    if version != _TRAILER_VERSION:
        raise fail(source, "trailer version", str(_TRAILER_VERSION), version)
    end = trailer[-_TRAILER_END:]
    if end[5] != 0xD8 or end[6] > 3:
        found = f"0x{end[5]:02x} 0x{end[6]:02x}"
        raise fail(source, "trailer fingerprint", "0xd8 then a type in 0..3", found)
    body = trailer[:-_TRAILER_END]
    return parse_metalayers(body, 2, f"{source}: vlmeta", _MAX_VLMETALAYERS)


def parse_metalayers(buf: bytes, start: int, where: str, max_entries: int) -> dict[str, bytes]:
    """Decode a metalayer section: ``[index size, {name: offset}, [bin32 content, ...]]``.

    Offsets count from the start of ``buf``; each must point at a bin32 value.
    """
    if start >= len(buf) or buf[start] != 0x93:
        found = f"0x{buf[start]:02x}" if start < len(buf) else "the end of the data"
        raise fail(where, "section", f"a msgpack array of 3 (0x93) at byte {start}", found)
    index_size, pos = unpack_from(buf, start + 1, source=where, max_depth=0)
    if isinstance(index_size, bool) or not isinstance(index_size, int):
        raise fail(where, "index size", "an integer", type(index_size).__name__)
    index, pos = unpack_from(buf, pos, source=where, max_depth=1)
    if not isinstance(index, dict) or len(index) > max_entries:
        found = f"{len(index)} entries" if isinstance(index, dict) else type(index).__name__
        raise fail(where, "index", f"a map of at most {max_entries} names", found)
    if buf[pos : pos + 1] != b"\xdc" or buf[pos + 1 : pos + 3] != len(index).to_bytes(2, "big"):
        raise fail(
            where, "values", f"a msgpack array16 of {len(index)} at byte {pos}", buf[pos : pos + 3]
        )
    contents: dict[str, bytes] = {}
    for name, offset in index.items():
        if not isinstance(name, str) or not 0 < len(name.encode()) <= _MAX_NAME_BYTES:
            raise fail(where, "name", f"a string of 1..{_MAX_NAME_BYTES} bytes", repr(name))
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or not pos + 3 <= offset < len(buf)
        ):
            raise fail(
                where, f"offset of {name!r}", f"a position in {pos + 3}..{len(buf) - 1}", offset
            )
        if buf[offset] != 0xC6:
            raise fail(
                where, f"value of {name!r}", f"a bin32 (0xc6) at byte {offset}", hex(buf[offset])
            )
        contents[name], _ = unpack_from(buf, offset, source=f"{where} {name!r}", max_depth=0)
    return contents
