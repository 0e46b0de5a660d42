"""The ``.mla`` file contract: metadata entries, the legacy entry switch, per-chunk checksums."""

from __future__ import annotations

import gzip
import json
import pickle
import pickletools
import zlib
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest
from blosc2.msgpack_utils import msgpack_packb

from mlarray import Meta, MLArray, config
from mlarray._verify import verify_file
from mlarray.errors import (
    ChecksumError,
    CodecRequiredError,
    FileFormatError,
    UnsafeMetadataError,
    UnsupportedVersionError,
)
from mlarray_meta.codec import decode_legacy
from mlarray_meta.format import read_frame
from mlarray_meta.header import read_header, read_header_mapping

RNG = np.random.default_rng(3)


def _rich_image() -> MLArray:
    data = RNG.integers(0, 1000, (24, 30, 36)).astype(np.int16)
    image = MLArray(
        data,
        spacing=(0.5, 0.75, 2.0),
        origin=(-10.0, 5.0, 1.0),
        direction=np.eye(3),
        meta=Meta(
            source={"PatientID": "anon", "ü": "unicode ✓", "list": [1, 2.5, None, True]},
            bbox={"bboxes": [[[0, 4], [1, 5], [2, 6]]], "scores": [0.5], "labels": ["a"]},
            is_seg=False,
        ),
        axis_labels=["spatial_z", "spatial_y", "spatial_x"],
        patch_size=None,
        chunk_size=(12, 15, 18),
        block_size=(6, 5, 6),
    )
    image.meta.spatial.coord_system = "LPS"
    return image


@pytest.fixture
def rich_file(tmp_path: Path) -> tuple[Path, MLArray]:
    image = _rich_image()
    path = tmp_path / "rich.mla"
    image.save(path)
    return path, image


def _vlmeta_keys(path: Path) -> set[str]:
    return set(read_frame(path).vlmeta)


def _replace_entry(path: Path, key: str, payload: bytes | None) -> None:
    """Store ``payload`` under vlmeta ``key`` uncompressed, as mlarray does (None: delete)."""
    stored = blosc2.open(str(path), mode="a")
    if payload is None:
        del stored.schunk.vlmeta[key]
    else:
        stored.schunk.vlmeta.set_vlmeta(key, msgpack_packb(payload), typesize=1, clevel=0)


# ------------------------------------------------------------------------- metadata entries


def test_both_entries_are_written_and_readable_with_the_stdlib(
    rich_file: tuple[Path, MLArray],
) -> None:
    path, image = rich_file
    assert _vlmeta_keys(path) >= {"mla", "mlarray"}
    header = read_header_mapping(path)
    assert header.origin == "mla"
    assert header.format_version == (1, 0)
    assert header.shape == (24, 30, 36)
    assert header.dtype == "<i2"
    assert header.chunks == (12, 15, 18)
    assert header.blocks == (6, 5, 6)
    expected = image.meta.to_mapping()
    assert header.meta["source"] == expected["source"]
    assert header.meta["spatial"] == expected["spatial"]
    assert header.meta["bbox"] == expected["bbox"]
    assert Meta.from_mapping(header.meta).spatial.coord_system == "LPS"


