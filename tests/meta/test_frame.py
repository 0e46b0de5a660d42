"""The stdlib frame reader on committed fixtures and on damaged or hostile variants."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from mlarray_meta.errors import FileFormatError, MLArrayFileError, UnsupportedVersionError
from mlarray_meta.format import FrameInfo, parse_frame, read_frame
from mlarray_meta.format._msgpack import unpackb
from mlarray_meta.header import HeaderMapping
from tests.meta._frames import DATA, fixture, memcpy_chunk, trailer_offset, with_vlmeta
from tests.meta._pack import packb

EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
FIXTURES = sorted(EXPECTED)
WITH_ARRAY = ["legacy_0054.mla", "ours.mla"]


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def padded(frame: bytes, extra: int) -> bytes:
    """Insert ``extra`` bytes before the trailer (where chunks live), fixing the frame length."""
    start = trailer_offset(frame)
    new = frame[:start] + bytes(extra) + frame[start:]
    return patched(new, 16, struct.pack(">Q", len(new)))


def write(tmp_path: Path, data: bytes, name: str = "x.mla") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", FIXTURES)
def test_reads_the_layout_of_every_fixture(name: str) -> None:
    info = read_frame(DATA / name)
    expected = EXPECTED[name]
    assert info.shape == tuple(expected["shape"])
    assert info.dtype == expected["dtype"]
    assert info.chunks == tuple(expected["chunks"])
    assert info.blocks == tuple(expected["blocks"])
    assert info.path == str(DATA / name)
    assert info.frame_length == (DATA / name).stat().st_size
    assert "b2nd" in info.metalayers


def test_ours_fixture_in_detail() -> None:
    info = read_frame(DATA / "ours.mla")
    assert set(info.vlmeta) == {"mla", "mlarray"}
    assert info.typesize == 2
    assert info.nchunks == 2
    assert info.chunksize == 2 * 5 * 6 * 2
    assert info.nbytes == 2 * info.chunksize
    assert info.codec == "zstd"
    assert info.format_version in (2, 3)
    for chunk in info.vlmeta.values():
        assert chunk[2] & 0x02, "our vlmeta chunks are stored memcpyed"
    assert isinstance(info.vlmeta_value("mla"), bytes)
    assert json.loads(info.vlmeta_value("mla"))["format"] == "mla"


@pytest.mark.parametrize("name", ["legacy_0054.mla", "legacy_0054_metaonly.mla"])
def test_0054_vlmeta_chunks_are_memcpyed(name: str) -> None:
    chunk = read_frame(DATA / name).vlmeta["mlarray"]
    assert chunk[2] & 0x02
    assert chunk[3] == 8, "0.0.54's save() re-encodes the entry with the array's typesize"


def test_metadata_only_file() -> None:
    info = read_frame(DATA / "legacy_0054_metaonly.mla")
    assert (info.shape, info.nbytes, info.nchunks, info.chunksize) == ((0,), 0, 0, 0)
    assert info.header_length + info.trailer_length == info.frame_length


@pytest.mark.parametrize("name", FIXTURES)
def test_parse_frame_agrees_with_read_frame(name: str) -> None:
    from_file = read_frame(DATA / name)
    from_bytes = parse_frame(fixture(name), source="mem")
    assert from_bytes.path == "mem"
    for field in FrameInfo.__dataclass_fields__:
        if field != "path":
            assert getattr(from_bytes, field) == getattr(from_file, field), field


@pytest.mark.parametrize("name", WITH_ARRAY)
def test_large_files_are_read_by_seeking(tmp_path: Path, name: str) -> None:
    """A sparse multi-GB file: only the header and the trailer are read."""
    path = tmp_path / name
    frame = fixture(name)
    start = trailer_offset(frame)
    size = 5 * 2**30
    with path.open("wb") as file:
        file.write(patched(frame[:start], 16, struct.pack(">Q", size)))
        file.truncate(size - (len(frame) - start))
        file.seek(0, 2)
        file.write(frame[start:])
    info = read_frame(path)
    assert info.frame_length == size
    assert HeaderMapping.from_frame(info).meta == EXPECTED[name]["meta"]


def test_large_trailers_are_read_whole(tmp_path: Path) -> None:
    envelope = json.dumps(
        {"format": "mla", "format_version": "1.0", "meta": {"extra": "x" * 20_000}}
    ).encode()
    frame = padded(with_vlmeta(fixture("ours.mla"), {"mla": memcpy_chunk(packb(envelope))}), 2**17)
    info = read_frame(write(tmp_path, frame))
    assert info.trailer_length > 20_000
    assert info.vlmeta_value("mla") == envelope


# ------------------------------------------------------------------ bad paths


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MLArrayFileError, match=r"missing\.mla: cannot open the file"):
        read_frame(tmp_path / "missing.mla")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "x.mla").mkdir()
    with pytest.raises(MLArrayFileError, match=r"x\.mla: is a directory") as info:
        read_frame(tmp_path / "x.mla")
    assert isinstance(info.value, RuntimeError)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"x\.mla: the file is empty \(0 bytes\)"):
        read_frame(write(tmp_path, b""))


@pytest.mark.parametrize(
    "data",
    [b"hello world" * 20, b"\x89PNG\r\n\x1a\n" + bytes(200), b"\x9e\xa8b2frame!" + bytes(200)],
)
def test_other_files_are_not_frames(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(FileFormatError, match="not a Blosc2 frame: expected the magic"):
        read_frame(write(tmp_path, data))


# ------------------------------------------------------------------ damage


def cut_points(frame: bytes) -> set[int]:
    info = parse_frame(frame)
    header, trailer = info.header_length, trailer_offset(frame)
    points = {len(frame) * k // 64 for k in range(64)}
    points |= {header - 1, header, header + 1, trailer - 1, trailer, trailer + 1}
    points |= {len(frame) - n for n in (1, 2, 17, 18, 22, 23, 24, 25, 26)}
    points |= {1, 10, 86, 87, 88}
    return {point for point in points if 0 <= point < len(frame)}


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("extra", [0, 2**17])
def test_every_truncation_is_refused(tmp_path: Path, name: str, extra: int) -> None:
    frame = fixture(name) if not extra or name not in WITH_ARRAY else padded(fixture(name), extra)
    for point in sorted(cut_points(frame)):
        path = write(tmp_path, frame[:point])
        with pytest.raises(FileFormatError):
            read_frame(path)


def read_everything(frame: bytes) -> None:
    """Parse a frame and decode all its metadata; FileFormatError is the only failure allowed."""
    with contextlib.suppress(FileFormatError):
        info = parse_frame(frame)
        HeaderMapping.from_frame(info)
        for name in info.vlmeta:
            info.vlmeta_value(name)


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_byte_flips_in_header_and_trailer_never_raise_other_errors(name: str, mask: int) -> None:
    frame = fixture(name)
    info = parse_frame(frame)
    positions = [*range(info.header_length), *range(trailer_offset(frame), len(frame))]
    for position in positions:
        read_everything(patched(frame, position, bytes([frame[position] ^ mask])))


def b2nd_at(frame: bytes) -> int:
    return frame.index(b"\x97\x00\x03\x93\xd3")


def trailer_index(frame: bytes, name: str) -> int:
    """Position of the int32 offset of vlmeta entry ``name`` in the trailer index."""
    return frame.index(packb(name) + b"\xd2", trailer_offset(frame)) + len(packb(name)) + 1


OURS = fixture("ours.mla")
LEGACY = fixture("legacy_0054.mla")


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (patched(OURS, 16, struct.pack(">Q", len(OURS) + 1)), "frame length: expected 2013"),
        (patched(OURS, 11, struct.pack(">i", 10**6)), "header length: expected 87..2013"),
        (patched(OURS, 11, struct.pack(">i", 50)), "header length"),
        (
            patched(OURS, 10, b"\xd3"),
            r"frame header header length: expected marker 0xd2 at byte 10",
        ),
        (patched(OURS, 25, b"\x22"), "frame flags: expected a contiguous frame"),
        (patched(OURS, 26, b"\x01"), "frame type 0x01"),
        (patched(OURS, 48, struct.pack(">i", 0)), "typesize: expected a value >= 1"),
        (patched(OURS, 30, struct.pack(">q", -5)), "uncompressed size: expected a value >= 0"),
        (patched(OURS, 30, struct.pack(">q", 480)), r"uncompressed size: expected 240 \(from"),
        (patched(OURS, 58, struct.pack(">i", 64)), "chunksize: expected 120"),
        (patched(OURS, 39, struct.pack(">q", 10**9)), "trailer offset: expected after the"),
        (patched(OURS, 68, b"\x00"), "vlmeta flag"),
        (patched(OURS, b2nd_at(OURS) + 2, b"\x11"), "ndim: expected an integer in 0..16, found 17"),
        (patched(OURS, b2nd_at(OURS) + 5, b"\xff" * 8), "shape: expected integers in 0.."),
        (patched(OURS, b2nd_at(OURS) + 2, b"\x02"), "shape: expected a list of 2 integers"),
        (patched(OURS, b2nd_at(OURS) + 31, b"\x92"), "b2nd metalayer: invalid msgpack"),
        (patched(OURS, b2nd_at(OURS) + 1, b"\xc0"), "version: expected an integer"),
        (patched(OURS, OURS.index(b"\x00\xdb\x00\x00\x00\x03<i2"), b"\x01"), "dtype format"),
        (patched(OURS, OURS.index(b"<i2"), b"<i4"), "dtype: expected an item size of 2"),
        (patched(OURS, OURS.index(b"<i2"), b"<\x00\x01"), "dtype: expected printable ASCII"),
        (patched(OURS, 95, b"b3nd"), "header metalayers: expected a 'b2nd' entry"),
        (patched(OURS, len(OURS) - 22, struct.pack(">I", 2**32 - 1)), "trailer length"),
        (patched(OURS, len(OURS) - 22, struct.pack(">I", 10)), "trailer length: expected 25.."),
        (patched(OURS, len(OURS) - 23, b"\xcf"), "trailer length: expected marker 0xce"),
        (patched(OURS, len(OURS) - 18, b"\xd7"), "trailer fingerprint"),
        (patched(OURS, len(OURS) - 17, b"\x09"), "trailer fingerprint"),
        (patched(OURS, trailer_offset(OURS), b"\x93"), "trailer: expected a msgpack array of 4"),
        (patched(OURS, trailer_offset(OURS) + 1, b"\x00"), "trailer version: expected 1, found 0"),
        (patched(OURS, trailer_offset(OURS) + 2, b"\x92"), "vlmeta: section"),
        (patched(OURS, trailer_index(OURS, "mla"), struct.pack(">i", 2**30)), "offset of 'mla'"),
        (patched(OURS, trailer_index(OURS, "mla"), struct.pack(">i", -1)), "offset of 'mla'"),
        (patched(OURS, trailer_index(OURS, "mla"), struct.pack(">i", 40)), "value of 'mla'"),
        (patched(OURS, trailer_offset(OURS) + 6, b"\x05"), "index"),
    ],
)
def test_damaged_fields_are_named(tmp_path: Path, frame: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem) as info:
        read_frame(write(tmp_path, frame))
    assert str(info.value).startswith(str(tmp_path / "x.mla"))


def test_huge_vlmeta_length_claim_fails_at_once(tmp_path: Path) -> None:
    value_at = trailer_offset(OURS) + struct.unpack(">i", OURS[trailer_index(OURS, "mla") :][:4])[0]
    frame = patched(OURS, value_at + 1, b"\xff\xff\xff\xf0")
    with pytest.raises(FileFormatError, match="binary needs 4294967280 bytes"):
        read_frame(write(tmp_path, frame))


def test_newer_frame_format_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedVersionError, match=r"frame format version 4.*upgrade"):
        read_frame(write(tmp_path, patched(OURS, 25, b"\x14")))


def test_newer_trailer_version_is_unsupported(tmp_path: Path) -> None:
    frame = patched(OURS, trailer_offset(OURS) + 1, b"\x02")
    with pytest.raises(UnsupportedVersionError, match=r"trailer version 2.*upgrade"):
        read_frame(write(tmp_path, frame))


def test_vlmeta_values_are_decoded_on_demand() -> None:
    info = parse_frame(with_vlmeta(OURS, {"mla": b"garbage", "user": memcpy_chunk(packb([1]))}))
    assert info.vlmeta_value("user") == [1]
    with pytest.raises(FileFormatError, match="vlmeta 'mla': chunk header"):
        info.vlmeta_value("mla")
    with pytest.raises(KeyError):
        info.vlmeta_value("absent")


def test_vlmeta_names_must_be_short_strings() -> None:
    frame = with_vlmeta(OURS, {"n" * 32: memcpy_chunk(b"\xc0")})
    with pytest.raises(FileFormatError, match=r"name: expected a string of 1\.\.31 bytes"):
        parse_frame(frame)


def test_an_empty_trailer_is_fine() -> None:
    info = parse_frame(with_vlmeta(LEGACY, {}))
    assert dict(info.vlmeta) == {}
    assert unpackb(packb({})) == {}
