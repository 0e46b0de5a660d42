"""The checks that run before blosc2 sees a file (``mlarray._frame_check``).

Each damage here crashed the interpreter inside blosc2 (segfault or abort) before
the check existed, so these tests call the check itself and never hand the damaged
bytes to blosc2; ``test_hostile_files.py`` runs the same kinds of damage through
the public API in subprocesses.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._frame_check import buffer_reader, check_frame, descriptor_reader
from mlarray.errors import FileFormatError, UnsafeMetadataError
from mlarray_meta.format import FrameInfo, parse_frame
from mlarray_meta.format._chunk import HEADER_SIZE, check_chunk_header
from tests.reliability import _children
from tests.reliability._corpus import frame_layout


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved volume with 27 chunks."""
    path = tmp_path_factory.mktemp("frame") / "scan.mla"
    _children.image(0).save(path)
    return path


def _check(path: Path, data: bytes) -> None:
    check_frame(path, parse_frame(data, source=str(path)), buffer_reader(data))


def _index_span(frame: FrameInfo) -> tuple[int, int]:
    start = frame.header_length + frame.cbytes
    return start, frame.frame_length - frame.trailer_length


def _with_offsets(data: bytes, offsets: list[int]) -> bytes:
    """Replace the chunk index of the frame ``data`` by one holding ``offsets``."""
    start, stop = _index_span(parse_frame(data))
    index = blosc2.compress2(np.array(offsets, dtype="<i8").tobytes(), typesize=8, clevel=0)
    spliced = bytearray(data[:start] + index + data[stop:])
    struct.pack_into(">Q", spliced, 16, len(spliced))  # the header's frame length
    return bytes(spliced)


def _offsets(data: bytes) -> list[int]:
    start, stop = _index_span(parse_frame(data))
    return np.frombuffer(blosc2.decompress2(data[start:stop]), dtype="<i8").tolist()


def test_valid_files_pass(scan: Path) -> None:
    _check(scan, scan.read_bytes())
    fd = os.open(scan, os.O_RDONLY)
    try:  # reading the chunk headers from disk
        check_frame(scan, parse_frame(scan.read_bytes()), descriptor_reader(fd))
    finally:
        os.close(fd)


def test_runs_of_zeros_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "zeros.mla"
    volume = np.zeros((32, 32, 32), dtype=np.int16)
    volume[16:, 16:, 16:] = 3
    MLArray(volume, patch_size=None, chunk_size=(16, 16, 16)).save(path)
    data = path.read_bytes()
    assert sum(offset < 0 for offset in _offsets(data)) == 7  # stored as special offsets
    _check(path, data)
    np.testing.assert_array_equal(MLArray.open(path)[...], volume)


@pytest.mark.parametrize(
    ("offset", "value", "problem"),
    [
        (0, 0, "format version 0"),
        (2, 0x00, "flags 0x00"),
        (3, 4, "typesize 4 (expected 2)"),
        (4, -1, "nbytes -1"),
        (8, -1325399296, "blocksize -1325399296"),
        (8, 0, "blocksize 0"),
        (12, 16318976, "cbytes 16318976"),
        (12, 8, "cbytes 8"),
        (31, 0x08, "blosc2 flags 0x08"),
    ],
)
def test_damaged_chunk_headers_are_refused(
    scan: Path, offset: int, value: int, problem: str
) -> None:
    data = bytearray(scan.read_bytes())
    start, _ = frame_layout(scan).chunks[4]
    if offset in (4, 8, 12):
        struct.pack_into("<i", data, start + offset, value)
    else:
        data[start + offset] = value
    with pytest.raises(FileFormatError, match="chunk 4: damaged chunk header") as raised:
        _check(scan, bytes(data))
    assert problem in str(raised.value)


def test_check_chunk_header_reports_every_problem_at_once() -> None:
    header = bytearray(HEADER_SIZE)
    struct.pack_into("<BBBBiii", header, 0, 9, 1, 0, 3, 10, -5, 99)
    with pytest.raises(FileFormatError) as raised:
        check_chunk_header(bytes(header), source="x.mla: chunk 0", typesize=2, nbytes=64, room=50)
    message = str(raised.value)
    for problem in ("format version 9", "flags 0x00", "typesize 3", "nbytes 10", "cbytes 99"):
        assert problem in message
    with pytest.raises(FileFormatError, match="expected 32 bytes, found 5"):
        check_chunk_header(b"\x05" * 5, source="x.mla: chunk 0", typesize=2, nbytes=64, room=50)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda offsets: [*offsets[:5], 10**12, *offsets[6:]], "chunk 5 at offset 1000000000000"),
        (lambda offsets: [*offsets[:5], 7, *offsets[6:]], "chunk 5: damaged chunk header"),
        (lambda offsets: [*offsets[:5], -(2**63) + (0x20 << 56), *offsets[6:]], "chunk 5 at"),
        (lambda offsets: [-1, *offsets[1:]], "chunk 0 at offset -1"),
        (lambda offsets: offsets[:-1], "chunk index: damaged chunk header: nbytes 208"),
    ],
)
def test_damaged_chunk_index_is_refused(scan: Path, change: object, message: str) -> None:
    data = scan.read_bytes()
    damaged = _with_offsets(data, change(_offsets(data)))  # type: ignore[operator]
    with pytest.raises(FileFormatError, match=message):
        _check(scan, damaged)


def test_damaged_index_chunk_header_is_refused(scan: Path) -> None:
    data = bytearray(scan.read_bytes())
    start, _ = _index_span(parse_frame(bytes(data)))
    struct.pack_into("<i", data, start + 12, 10**6)
    with pytest.raises(FileFormatError, match="chunk index: damaged chunk header: cbytes 1000000"):
        _check(scan, bytes(data))


@pytest.mark.parametrize(
    ("dtype", "error", "message"),
    [
        (b"|O8", UnsafeMetadataError, "holds Python objects"),
        (b"|S4", FileFormatError, "items of 4 bytes"),
        (b"<q2", FileFormatError, "expected a NumPy dtype"),
    ],
)
def test_dtypes_blosc2_cannot_read_safely_are_refused(
    tmp_path: Path, dtype: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / "wide.mla"
    MLArray(np.arange(64, dtype=np.int64).reshape(4, 4, 4), patch_size=None).save(path)
    data = path.read_bytes()
    position = data.index(b"<i8", 0, parse_frame(data).header_length)
    damaged = data[:position] + dtype + data[position + 3 :]
    with pytest.raises(error, match=message):
        _check(path, damaged)


@pytest.mark.parametrize("layer", ["proxy-source", "LazyArray", "b2o", "b2tree", "vlarray"])
def test_foreign_metalayers_are_refused(tmp_path: Path, layer: str) -> None:
    path = tmp_path / "foreign.mla"
    blosc2.asarray(np.zeros(8, dtype=np.int16), urlpath=str(path), mode="w", meta={layer: 1})
    data = path.read_bytes()
    with pytest.raises(UnsafeMetadataError, match=f"fixed metalayers \\['{layer}'\\]"):
        check_frame(path, parse_frame(data), buffer_reader(data))
    with pytest.raises(UnsafeMetadataError):
        MLArray.open(path)
