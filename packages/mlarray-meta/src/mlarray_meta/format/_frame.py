"""Standard-library reader of a ``.mla`` file's Blosc2 frame header and trailer.

A ``.mla`` file is one Blosc2 contiguous frame: a header (fixed fields plus the
``b2nd`` metalayer), the compressed chunks, and a trailer holding the
variable-length metalayers (vlmeta) where the metadata lives. :func:`read_frame`
reads only the header and the trailer (a few KiB at each end of the file, one or
two reads each), so it costs the same for a 100-byte and a 100-GB file, and it
validates every field against the file size before using it. The byte layout is
in ``docs/format.md``.
"""

from __future__ import annotations

import mmap
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from mlarray_meta.errors import CodecRequiredError, FileFormatError, MLArrayFileError
from mlarray_meta.format._b2nd import expected_sizes, parse_b2nd
from mlarray_meta.format._cframe import (
    HEADER_MIN,
    MAX_HEADER_BYTES,
    MAX_METALAYERS,
    MAX_TRAILER_BYTES,
    fail,
    parse_fixed_fields,
    parse_metalayers,
    parse_trailer,
    trailer_length,
)
from mlarray_meta.format._chunk import decode_chunk
from mlarray_meta.format._msgpack import unpackb

__all__ = [
    "ChunkDecoder",
    "MAX_HEADER_BYTES",
    "MAX_TRAILER_BYTES",
    "MAX_VLMETA_BYTES",
    "FrameInfo",
    "parse_frame",
    "read_frame",
    "read_frame_descriptor",
]

MAX_VLMETA_BYTES: Final = 256 * 2**20
"""Largest uncompressed size one vlmeta entry may declare."""

ChunkDecoder = Callable[[bytes], bytes]
"""Decodes a whole Blosc2 chunk (for entries compressed with a real codec)."""

_PREFETCH: Final = 4096
_WHOLE_FILE: Final = 64 * 1024

