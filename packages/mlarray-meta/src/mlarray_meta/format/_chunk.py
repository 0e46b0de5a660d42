"""Decoding of the Blosc2 chunks that hold variable-length metadata (stdlib only).

python-blosc2 stores every vlmeta value as a small Blosc2 chunk. Without a codec
library we can decode the chunks that need none:

* *memcpyed* chunks (flag bit 1): the payload follows the 32-byte header verbatim;
* *special* chunks whose whole content is a run of zeros or of one repeated value.

Every other chunk is stored as compressed blocks (BloscLZ, LZ4, Zlib, ZSTD, ...)
and raises :class:`~mlarray_meta.errors.CodecRequiredError` saying which codec;
``mlarray`` decodes those with blosc2. mlarray writes its metadata memcpyed, and
so does python-blosc2 for ``mlarray`` 0.0.54's incompressible entries.
The layout is c-blosc2's ``README_CHUNK_FORMAT.rst``; ``docs/format.md`` has the
subset used here.
"""

from __future__ import annotations

import struct
from typing import Final

from mlarray_meta.errors import CodecRequiredError, FileFormatError, UnsafeMetadataError

__all__ = ["HEADER_SIZE", "check_chunk_header", "decode_chunk"]

HEADER_SIZE: Final = 32
"""Size of the Blosc2 extended chunk header."""

_FLAG_SHUFFLE: Final = 0x01
_FLAG_MEMCPYED: Final = 0x02
_FLAG_BITSHUFFLE: Final = 0x04
_EXTENDED: Final = _FLAG_SHUFFLE | _FLAG_BITSHUFFLE  # both bits set marks the extended header
_BLOSC2_LAZY: Final = 0x08
_MAX_CHUNK_VERSION: Final = 6  # BLOSC2_VERSION_FORMAT_VL_BLOCKS


_SPECIAL_ZERO: Final = 1
_SPECIAL_NAN: Final = 2
_SPECIAL_VALUE: Final = 3
_SPECIAL_UNINIT: Final = 4

_CODEC_NAMES: Final = {0: "BloscLZ", 1: "LZ4 or LZ4HC", 3: "Zlib", 4: "ZSTD"}
_USER_CODEC_FORMAT: Final = 6


def _fail(source: str, problem: str) -> FileFormatError:
    return FileFormatError(f"{source}: {problem}")


def _codec_name(header: bytes) -> str:
    codec_format = header[2] >> 5
    if codec_format == _USER_CODEC_FORMAT:
        return f"user-defined codec {header[22]}"
    return _CODEC_NAMES.get(codec_format, f"codec format {codec_format}")


def _needs_blosc2(source: str, reason: str) -> CodecRequiredError:
    return CodecRequiredError(
        f"{source}: {reason}; reading it needs python-blosc2 (pip install blosc2), "
        "or re-save the file with mlarray so the entry is stored uncompressed"
    )


def decode_chunk(chunk: bytes, *, source: str, max_nbytes: int) -> bytes:
    """Return the uncompressed bytes of one Blosc2 chunk, if no codec is needed.

    Args:
        chunk: The complete chunk (32-byte extended header plus data).
        source: Names the chunk in error messages (file and vlmeta entry).
        max_nbytes: Largest uncompressed size accepted.

    Returns:
        The chunk's uncompressed content.

    Raises:
        FileFormatError: The chunk is malformed, or needs a codec or filter that only
            python-blosc2 provides.
        UnsafeMetadataError: The chunk declares more than ``max_nbytes`` uncompressed bytes.
    """
    if len(chunk) < HEADER_SIZE:
        raise _fail(source, f"chunk header: expected {HEADER_SIZE} bytes, found {len(chunk)}")
    version, flags, typesize = chunk[0], chunk[2], chunk[3]
    nbytes, _, cbytes = struct.unpack_from("<iii", chunk, 4)
    if not 1 <= version <= _MAX_CHUNK_VERSION:
        raise _fail(
            source, f"chunk format version: expected 1..{_MAX_CHUNK_VERSION}, found {version}"
        )
    if flags & _EXTENDED != _EXTENDED:
        raise _fail(source, f"chunk flags: expected a Blosc2 extended header, found 0x{flags:02x}")
    if typesize == 0:
        raise _fail(source, "chunk typesize: expected 1..255, found 0")
    if cbytes != len(chunk):
        raise _fail(
            source, f"chunk cbytes: expected {len(chunk)} (the stored size), found {cbytes}"
        )
    if nbytes < 0:
        raise _fail(source, f"chunk nbytes: expected >= 0, found {nbytes}")
    if nbytes > max_nbytes:
        raise UnsafeMetadataError(
            f"{source}: chunk declares {nbytes} uncompressed bytes, above the limit of {max_nbytes}"
        )
    blosc2_flags = chunk[31]
    if blosc2_flags & _BLOSC2_LAZY:
        raise _fail(source, "chunk flags: a lazy chunk cannot be stored in a file")
    special = (blosc2_flags >> 4) & 0x07
    if special:
        return _special(chunk, special, nbytes, typesize, source)
    if flags & _FLAG_MEMCPYED:
        if cbytes != HEADER_SIZE + nbytes:
            raise _fail(
                source, f"memcpyed chunk: expected {HEADER_SIZE + nbytes} bytes, found {cbytes}"
            )
        return chunk[HEADER_SIZE:]
    if nbytes == 0:
        return b""
    # Chunks stored as blocks of streams are left to blosc2: their layout has grown
    # variants (split modes, leftover bytes, run-length streams) that a second
    # decoder would have to follow exactly, and a near miss decodes wrong bytes.
    raise _needs_blosc2(source, f"the chunk is compressed with {_codec_name(chunk)}")


