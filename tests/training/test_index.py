"""The foreground index: computed exactly, stored in binary, never used stale."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray._index_store import INDEX_KEY, decode_index
from mlarray.errors import FileFormatError, MetaTypeError, NoArrayError
from mlarray.training import IndexStatus, build_index, index_status, load_index
from mlarray_meta.format import read_frame


def make_mask(seed: int = 0, shape: tuple[int, ...] = (40, 50, 60)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    mask[5:30, 10:40, 20:55] = 1  # large: 1% of it exceeds nothing, 10,000 cap applies
    mask[rng.random(shape) < 0.002] = 2  # scattered voxels
    mask[33:35, 2:4, 7:9] = 3  # tiny
    return mask


def save_mask(path: Path, mask: np.ndarray) -> Path:
    MLArray(mask, meta=Meta(is_seg=True), patch_size=None, chunk_size=(8, 25, 30)).save(path)
    return path


def test_index_matches_numpy(tmp_path: Path) -> None:
    mask = make_mask()
    path = save_mask(tmp_path / "mask.mla", mask)
    assert index_status(path) is IndexStatus.MISSING
    assert load_index(path) is None
    built = build_index(path, seed=7)
    assert index_status(path) is IndexStatus.CURRENT
    loaded = load_index(path)
    assert loaded is not None
    assert [label.value for label in loaded.labels] == [1, 2, 3]
    for label, again in zip(built.labels, loaded.labels, strict=True):
        voxels = np.argwhere(mask == label.value)
        assert label.voxels == again.voxels == len(voxels)
        expected_box = tuple(zip(voxels.min(0).tolist(), (voxels.max(0) + 1).tolist(), strict=True))
        assert label.bbox == again.bbox == expected_box
        expected = min(len(voxels), max(10_000, math.ceil(0.01 * len(voxels))))
        assert len(label.samples) == expected
        np.testing.assert_array_equal(label.samples, again.samples)
        assert np.all(np.diff(label.samples) > 0)  # sorted, no voxel twice
        assert np.all(mask.reshape(-1)[label.samples] == label.value)
        first = loaded.coordinates(again, 0)
        assert mask[first] == label.value
    assert loaded.seed == 7
    assert loaded.shape == mask.shape


def test_seed_decides_the_sample(tmp_path: Path) -> None:
    mask = np.zeros((30, 30, 30), np.uint16)
    mask[2:28, 2:28, 2:28] = 300  # 17,576 voxels: 10,000 of them are kept
    path = save_mask(tmp_path / "m.mla", mask)
    first = build_index(path, seed=1).labels[0].samples
    again = build_index(path, seed=1).labels[0].samples
    other = build_index(path, seed=2, max_samples=50, min_fraction=0.0).labels[0].samples
    np.testing.assert_array_equal(first, again)
    assert len(first) == 10_000
    assert len(other) == 50


def test_stdlib_reader_sees_the_entry(tmp_path: Path) -> None:
    """docs/format.md's layout decoded with struct and zlib alone."""
    mask = make_mask(shape=(20, 30, 40))
    path = save_mask(tmp_path / "m.mla", mask)
    index = build_index(path)
    payload = read_frame(path).vlmeta_value(INDEX_KEY)
    assert isinstance(payload, bytes)
    magic, major, _minor, ndim, width, _ = struct.unpack_from("<8sHHBBH", payload, 0)
    assert (magic, major, ndim, width) == (b"MLAFGIDX", 1, 3, 4)
    offset = 16
    shape = struct.unpack_from("<3Q", payload, offset)
    offset += 24
    _fingerprint, seed, count = struct.unpack_from("<16sQI", payload, offset)
    offset += 28
    assert shape == mask.shape
    assert seed == 0
    assert count == len(index.labels) == 2
    table = []
    for _ in range(count):
        value, voxels, samples = struct.unpack_from("<qQI", payload, offset)
        offset += 20
        box = struct.unpack_from("<6Q", payload, offset)
        offset += 48
        table.append((value, voxels, samples, box))
    body = zlib.decompress(payload[offset:])
    deltas = struct.unpack(f"<{len(body) // 4}I", body)
    position = 0
    for (value, voxels, samples, box), label in zip(table, index.labels, strict=True):
        flat, total = [], 0
        for delta in deltas[position : position + samples]:
            total += delta
            flat.append(total)
        position += samples
        assert (value, voxels) == (label.value, label.voxels)
        assert box == tuple(v for span in label.bbox for v in span)
        assert flat == label.samples.tolist()


def test_closing_a_changed_mask_rewrites_the_index(tmp_path: Path) -> None:
    path = save_mask(tmp_path / "m.mla", make_mask())
    build_index(path, seed=3)
    image = MLArray.open(path, mmap_mode="r+")
    image[0:2, 0:2, 0:2] = 9
    image.close()
    index = load_index(path)
    assert index is not None
    assert index.seed == 3
    assert index.label(9) is not None
    assert index.label(9).bbox == ((0, 2), (0, 2), (0, 2))