def test_envelope_is_plain_utf8_json(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    raw = read_frame(path).vlmeta_value("mla")
    envelope = json.loads(raw.decode("utf-8"))
    assert envelope["format"] == "mla"
    assert envelope["format_version"] == "1.0"
    assert envelope["meta"]["source"]["data"]["ü"] == "unicode ✓"
    assert envelope["integrity"]["algorithm"] == "crc32"


def test_legacy_entry_is_a_gzip_pickle_of_plain_builtins(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    raw = read_frame(path).vlmeta_value("mlarray")
    payload = gzip.decompress(raw)
    opcodes = {op.name for op, _, _ in pickletools.genops(payload)}
    assert not opcodes & {"GLOBAL", "STACK_GLOBAL", "REDUCE", "INST", "OBJ", "NEWOBJ"}
    assert pickle.loads(payload) == read_header_mapping(path).meta
    assert decode_legacy(raw, source=str(path)) == read_header_mapping(path).meta


def test_blosc2_reads_both_entries(rich_file: tuple[Path, MLArray]) -> None:
    path, image = rich_file
    stored = blosc2.open(str(path), mode="r")
    vlmeta = stored.schunk.vlmeta
    assert json.loads(vlmeta["mla"])["meta"]["is_seg"] == {"is_seg": False}
    legacy = pickle.loads(gzip.decompress(vlmeta["mlarray"]))
    assert legacy["spatial"]["spacing"] == image.spacing


def test_switching_the_legacy_entry_off(
    tmp_path: Path, rich_file: tuple[Path, MLArray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "write_legacy_metadata", False)
    path = tmp_path / "json-only.mla"
    _rich_image().save(path)
    assert "mla" in _vlmeta_keys(path)
    assert "mlarray" not in _vlmeta_keys(path)
    assert MLArray.load(path).meta.spatial.coord_system == "LPS"

    # A writable open of a file that has a legacy entry drops it on close, rather
    # than leaving a stale copy of the metadata behind.
    old_path, _ = rich_file
    image = MLArray.open(old_path, mmap_mode="r+")
    image.meta.source["PatientID"] = "edited"
    image.close()
    assert "mlarray" not in _vlmeta_keys(old_path)
    assert MLArray.load(old_path).meta.source["PatientID"] == "edited"

    monkeypatch.setattr(config, "write_legacy_metadata", True)
    _rich_image().save(path)
    assert {"mla", "mlarray"} <= _vlmeta_keys(path)


def test_legacy_entry_is_written_by_default() -> None:
    # Also proves that the monkeypatched setting of the previous test was restored.
    assert config.write_legacy_metadata is True


def test_legacy_entry_alone_is_enough_to_read_a_file(rich_file: tuple[Path, MLArray]) -> None:
    path, image = rich_file
    _replace_entry(path, "mla", None)
    header = read_header_mapping(path)
    assert header.origin == "legacy"
    loaded = MLArray.open(path)
    assert loaded.spacing == image.spacing
    assert loaded.meta.bbox.labels == ["a"]
    assert loaded.meta.spatial.coord_system == "LPS"


def test_legacy_entry_naming_a_global_is_refused(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    _replace_entry(path, "mla", None)
    _replace_entry(path, "mlarray", gzip.compress(pickle.dumps({"source": Path("/etc")})))
    with pytest.raises(UnsafeMetadataError) as info:
        MLArray.open(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_corrupt_envelope_is_a_clear_error(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    _replace_entry(path, "mla", b'{"format": "mla", "format_version": "1.0", "meta": [}')
    for action in (lambda: MLArray.open(path), lambda: MLArray.load(path)):
        with pytest.raises(FileFormatError, match="JSON") as info:
            action()
        assert str(path) in str(info.value)


def test_metadata_invalid_for_the_schema_is_a_clear_error(
    rich_file: tuple[Path, MLArray],
) -> None:
    path, _ = rich_file
    header = read_header_mapping(path)
    meta = header.meta
    meta["spatial"]["spacing"] = [1.0, "2.0", 1.0]  # a string: 0.0.54 refuses it too
    envelope = {"format": "mla", "format_version": "1.0", "meta": meta}
    _replace_entry(path, "mla", json.dumps(envelope).encode())
    with pytest.raises(FileFormatError, match="spacing") as info:
        MLArray.open(path)
    assert str(path) in str(info.value)


def test_newer_major_format_version_is_refused(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    meta = read_header_mapping(path).meta
    envelope = {"format": "mla", "format_version": "2.0", "meta": meta}
    _replace_entry(path, "mla", json.dumps(envelope).encode())
    with pytest.raises(UnsupportedVersionError, match=r"format 2\.x.*supports 1\.x") as info:
        MLArray.load(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------- checksums


def _crcs(path: Path) -> list[int]:
    stored = blosc2.open(str(path), mode="r")  # keep the array alive while its schunk is used
    schunk = stored.schunk
    return [zlib.crc32(schunk.get_chunk(i)) & 0xFFFFFFFF for i in range(schunk.nchunks)]


def _record(path: Path) -> dict[str, object]:
    """The integrity record as docs/reliability.md specifies it, computed from the file."""
    stored = blosc2.open(str(path), mode="r")
    layout = [list(stored.shape), list(stored.chunks), list(stored.blocks), stored.dtype.str]
    crc = zlib.crc32(json.dumps(layout).encode()) & 0xFFFFFFFF
    return {"algorithm": "crc32", "chunks": _crcs(path), "layout": crc}


def test_per_chunk_checksums_are_stored(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    integrity = read_header_mapping(path).integrity
    assert integrity == _record(path)
    assert len(integrity["chunks"]) == 8
    report = verify_file(path)
    assert report.ok
    assert report.checksums
    assert report.chunks_checked == 8


def test_checksums_follow_writes_through_an_open_file(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    before = path.read_bytes()
    image = MLArray.open(path, mmap_mode="r+")
    image[0:3] = 7
    # While the edit is open, the file is untouched ...
    assert path.read_bytes() == before
    assert verify_file(path).ok
    image.close()
    # ... and close() stores the data with fresh checksums.
    assert read_header_mapping(path).integrity == _record(path)
    assert verify_file(path).ok
    assert int(MLArray.open(path)[2, 0, 0]) == 7


def _flip_bit_in_chunk(path: Path, index: int) -> None:
    stored = blosc2.open(str(path), mode="r")
    chunk = stored.schunk.get_chunk(index)
    del stored
    data = bytearray(path.read_bytes())
    start = data.find(chunk)
    assert start >= 0
    assert data.find(chunk, start + 1) == -1
    data[start + len(chunk) // 2] ^= 0x04
    path.write_bytes(bytes(data))


def test_verify_finds_a_flipped_bit_in_chunk_data(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    _flip_bit_in_chunk(path, 5)
    report = verify_file(path)
    assert not report.ok
    assert any("chunk 5 " in problem and "checksum" in problem for problem in report.problems)
    assert not any("chunk 4 " in problem for problem in report.problems)


# ------------------------------------------------- edits by mlarray 0.0.54 after our writes


def test_envelope_records_the_fingerprint_of_the_legacy_entry(
    rich_file: tuple[Path, MLArray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = rich_file
    frame = read_frame(path)
    envelope = json.loads(frame.vlmeta_value("mla"))
    assert envelope["legacy_crc32"] == zlib.crc32(frame.vlmeta_value("mlarray"))
    monkeypatch.setattr(config, "write_legacy_metadata", False)
    json_only = tmp_path / "json-only.mla"
    _rich_image().save(json_only)
    assert "legacy_crc32" not in json.loads(read_frame(json_only).vlmeta_value("mla"))


def test_legacy_entry_rewritten_after_ours_wins(rich_file: tuple[Path, MLArray]) -> None:
    """What ``mlarray`` 0.0.54 does on ``open(mmap_mode='r+')`` + ``close()`` of our file."""
    path, image = rich_file
    integrity = read_header_mapping(path).integrity
    mapping = read_header_mapping(path).meta
    mapping["source"]["data"]["PatientID"] = "edited-by-0.0.54"
    _replace_entry(path, "mlarray", gzip.compress(pickle.dumps(mapping)))
    header = read_header_mapping(path)
    assert header.origin == "legacy"
    assert header.integrity == integrity, "the checksums stay in force"
    assert "holds other metadata, which is used" in header.metadata_problem
    opened = MLArray.open(path)
    assert opened.meta.source["PatientID"] == "edited-by-0.0.54"
    assert opened.spacing == image.spacing
    np.testing.assert_array_equal(MLArray.open(path, verify=True)[...], image.to_numpy())
    report = verify_file(path)
    assert report.problems == [header.metadata_problem]
    assert report.checksums
    # Our next write makes the envelope current again.
    writable = MLArray.open(path, mmap_mode="r+")
    writable.close()
    assert read_header_mapping(path).origin == "mla"
    assert MLArray.load(path).meta.source["PatientID"] == "edited-by-0.0.54"
    assert verify_file(path).ok


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda entry: entry[:4] + bytes([entry[4] ^ 1]) + entry[5:], "holds the same metadata"),
        (lambda entry: entry[:-9] + bytes([entry[-9] ^ 1]) + entry[-8:], "cannot be decoded"),
    ],
    ids=["gzip MTIME", "compressed data"],
)
def test_a_damaged_legacy_entry_keeps_the_checksums_in_force(
    rich_file: tuple[Path, MLArray], damage: Any, expected: str
) -> None:
    """One flipped bit in the legacy entry must not turn the checksums off."""
    path, image = rich_file
    entry = read_frame(path).vlmeta_value("mlarray")
    _replace_entry(path, "mlarray", damage(entry))
    _flip_bit_in_chunk(path, 5)
    header = read_header_mapping(path)
    assert header.origin == "mla"
    assert header.integrity is not None
    assert expected in header.metadata_problem
    assert MLArray.open(path).meta.to_mapping() == image.meta.to_mapping()
    report = verify_file(path)
    assert report.problems[0] == header.metadata_problem
    assert any("chunk 5 " in problem for problem in report.problems[1:])
    with pytest.raises(ChecksumError, match="chunk 5 "):
        MLArray.open(path, verify=True)[...]


def test_a_missing_envelope_in_our_file_is_reported(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    _replace_entry(path, "mla", None)
    header = read_header_mapping(path)
    assert (header.origin, header.integrity, header.expects_integrity) == ("legacy", None, True)
    assert "vlmeta 'mla' is missing" in header.metadata_problem
    assert verify_file(path).problems == [header.metadata_problem]
    with pytest.raises(ChecksumError, match="cannot verify reads: vlmeta 'mla' is missing"):
        MLArray.open(path, verify=True)[...]


def test_unchanged_legacy_entry_keeps_the_envelope(rich_file: tuple[Path, MLArray]) -> None:
    path, _ = rich_file
    frame = read_frame(path)
    _replace_entry(path, "mlarray", frame.vlmeta_value("mlarray"))
    assert read_header_mapping(path).origin == "mla"


@pytest.mark.parametrize("fingerprint", ["123", -1, 2**32, 1.5, True])
def test_malformed_fingerprint_is_a_clear_error(
    rich_file: tuple[Path, MLArray], fingerprint: object
) -> None:
    path, _ = rich_file
    envelope = json.loads(read_frame(path).vlmeta_value("mla"))
    envelope["legacy_crc32"] = fingerprint
    _replace_entry(path, "mla", json.dumps(envelope).encode())
    with pytest.raises(FileFormatError, match="legacy_crc32") as info:
        MLArray.open(path)
    assert str(path) in str(info.value)


def test_metadata_recompressed_by_blosc2_still_opens(tmp_path: Path) -> None:
    """blosc2's own vlmeta setter compresses entries (ZSTD): core decodes them with blosc2."""
    path = tmp_path / "rewritten.mla"
    data = np.arange(4000, dtype=np.int32).reshape(10, 20, 20)
    MLArray(data, spacing=(1.0, 2.0, 3.0), meta={"study": "s" * 300}).save(path)
    stored = blosc2.open(str(path), mode="a")
    for key in ("mla", "mlarray"):
        stored.schunk.vlmeta[key] = stored.schunk.vlmeta[key]
    del stored
    with pytest.raises(CodecRequiredError, match="needs python-blosc2"):
        read_header(path)  # the standard library alone cannot decode ZSTD
    image = MLArray.open(path)
    assert image.meta.source == {"study": "s" * 300}
    assert image.spacing == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(image[...], data)