_Reader = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What the header and trailer of a Blosc2 frame say.

    Attributes:
        path: The file read, or the name given to :func:`parse_frame`.
        frame_length: Size of the frame in bytes (equal to the file size).
        header_length: Size of the frame header, metalayers included.
        trailer_length: Size of the frame trailer, vlmeta included.
        format_version: Blosc2 frame format version (low nibble of the general flags).
        typesize: Size of one array item in bytes.
        chunksize: Uncompressed size of one chunk in bytes (0 for an empty array).
        blocksize: Block size recorded in the frame header (0 means "per chunk").
        nbytes: Uncompressed size of all chunks (whole chunks, edges padded).
        cbytes: Compressed size of all chunks.
        nchunks: Number of chunks stored.
        codec: Default codec of the frame's chunks (``'zstd'``, ``'lz4hc'``, ...).
        clevel: Default compression level of the frame's chunks.
        shape: Array shape from the ``b2nd`` metalayer.
        chunks: Chunk shape.
        blocks: Block shape.
        dtype: NumPy dtype string, e.g. ``'<i2'``.
        metalayers: Fixed metalayers of the header, name to raw content (``'b2nd'``, ...).
        vlmeta: Variable-length metalayers of the trailer, name to the raw Blosc2 chunk
            holding the msgpack-encoded value. Decode one with :meth:`vlmeta_value`.
    """

    path: str
    frame_length: int
    header_length: int
    trailer_length: int
    format_version: int
    typesize: int
    chunksize: int
    blocksize: int
    nbytes: int
    cbytes: int
    nchunks: int
    codec: str
    clevel: int
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]
    dtype: str
    metalayers: Mapping[str, bytes]
    vlmeta: Mapping[str, bytes]

    def vlmeta_payload(self, name: str, *, decompress: ChunkDecoder | None = None) -> bytes:
        """Return the msgpack bytes stored in vlmeta entry ``name``.

        Args:
            name: The entry.
            decompress: Decodes a chunk the standard library cannot (one compressed
                with a real codec, as python-blosc2's vlmeta setter writes);
                core passes blosc2's decompressor. Without it such an entry raises.

        Raises:
            KeyError: The frame has no such entry.
            FileFormatError: The entry's chunk is malformed, or needs a codec that only
                python-blosc2 provides and no ``decompress`` was given
                (:class:`~mlarray_meta.errors.CodecRequiredError`).
        """
        source = f"{self.path}: vlmeta {name!r}"
        chunk = self.vlmeta[name]
        try:
            return decode_chunk(chunk, source=source, max_nbytes=MAX_VLMETA_BYTES)
        except CodecRequiredError:
            if decompress is None:
                raise
            return decompress(chunk)

    def vlmeta_value(self, name: str, *, decompress: ChunkDecoder | None = None) -> Any:
        """Return the decoded msgpack value of vlmeta entry ``name``.

        A value that python-blosc2 stored from ``bytes`` comes back as ``bytes``.

        Raises:
            KeyError: The frame has no such entry.
            FileFormatError: The entry cannot be decoded (see :meth:`vlmeta_payload`).
        """
        payload = self.vlmeta_payload(name, decompress=decompress)
        return unpackb(payload, source=f"{self.path}: vlmeta {name!r}")


def read_frame(path: str | os.PathLike[str]) -> FrameInfo:
    """Read the header and trailer of the Blosc2 frame stored at ``path``.

    Args:
        path: A ``.mla`` (or ``.b2nd``) file holding one contiguous frame.

    Returns:
        The frame's description; vlmeta values stay undecoded until asked for.

    Raises:
        MLArrayFileError: The path does not exist, is a directory, is not a regular
            file, or cannot be read.
        FileFormatError: The bytes are not a valid frame (truncated, corrupted, ...).
    """
    source = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        raise _directory(source) from None
    except OSError as exc:
        raise MLArrayFileError(f"{source}: cannot open the file: {exc.strerror}") from None
    try:
        return read_frame_descriptor(fd, source=source)
    finally:
        os.close(fd)


def read_frame_descriptor(fd: int, *, source: str) -> FrameInfo:
    """Read the frame of the file open as descriptor ``fd`` (positioned reads only).

    Everything comes from the file the descriptor refers to, even if its path is
    renamed over or removed meanwhile.

    Args:
        fd: A descriptor opened for reading.
        source: Names the file in error messages and in :attr:`FrameInfo.path`.

    Returns:
        The frame's description.

    Raises:
        MLArrayFileError: The descriptor is not a regular file, or cannot be read.
        FileFormatError: The bytes are not a valid frame.
    """
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _directory(source)
        if not stat.S_ISREG(info.st_mode):
            raise MLArrayFileError(f"{source}: not a regular file")
        return _parse(_descriptor_reader(fd, info.st_size, source), info.st_size, source)
    except OSError as exc:
        raise MLArrayFileError(f"{source}: cannot read the file: {exc.strerror}") from None


def _directory(source: str) -> MLArrayFileError:
    return MLArrayFileError(
        f"{source}: is a directory; expected a file holding one Blosc2 contiguous frame"
    )


def parse_frame(data: bytes | memoryview | mmap.mmap, *, source: str = "<bytes>") -> FrameInfo:
    """Parse a Blosc2 frame held in memory (e.g. ``NDArray.to_cframe()``, a mapped file).

    Only the header and trailer are copied out of ``data``.

    Args:
        data: The whole frame (any buffer).
        source: Names the frame in error messages and in :attr:`FrameInfo.path`.

    Returns:
        The frame's description.

    Raises:
        FileFormatError: The bytes are not a valid frame.
    """
    with memoryview(data) as view, view.cast("B") as flat:
        return _parse(lambda offset, size: bytes(flat[offset : offset + size]), len(flat), source)


def _descriptor_reader(fd: int, size: int, source: str) -> _Reader:
    def read(offset: int, count: int) -> bytes:
        data = os.pread(fd, count, offset)
        if len(data) != count:
            raise FileFormatError(
                f"{source}: expected {count} bytes at offset {offset}, found {len(data)} "
                "(the file changed while it was read)"
            )
        return data

    if size <= _WHOLE_FILE:  # one read is cheaper than two
        whole = read(0, size)
        return lambda offset, count: whole[offset : offset + count]
    return read


def _parse(read: _Reader, size: int, source: str) -> FrameInfo:
    if size == 0:
        raise FileFormatError(f"{source}: the file is empty (0 bytes); expected a Blosc2 frame")
    head = read(0, min(size, _PREFETCH))
    fixed = parse_fixed_fields(head, size, source)
    length = fixed.header_length
    header = head[:length] if length <= len(head) else read(0, length)
    metalayers = parse_metalayers(
        header, HEADER_MIN, f"{source}: header metalayers", MAX_METALAYERS
    )
    if "b2nd" not in metalayers:
        raise fail(source, "header metalayers", "a 'b2nd' entry", sorted(metalayers))
    b2nd = parse_b2nd(metalayers["b2nd"], source=source, typesize=fixed.typesize)
    expected = expected_sizes(b2nd, fixed.typesize)
    chunk_bytes, total = expected or (fixed.chunksize, 0)
    if fixed.chunksize != chunk_bytes:
        raise fail(
            source, "chunksize", f"{chunk_bytes} (from chunks, blocks, typesize)", fixed.chunksize
        )
    if fixed.nbytes != total:
        raise fail(source, "uncompressed size", f"{total} (from shape and chunks)", fixed.nbytes)
    tail = read(size - min(size, _PREFETCH), min(size, _PREFETCH))
    trailer_size = trailer_length(tail, size, fixed, source)
    trailer = (
        tail[-trailer_size:]
        if trailer_size <= len(tail)
        else read(size - trailer_size, trailer_size)
    )
    return FrameInfo(
        path=source,
        frame_length=size,
        header_length=length,
        trailer_length=trailer_size,
        format_version=fixed.format_version,
        typesize=fixed.typesize,
        chunksize=fixed.chunksize,
        blocksize=fixed.blocksize,
        nbytes=fixed.nbytes,
        cbytes=fixed.cbytes,
        nchunks=total // chunk_bytes if total else 0,
        codec=fixed.codec,
        clevel=fixed.clevel,
        shape=b2nd.shape,
        chunks=b2nd.chunks,
        blocks=b2nd.blocks,
        dtype=b2nd.dtype,
        metalayers=MappingProxyType(metalayers),
        vlmeta=MappingProxyType(parse_trailer(trailer, source)),
    )