def check_chunk_header(
    header: bytes, *, source: str, typesize: int | None, nbytes: int, room: int
) -> int:
    """Check the header of a chunk that a decompressor is about to trust; return its size.

    Blosc2 follows the sizes in a chunk header without checking them against the
    frame, so a damaged header can make it read or write out of bounds. This checks
    them against what the frame says every chunk must be.

    Args:
        header: The chunk's first :data:`HEADER_SIZE` bytes (fewer if the file ends).
        source: Names the chunk in error messages (file and chunk number).
        typesize: The item size every chunk of the frame shares; None to skip the check.
        nbytes: The uncompressed size the chunk must declare.
        room: Bytes from the chunk's start to the end of the region holding it.

    Returns:
        The chunk's stored size (cbytes), at most ``room``.

    Raises:
        FileFormatError: A field is out of range or disagrees with the frame.
    """
    if len(header) < HEADER_SIZE:
        raise _fail(source, f"chunk header: expected {HEADER_SIZE} bytes, found {len(header)}")
    version, flags, chunk_typesize = header[0], header[2], header[3]
    declared, blocksize, cbytes = struct.unpack_from("<iii", header, 4)
    problems: list[str] = []
    if not 1 <= version <= _MAX_CHUNK_VERSION:
        problems.append(f"format version {version} (expected 1..{_MAX_CHUNK_VERSION})")
    if flags & _EXTENDED != _EXTENDED:
        problems.append(f"flags 0x{flags:02x} (expected a Blosc2 extended header)")
    if typesize is not None and chunk_typesize != typesize:
        problems.append(f"typesize {chunk_typesize} (expected {typesize})")
    if declared != nbytes:
        problems.append(f"nbytes {declared} (expected {nbytes})")
    if not HEADER_SIZE <= cbytes <= room:
        problems.append(f"cbytes {cbytes} (expected {HEADER_SIZE}..{room})")
    special = (header[31] >> 4) & 0x07
    if header[31] & _BLOSC2_LAZY or special > _SPECIAL_UNINIT:
        problems.append(f"blosc2 flags 0x{header[31]:02x} (a lazy or unknown special chunk)")
    elif special:
        pass  # a run of one value: no blocks, the decompressor only fills
    elif not 0 < blocksize <= max(nbytes, 1):
        problems.append(f"blocksize {blocksize} (expected 1..{nbytes})")
    elif flags & _FLAG_MEMCPYED:
        if cbytes != HEADER_SIZE + nbytes:
            problems.append(f"memcpyed chunk of {cbytes} bytes (expected {HEADER_SIZE + nbytes})")
    elif HEADER_SIZE + 4 * -(-nbytes // blocksize) > cbytes:
        problems.append(f"{-(-nbytes // blocksize)} block offsets do not fit in {cbytes} bytes")
    if problems:
        raise _fail(source, "damaged chunk header: " + "; ".join(problems))
    return int(cbytes)


def _special(chunk: bytes, special: int, nbytes: int, typesize: int, source: str) -> bytes:
    if special == _SPECIAL_ZERO:
        return bytes(nbytes)
    if special == _SPECIAL_VALUE:
        if len(chunk) < HEADER_SIZE + typesize or nbytes % typesize:
            raise _fail(source, "special value chunk: the repeated value is missing or misaligned")
        return chunk[HEADER_SIZE : HEADER_SIZE + typesize] * (nbytes // typesize)
    if special in (_SPECIAL_NAN, _SPECIAL_UNINIT):
        kind = "NaN" if special == _SPECIAL_NAN else "uninitialized"
        raise _fail(source, f"special chunk: a run of {kind} values cannot hold metadata")
    raise _fail(source, f"special chunk kind: expected 1..4, found {special}")
