"""read_header_mapping: the layout plus the metadata mapping, from "mla" or the legacy entry."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from mlarray_meta.codec import encode_envelope, encode_legacy, legacy_fingerprint
from mlarray_meta.errors import (
    CodecRequiredError,
    FileFormatError,
    UnsafeMetadataError,
    UnsupportedVersionError,
)
from mlarray_meta.format import parse_frame
from mlarray_meta.header import HeaderMapping, read_header_mapping
from tests.meta._frames import (
    DATA,
    ZSTD_FORMAT,
    chunk_header,
    fixture,
    memcpy_chunk,
    raw_chunk,
    with_vlmeta,
)
from tests.meta._pack import packb

EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
OURS = fixture("ours.mla")


def header_of(vlmeta: dict[str, bytes]) -> HeaderMapping:
    return HeaderMapping.from_frame(parse_frame(with_vlmeta(OURS, vlmeta), source="x.mla"))


def test_our_file_reads_from_the_envelope() -> None:
    header = read_header_mapping(DATA / "ours.mla")
    expected = EXPECTED["ours.mla"]
    assert header.origin == "mla"
    assert header.format_version == (1, 0)
    assert header.meta == expected["meta"]
    assert header.integrity == expected["integrity"]
    assert (header.shape, header.dtype) == ((4, 5, 6), "<i2")
    assert (header.chunks, header.blocks) == ((2, 5, 6), (1, 5, 6))
    assert header.path == str(DATA / "ours.mla")
    assert header.frame.codec == "zstd"


@pytest.mark.parametrize("name", ["legacy_0054.mla", "legacy_0054_metaonly.mla"])
def test_0054_files_read_from_the_legacy_entry(name: str) -> None:
    header = read_header_mapping(DATA / name)
    expected = EXPECTED[name]
    assert header.origin == "legacy"
    assert header.meta == expected["meta"]
    assert (header.format_version, header.integrity) == (None, None)
    assert list(header.shape) == expected["shape"]
    assert header.dtype == expected["dtype"]


def test_0054_fixture_carries_the_fields_it_was_written_with() -> None:
    meta = read_header_mapping(DATA / "legacy_0054.mla").meta
    assert meta["spatial"]["spacing"] == [1.0, 0.5, 2.5]
    assert meta["spatial"]["origin"] == [10.0, -3.0, 0.25]
    assert meta["spatial"]["direction"] == [[1, 0, 0], [0, 0, -1], [0, 1, 0]]
    assert meta["source"]["data"] == {"PatientID": "anon-002", "Modality": "MR"}
    assert meta["bbox"] == {
        "bboxes": [[[0, 2], [1, 4], [2, 5]]],
        "scores": [0.75],
        "labels": ["tumour"],
    }
    assert meta["is_seg"] == {"is_seg": True}
    boxes = read_header_mapping(DATA / "legacy_0054_metaonly.mla").meta["bbox"]
    assert boxes["bboxes"] == [[[0, 2], [1, 4]], [[3, 5], [0.5, 1.5]]]


def test_the_legacy_entry_of_our_file_matches_the_envelope() -> None:
    legacy = {"mlarray": parse_frame(OURS).vlmeta["mlarray"]}
    header = header_of(legacy)
    assert header.origin == "legacy"
    assert header.meta == EXPECTED["ours.mla"]["legacy_meta"]
    # ... but a file written by mlarray without its envelope lost its checksums
    assert header.expects_integrity
    assert "vlmeta 'mla' is missing" in (header.metadata_problem or "")


@pytest.mark.parametrize(
    ("name", "expects"),
    [("ours.mla", True), ("legacy_0054.mla", False), ("legacy_0054_metaonly.mla", False)],
)
def test_files_as_written_have_no_metadata_problem(name: str, expects: bool) -> None:
    header = read_header_mapping(DATA / name)
    assert (header.expects_integrity, header.metadata_problem) == (expects, None)


def _entries_with_fingerprint() -> dict[str, bytes]:
    """Our fixture's entries, the envelope recording the legacy entry's fingerprint."""
    frame = parse_frame(OURS)
    envelope = json.loads(frame.vlmeta_value("mla"))
    envelope["legacy_crc32"] = legacy_fingerprint(frame.vlmeta_value("mlarray"))
    return {
        "mla": memcpy_chunk(packb(json.dumps(envelope).encode())),
        "mlarray": frame.vlmeta["mlarray"],
    }


def test_a_flipped_bit_in_the_legacy_entry_keeps_the_checksum_record() -> None:
    """The gzip MTIME is outside gzip's CRC: the entry still decodes, to the same metadata."""
    vlmeta = _entries_with_fingerprint()
    assert header_of(vlmeta).metadata_problem is None
    legacy = vlmeta["mlarray"]
    position = legacy.index(b"\x1f\x8b\x08") + 4  # gzip magic, method, flags, then MTIME
    flipped = bytes([legacy[position] ^ 0x10])
    vlmeta["mlarray"] = legacy[:position] + flipped + legacy[position + 1 :]
    header = header_of(vlmeta)
    assert header.origin == "mla"
    assert header.meta == EXPECTED["ours.mla"]["meta"]
    assert header.integrity == EXPECTED["ours.mla"]["integrity"]
    assert "holds the same metadata: its bytes are damaged" in (header.metadata_problem or "")


