"""Builders of Blosc2 chunks and frame trailers for tests (standard library only).

They follow c-blosc2's chunk and frame layouts; tests/integration checks that
python-blosc2 reads what they build.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tests.meta._pack import packb

DATA = Path(__file__).resolve().parent / "data"
FLAG_SHUFFLE, FLAG_MEMCPYED, FLAG_BITSHUFFLE, FLAG_DONT_SPLIT = 0x01, 0x02, 0x04, 0x10
ZSTD_FORMAT = 4 << 5


def chunk_header(
    *,
    flags: int,
    typesize: int,
    nbytes: int,
    blocksize: int,
    cbytes: int,
    filters: bytes,
    blosc2_flags: int = 0,
) -> bytes:
    """The 32-byte extended chunk header (flags get the extended-header bits added)."""
    flags |= FLAG_SHUFFLE | FLAG_BITSHUFFLE
    head = struct.pack("<BBBBiii", 5, 1, flags, typesize, nbytes, blocksize, cbytes)
    return head + filters.ljust(6, b"\0") + b"\x05\x00" + bytes(6) + b"\x00" + bytes([blosc2_flags])


def memcpy_chunk(payload: bytes, *, typesize: int = 1) -> bytes:
    """A memcpyed chunk: the payload verbatim after the header."""
    size = len(payload)
    header = chunk_header(
        flags=FLAG_MEMCPYED | ZSTD_FORMAT,
        typesize=typesize,
        nbytes=size,
        blocksize=size,
        cbytes=32 + size,
        filters=b"\0" * 5 + b"\x01",
    )
    return header + payload


def special_chunk(kind: int, nbytes: int, *, typesize: int = 1, value: bytes = b"") -> bytes:
    """A special-value chunk (1 zeros, 2 NaN, 3 repeated ``value``, 4 uninitialized)."""
    header = chunk_header(
        flags=ZSTD_FORMAT,
        typesize=typesize,
        nbytes=nbytes,
        blocksize=nbytes,
        cbytes=32 + len(value),
        filters=b"",
        blosc2_flags=kind << 4,
    )
    return header + value


def _shuffle(block: bytes, typesize: int) -> bytes:
    count = len(block) // typesize
    body = b"".join(block[byte : count * typesize : typesize] for byte in range(typesize))
    return body + block[count * typesize :]


def raw_chunk(payload: bytes, *, typesize: int = 1, blocksize: int, shuffle: bool = False) -> bytes:
    """A 'compressed' chunk whose streams are all stored raw (split per byte of the type)."""
    nblocks = -(-len(payload) // blocksize)
    bstarts: list[int] = []
    body = b""
    for index in range(nblocks):
        block = payload[index * blocksize : (index + 1) * blocksize]
        if shuffle:
            block = _shuffle(block, typesize)
        nstreams = typesize if len(block) == blocksize else 1
        size = len(block) // nstreams
        bstarts.append(32 + 4 * nblocks + len(body))
        for stream in range(nstreams):
            body += struct.pack("<i", size) + block[stream * size : (stream + 1) * size]
    cbytes = 32 + 4 * nblocks + len(body)
    header = chunk_header(
        flags=ZSTD_FORMAT,
        typesize=typesize,
        nbytes=len(payload),
        blocksize=blocksize,
        cbytes=cbytes,
        filters=b"\0" * 5 + (b"\x01" if shuffle else b"\0"),
    )
    return header + struct.pack(f"<{nblocks}i", *bstarts) + body


def build_trailer(vlmeta: dict[str, bytes]) -> bytes:
    """A frame trailer holding ``vlmeta`` (name to raw chunk), laid out like c-blosc2's."""
    names = list(vlmeta)
    index_len = 1 + 2 + sum(1 + len(name.encode()) + 1 + 4 for name in names)
    values_at = 2 + 1 + 3 + index_len + 3
    offsets, position = [], values_at
    for name in names:
        offsets.append(position)
        position += 5 + len(vlmeta[name])
    index = b"\xde" + struct.pack(">H", len(names))
    for name, offset in zip(names, offsets, strict=True):
        index += packb(name) + b"\xd2" + struct.pack(">i", offset)
    values = b"\xdc" + struct.pack(">H", len(names))
    values += b"".join(b"\xc6" + struct.pack(">I", len(vlmeta[n])) + vlmeta[n] for n in names)
    body = b"\x94\x01\x93\xcd" + struct.pack(">H", 3 + index_len) + index + values
    length = len(body) + 23
    return body + b"\xce" + struct.pack(">I", length) + b"\xd8\x00" + bytes(16)


def trailer_offset(frame: bytes) -> int:
    """Where the trailer of a frame starts."""
    return len(frame) - struct.unpack(">I", frame[-22:-18])[0]


def with_vlmeta(frame: bytes, vlmeta: dict[str, bytes]) -> bytes:
    """Replace a frame's trailer by one holding ``vlmeta``; fix the frame length."""
    new = bytearray(frame[: trailer_offset(frame)] + build_trailer(vlmeta))
    new[16:24] = struct.pack(">Q", len(new))
    return bytes(new)


def fixture(name: str) -> bytes:
    """The bytes of a committed fixture file."""
    return (DATA / name).read_bytes()
