"""Decoding vlmeta chunks without a codec: memcpyed and special chunks; the rest needs blosc2."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlarray_meta.errors import CodecRequiredError, FileFormatError, UnsafeMetadataError
from mlarray_meta.format._chunk import decode_chunk
from tests.meta._frames import (
    ZSTD_FORMAT,
    chunk_header,
    memcpy_chunk,
    raw_chunk,
    special_chunk,
)

LIMIT = 2**20


def decode(chunk: bytes) -> bytes:
    return decode_chunk(chunk, source="x.mla: vlmeta 'mla'", max_nbytes=LIMIT)


def patched(chunk: bytes, offset: int, value: bytes) -> bytes:
    return chunk[:offset] + value + chunk[offset + len(value) :]


@given(st.binary(max_size=3000), st.sampled_from([1, 2, 4, 8]))
def test_memcpyed_chunks_decode(payload: bytes, typesize: int) -> None:
    assert decode(memcpy_chunk(payload, typesize=typesize)) == payload


@given(
    st.binary(min_size=1, max_size=3000),
    st.sampled_from([1, 2, 3, 4, 8, 16]),
    st.integers(1, 64),
    st.booleans(),
)
def test_chunks_stored_as_streams_are_left_to_blosc2(
    payload: bytes, typesize: int, blocks: int, shuffle: bool
) -> None:
    chunk = raw_chunk(payload, typesize=typesize, blocksize=typesize * blocks, shuffle=shuffle)
    with pytest.raises(CodecRequiredError, match="reading it needs python-blosc2"):
        decode(chunk)


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (special_chunk(1, 100), bytes(100)),
        (special_chunk(1, 0), b""),
        (special_chunk(3, 12, typesize=4, value=b"abcd"), b"abcd" * 3),
    ],
)
def test_special_chunks_decode(chunk: bytes, expected: bytes) -> None:
    assert decode(chunk) == expected


def compressed_stream_chunk() -> bytes:
    header = chunk_header(
        flags=ZSTD_FORMAT,
        typesize=1,
        nbytes=100,
        blocksize=100,
        cbytes=32 + 4 + 4 + 10,
        filters=b"",
    )
    return header + struct.pack("<ii", 36, 10) + bytes(10)


@pytest.mark.parametrize(
    ("chunk", "problem"),
    [
        (compressed_stream_chunk(), "compressed with ZSTD; reading it needs python-blosc2"),
        (patched(compressed_stream_chunk(), 2, bytes([0x05])), "compressed with BloscLZ"),
        (patched(compressed_stream_chunk(), 2, bytes([0x25])), "compressed with LZ4 or LZ4HC"),
        (patched(compressed_stream_chunk(), 2, bytes([0x65])), "compressed with Zlib"),
        (
            patched(patched(compressed_stream_chunk(), 2, b"\xc5"), 22, b"\xa0"),
            "user-defined codec 160",
        ),
        (raw_chunk(b"x" * 64, blocksize=32), "compressed with ZSTD"),
    ],
)
def test_chunks_needing_blosc2_say_so(chunk: bytes, problem: str) -> None:
    with pytest.raises(CodecRequiredError, match=problem) as info:
        decode(chunk)
    assert str(info.value).startswith("x.mla: vlmeta 'mla': ")


@pytest.mark.parametrize(
    ("chunk", "problem"),
    [
        (b"", "chunk header: expected 32 bytes, found 0"),
        (memcpy_chunk(b"abc")[:31], "chunk header: expected 32 bytes, found 31"),
        (patched(memcpy_chunk(b"abc"), 0, b"\x09"), "chunk format version: expected 1..6, found 9"),
        (patched(memcpy_chunk(b"abc"), 2, b"\x02"), "expected a Blosc2 extended header"),
        (patched(memcpy_chunk(b"abc"), 3, b"\x00"), "chunk typesize"),
        (memcpy_chunk(b"abc")[:-1], "chunk cbytes: expected 34"),
        (patched(memcpy_chunk(b"abc"), 4, struct.pack("<i", -1)), "chunk nbytes: expected >= 0"),
        (patched(memcpy_chunk(b"abc"), 4, struct.pack("<i", 2)), "memcpyed chunk: expected 34"),
        (patched(memcpy_chunk(b"abc"), 31, b"\x08"), "a lazy chunk"),
        (special_chunk(2, 16, typesize=8), "a run of NaN values cannot hold metadata"),
        (special_chunk(4, 16), "a run of uninitialized values"),
        (special_chunk(5, 16), "special chunk kind: expected 1..4, found 5"),
        (special_chunk(3, 10, typesize=4, value=b"abcd"), "misaligned"),
        (special_chunk(3, 8, typesize=4), "the repeated value is missing"),
    ],
)
def test_malformed_chunks_are_file_format_errors(chunk: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem):
        decode(chunk)


@pytest.mark.parametrize("chunk", [special_chunk(1, LIMIT + 1), memcpy_chunk(bytes(LIMIT + 1))])
def test_declared_sizes_above_the_limit_are_unsafe(chunk: bytes) -> None:
    with pytest.raises(UnsafeMetadataError, match=f"above the limit of {LIMIT}"):
        decode(chunk)


@given(st.binary(min_size=0, max_size=200))
def test_arbitrary_bytes_decode_or_raise_file_format_error(data: bytes) -> None:
    with contextlib.suppress(FileFormatError):
        decode(data)


def test_examples_are_not_timed() -> None:
    """The suite's Hypothesis profile (tests/conftest.py): outcomes never depend on speed."""
    assert settings().deadline is None
    assert HealthCheck.too_slow in settings().suppress_health_check


@given(st.binary(min_size=1, max_size=400), st.data())
def test_corrupted_raw_chunks_never_raise_other_errors(payload: bytes, data: st.DataObject) -> None:
    chunk = bytearray(raw_chunk(payload, typesize=4, blocksize=32, shuffle=True))
    position = data.draw(st.integers(0, len(chunk) - 1))
    chunk[position] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(FileFormatError):
        decode(bytes(chunk))