def test_an_edit_not_yet_closed_leaves_file_and_index_as_they_were(tmp_path: Path) -> None:
    """Writes go to the edit's working copy: until close() the stored index still fits."""
    path = save_mask(tmp_path / "m.mla", make_mask())
    build_index(path)
    image = MLArray.open(path, mmap_mode="r+")
    image[0:2, 0:2, 0:2] = 9
    assert index_status(path) is IndexStatus.CURRENT
    before = load_index(path)
    assert before is not None
    assert before.label(9) is None
    image.close()
    assert index_status(path) is IndexStatus.CURRENT
    after = load_index(path)
    assert after is not None
    assert after.label(9) is not None


def test_saving_a_changed_copy_rewrites_the_index(tmp_path: Path) -> None:
    path = save_mask(tmp_path / "m.mla", make_mask())
    build_index(path)
    image = MLArray.load(path)
    image[10:12, 10:12, 10:12] = 4
    image.save(tmp_path / "copy.mla")
    index = load_index(tmp_path / "copy.mla")
    assert index is not None
    assert index.label(4) is not None
    unchanged = MLArray.load(path)
    unchanged.save(tmp_path / "same.mla")
    assert index_status(tmp_path / "same.mla") is IndexStatus.CURRENT


def test_open_handles(tmp_path: Path) -> None:
    path = save_mask(tmp_path / "m.mla", make_mask())
    reader = MLArray.open(path)
    build_index(reader)  # read-only handle: its file is rewritten atomically
    assert index_status(path) is IndexStatus.CURRENT
    writer = MLArray.open(path, mmap_mode="r+")
    writer[0, 0, 0] = 5
    build_index(writer)
    writer.close()
    index = load_index(path)
    assert index is not None
    assert index.label(5) is not None
    with pytest.raises(NoArrayError, match="save the MLArray first"):
        build_index(MLArray(make_mask()))


def test_bool_and_refused_masks(tmp_path: Path) -> None:
    flags = np.zeros((10, 10), bool)
    flags[2:4, 5:9] = True
    MLArray(flags).save(tmp_path / "b.mla")
    (label,) = build_index(tmp_path / "b.mla").labels
    assert (label.value, label.voxels, label.bbox) == (1, 8, ((2, 4), (5, 9)))
    MLArray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.mla")
    with pytest.raises(MetaTypeError, match="integer or boolean label mask, got float32"):
        build_index(tmp_path / "f.mla")
    assert index_status(tmp_path / "f.mla") is IndexStatus.MISSING  # file left as it was
    MLArray(np.zeros((4, 4), np.uint8)).save(tmp_path / "empty.mla")
    assert build_index(tmp_path / "empty.mla").labels == ()


def test_damaged_entries(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="expected the magic"):
        decode_index(b"x" * 100, source="t")
    path = save_mask(tmp_path / "m.mla", make_mask(shape=(10, 20, 20)))
    build_index(path)
    payload = read_frame(path).vlmeta_value(INDEX_KEY)
    for cut in (10, 60, len(payload) - 3):
        with pytest.raises(FileFormatError):
            decode_index(payload[:cut], source="t")
    import blosc2

    from mlarray._file_metadata import set_raw_vlmeta

    array = blosc2.open(str(path), mode="a")
    set_raw_vlmeta(array, INDEX_KEY, payload[:-3])
    del array
    assert index_status(path) is IndexStatus.STALE
    assert load_index(path) is None


def test_a_damaged_mask_is_named(tmp_path: Path) -> None:
    mask = np.random.default_rng(2).integers(0, 4, (40, 64, 64)).astype(np.uint8)
    path = save_mask(tmp_path / "m.mla", mask)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64  # inside the compressed chunks
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=DAMAGED_CHUNK):
        build_index(path)
    assert path.read_bytes() == bytes(data)  # left as it was


DAMAGED_CHUNK = (
    r"m\.mla: chunk \d+ \(array region \[.*\]\) does not match its checksum, the file is damaged"
)


@pytest.mark.parametrize("offset", [-4000, -1000, 0, 1000, 4000])
def test_one_flipped_bit_is_never_indexed(tmp_path: Path, offset: int) -> None:
    """A flipped bit that Blosc2 may still decompress is caught by the chunk checksums."""
    mask = np.zeros((40, 64, 64), np.uint8)
    mask[5:30, 10:50, 12:60] = np.random.default_rng(3).integers(1, 3, (25, 40, 48))
    path = save_mask(tmp_path / "m.mla", mask)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 + offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=DAMAGED_CHUNK):
        build_index(path)
    assert path.read_bytes() == bytes(data)


def test_cli(tmp_path: Path) -> None:
    mask = np.zeros((10, 20, 20), np.uint8)
    mask[1:3, 2:4, 5:7] = 1
    mask[5, 5, 5] = 4
    save_mask(tmp_path / "a.mla", mask)
    MLArray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.mla")
    command = [sys.executable, "-m", "mlarray", "index", "a.mla", "f.mla"]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert first.returncode == 1, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "a.mla: indexed 2 labels (1: 8 voxels, 8 samples; 4: 1 voxels, 1 samples)"
    assert lines[1].startswith("f.mla: FAILED: ")
    assert "float32" in lines[1]
    again = subprocess.run(command[:-1], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0
    assert again.stdout == "a.mla: index current, skipped\n"