def test_a_missing_legacy_entry_is_a_metadata_problem() -> None:
    vlmeta = _entries_with_fingerprint()
    del vlmeta["mlarray"]
    header = header_of(vlmeta)
    assert header.integrity == EXPECTED["ours.mla"]["integrity"]
    assert "vlmeta 'mlarray'" in (header.metadata_problem or "")
    assert "is missing" in (header.metadata_problem or "")


def test_envelope_wins_and_the_legacy_entry_is_then_not_decoded(tmp_path: Path) -> None:
    hostile = gzip.compress(b"cos\nsystem\n(S'touch " + str(tmp_path / "x").encode() + b"'\ntR.")
    header = header_of(
        {
            "mlarray": memcpy_chunk(packb(hostile)),
            "mla": memcpy_chunk(packb(encode_envelope({"a": 1}))),
        }
    )
    assert (header.origin, header.meta) == ("mla", {"a": 1})


def test_no_metadata_entry_gives_an_empty_mapping() -> None:
    header = header_of({"user": memcpy_chunk(packb("anything"))})
    assert (header.origin, header.meta, header.format_version) == (None, {}, None)


def test_envelope_stored_as_streams_needs_a_decompressor() -> None:
    payload = packb(encode_envelope({"spatial": {"spacing": [1.0, 2.0]}}))
    entries = {"mla": raw_chunk(payload, typesize=8, blocksize=64, shuffle=True)}
    with pytest.raises(CodecRequiredError, match="needs python-blosc2"):
        header_of(entries)
    frame = parse_frame(with_vlmeta(OURS, entries), source="streams.mla")
    header = HeaderMapping.from_frame(frame, decompress=lambda chunk: payload)
    assert header.meta == {"spatial": {"spacing": [1.0, 2.0]}}


def test_hostile_legacy_entry_in_a_file_is_refused(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    hostile = gzip.compress(b"cos\nsystem\n(S'touch " + str(sentinel).encode() + b"'\ntR.")
    path = tmp_path / "evil.mla"
    path.write_bytes(with_vlmeta(OURS, {"mlarray": memcpy_chunk(packb(hostile))}))
    with pytest.raises(UnsafeMetadataError, match=r"evil\.mla: vlmeta 'mlarray'.*os\.system"):
        read_header_mapping(path)
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("vlmeta", "error", "problem"),
    [
        (
            {"mla": memcpy_chunk(packb("{}"))},
            FileFormatError,
            "expected a msgpack bin value, found str",
        ),
        ({"mla": memcpy_chunk(b"\xc4\x05{}")}, FileFormatError, "invalid msgpack"),
        ({"mla": memcpy_chunk(packb(b"[]"))}, FileFormatError, "expected a JSON object"),
        (
            {
                "mla": memcpy_chunk(
                    packb(
                        json.dumps({"format": "mla", "format_version": "3.1", "meta": {}}).encode()
                    )
                )
            },
            UnsupportedVersionError,
            "written by format 3.x",
        ),
        ({"mlarray": memcpy_chunk(packb(b"no gzip"))}, FileFormatError, "not valid gzip"),
        (
            {"mlarray": memcpy_chunk(packb(encode_legacy({"a": 1})[:-3]))},
            FileFormatError,
            "truncated",
        ),
    ],
)
def test_bad_metadata_entries_are_named(
    vlmeta: dict[str, bytes], error: type[Exception], problem: str
) -> None:
    with pytest.raises(error, match=problem) as info:
        header_of(vlmeta)
    assert str(info.value).startswith("x.mla: vlmeta ")


def test_compressed_envelope_says_blosc2_is_needed() -> None:
    header = chunk_header(
        flags=ZSTD_FORMAT,
        typesize=1,
        nbytes=100,
        blocksize=100,
        cbytes=32 + 4 + 4 + 10,
        filters=b"",
    )
    zstd_chunk = header + struct.pack("<ii", 36, 10) + bytes(10)
    with pytest.raises(
        FileFormatError, match="compressed with ZSTD; reading it needs python-blosc2"
    ):
        header_of({"mla": zstd_chunk})
