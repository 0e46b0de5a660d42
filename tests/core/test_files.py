"""MLArray and files: open, create, load, save (atomic), close, and the errors around them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray._verify import verify_file
from mlarray.errors import (
    FileFormatError,
    MetaValidationError,
    MLArrayError,
    MLArrayFileError,
    ReadOnlyError,
)
from mlarray_meta.header import read_header_mapping

RNG = np.random.default_rng(7)


def _volume(shape: tuple[int, ...] = (12, 14, 16), dtype: str = "float32") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = _volume()
    path = tmp_path / "image.mla"
    MLArray(data, spacing=(1.0, 2.0, 3.0), meta={"study": "s1"}).save(path)
    return path, data


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ------------------------------------------------------------------------------- save / load


def test_save_then_load_round_trips_array_and_metadata(tmp_path: Path) -> None:
    data = _volume()
    meta = Meta(
        source={"patient": "p"},
        extra={"k": [1, 2]},
        is_seg=False,
        bbox={"bboxes": [[[0, 1], [2, 3], [4, 5]]], "scores": [0.9], "labels": [3]},
        stats={"mean": 0.5, "percentile_max_key": 0.95},
    )
    image = MLArray(
        data,
        spacing=(0.5, 0.6, 0.7),
        origin=(1, 2, 3),
        direction=np.eye(3)[::-1],
        meta=meta,
        axis_labels=["spatial_z", "spatial_y", "spatial_x"],
    )
    image.meta.spatial.coord_system = "RAS+"
    image.meta.spatial.axis_units = ["mm", "mm", "mm"]
    path = tmp_path / "full.mla"
    image.save(path)
    for loaded in (MLArray.load(path), MLArray(path), MLArray.open(path)):
        np.testing.assert_array_equal(loaded.to_numpy(), data)
        assert loaded.dtype == np.float32
        expected = image.meta.to_mapping()
        actual = loaded.meta.to_mapping()
        assert actual.pop("_mlarray_version") == {"mlarray_version": mlarray_version()}
        expected.pop("_mlarray_version")
        assert actual == expected


def mlarray_version() -> str:
    import mlarray

    return mlarray.__version__


def test_str_and_path_are_both_accepted(tmp_path: Path) -> None:
    data = _volume((4, 5, 6))
    MLArray(data).save(str(tmp_path / "s.mla"))
    np.testing.assert_array_equal(MLArray.load(str(tmp_path / "s.mla")).to_numpy(), data)
    np.testing.assert_array_equal(MLArray.open(str(tmp_path / "s.mla"))[...], data)


@pytest.mark.parametrize("compressed", [True, False])
def test_load_compressed_flag(saved: tuple[Path, np.ndarray], compressed: bool) -> None:
    path, data = saved
    image = MLArray.load(path, compressed=compressed)
    held = np.shares_memory(image.to_numpy(), image.to_numpy())
    assert held is (not compressed)
    np.testing.assert_array_equal(image.to_numpy(), data)
    assert image.spacing == [1.0, 2.0, 3.0]
    assert image.meta.blosc2.chunk_size == list(blosc2.open(str(path)).chunks)
    ctor = MLArray(path, compressed=compressed)
    assert np.shares_memory(ctor.to_numpy(), ctor.to_numpy()) is (not compressed)


def test_load_is_detached_from_the_file(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    image = MLArray.load(path)
    image[0] = 0.0
    image.meta.source["study"] = "changed"
    image.close()
    reloaded = MLArray.load(path)
    np.testing.assert_array_equal(reloaded.to_numpy(), data)
    assert reloaded.meta.source == {"study": "s1"}


def test_load_dparams_are_recorded(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    assert MLArray.load(path).meta.blosc2.dparams == {"nthreads": 1}
    assert MLArray.load(path, dparams={"nthreads": 2}).meta.blosc2.dparams == {"nthreads": 2}
    assert MLArray.open(path, dparams={"nthreads": 3}).meta.blosc2.dparams == {"nthreads": 3}


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "atomic.mla"
    first, second = _volume(), _volume()
    MLArray(first).save(path)
    MLArray(second).save(path)
    assert _leftovers(tmp_path, {"atomic.mla"}) == []
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), second)


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.mla"
    original = _volume()
    MLArray(original, meta={"version": 1}).save(path)
    before = path.read_bytes()

    # Nested in place, past the checks on assignment: deeper than the file format allows.
    too_deep = MLArray(_volume(), meta={"a": {}})
    node = too_deep.meta.source["a"]
    for _ in range(80):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ValueError, match="nested deeper") as info:
        too_deep.save(path)
    assert isinstance(info.value, MLArrayError)
    assert "meta.source" in str(info.value)

    invalid = MLArray(_volume(), spacing=[1.0, 1.0, 1.0])
    invalid.spacing.append(1.0)
    with pytest.raises(MetaValidationError, match="spacing"):
        invalid.save(path)

    non_json = MLArray(_volume(), meta={"outer": {}})
    non_json.meta.source["outer"]["inner"] = {1, 2}  # a nested edit bypasses the setter
    with pytest.raises(TypeError, match="set") as info_type:
        non_json.save(path)
    assert "meta.source" in str(info_type.value)

    assert path.read_bytes() == before
    assert _leftovers(tmp_path, {"keep.mla"}) == []
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), original)


def test_save_keeps_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "perm.mla"
    MLArray(_volume((3, 4, 5))).save(path)
    path.chmod(0o640)
    MLArray(_volume((3, 4, 5))).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_save_into_a_missing_folder_names_it(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.mla"
    with pytest.raises(RuntimeError, match="missing") as info:
        MLArray(_volume((3, 4, 5))).save(target)
    assert isinstance(info.value, MLArrayFileError)
    assert not target.parent.exists()


def test_save_over_the_file_an_image_is_open_on(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    image = MLArray.open(path, mmap_mode="r+")
    image[0] = 1.0
    image.save(path)
    image[1] = 2.0  # still writable, on the new file
    image.close()
    expected = data.copy()
    expected[0], expected[1] = 1.0, 2.0
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), expected)
    assert verify_file(path).ok


def test_save_an_open_image_elsewhere(saved: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, data = saved
    image = MLArray.open(path)
    copy_path = tmp_path / "copy.mla"
    image.save(copy_path)
    np.testing.assert_array_equal(MLArray.load(copy_path).to_numpy(), data)
    assert MLArray.load(copy_path).spacing == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(image[...], data)


# ----------------------------------------------------------------------------------- open


def test_open_defaults_to_read_only_mmap(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    image = MLArray.open(path)
    assert (image.mode, image.mmap_mode) == ("r", "r")
    np.testing.assert_array_equal(image[2:5, :, -3:], data[2:5, :, -3:])
    assert image.spacing == [1.0, 2.0, 3.0]
    assert image.meta.source == {"study": "s1"}


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r"), ("r", None), ("a", "r")])
def test_writing_through_a_read_only_open_raises(
    saved: tuple[Path, np.ndarray], mode: str, mmap_mode: str | None
) -> None:
    path, data = saved
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    with pytest.raises(RuntimeError, match="read-only") as info:
        image[0] = 0.0
    assert isinstance(info.value, ReadOnlyError)
    assert isinstance(info.value, PermissionError)
    assert str(path) in str(info.value)
    image.close()
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), data)


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r+"), ("a", None), ("a", "r+")])
def test_writable_opens_write_through_to_the_file(
    saved: tuple[Path, np.ndarray], mode: str, mmap_mode: str | None
) -> None:
    path, data = saved
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    image[10:12, 5:8] *= 5
    image[0] = -1.0
    expected = data.copy()
    expected[10:12, 5:8] *= 5
    expected[0] = -1.0
    np.testing.assert_array_equal(image[...], expected)
    del image  # even without close() the data is in the file
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), expected)


def test_copy_on_write_open_keeps_changes_in_memory(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    image = MLArray.open(path, mmap_mode="c")
    image[0] = 0.0
    image.meta.source["study"] = "cow"
    assert float(np.abs(image[0]).sum()) == 0.0
    image.close()
    reloaded = MLArray.load(path)
    np.testing.assert_array_equal(reloaded.to_numpy(), data)
    assert reloaded.meta.source == {"study": "s1"}


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r+"), ("a", None)])
def test_close_persists_metadata_edits_in_writable_modes(
    saved: tuple[Path, np.ndarray], mode: str, mmap_mode: str | None
) -> None:
    path, _ = saved
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    image.meta.source["study"] = "new-study"
    image.spacing[0] = 9.5
    image.meta.is_seg = True
    image.close()
    assert image.shape is None, "closed: no attached array"
    reloaded = MLArray.load(path)
    assert reloaded.meta.source == {"study": "new-study"}
    assert reloaded.spacing == [9.5, 2.0, 3.0]
    assert reloaded.meta.is_seg.value is True
    assert verify_file(path).ok


def test_with_block_stores_the_edit_at_its_end(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    before = path.read_bytes()
    with MLArray.open(path, mmap_mode="r+") as image:
        image[0] = 5
        image.meta.source["study"] = "edited"
        assert path.read_bytes() == before  # nothing stored before the block ends
    assert image.filepath is None
    stored = MLArray.open(path)
    assert stored.meta.source["study"] == "edited"
    np.testing.assert_array_equal(stored[0], np.full_like(data[0], 5))
    assert verify_file(path).ok


def _fail_inside(image: MLArray) -> None:
    """Write to ``image`` in a ``with`` block that then raises."""
    with image:
        image[0] = 5
        image.meta.source["study"] = "half done"
        raise ZeroDivisionError


def test_with_block_that_raises_discards_the_edit(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    before = path.read_bytes()
    image = MLArray.open(path, mmap_mode="r+")
    with pytest.raises(ZeroDivisionError):
        _fail_inside(image)
    assert image.filepath is None
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # copy removed
    with pytest.raises(ZeroDivisionError):
        _fail_inside(MLArray.create(path, (4, 4), np.uint8))
    assert path.read_bytes() == before


def test_an_edit_never_closed_is_stored_at_exit(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    script = (
        "import sys; from mlarray import MLArray\n"
        "image = MLArray.open(sys.argv[1], mmap_mode='r+')\n"
        "image[0] = 3\n"
        "image.meta.source['study'] = 'stored at exit'\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)
    stored = MLArray.open(path)
    assert stored.meta.source["study"] == "stored at exit"
    assert int(stored[0, 0, 0]) == 3
    assert verify_file(path).ok


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r"), ("r", None)])
def test_metadata_edits_on_a_read_only_handle_are_refused_at_close(
    saved: tuple[Path, np.ndarray], mode: str, mmap_mode: str | None
) -> None:
    path, _ = saved
    before = path.read_bytes()
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    image.meta.source["study"] = "lost"
    with pytest.raises(ReadOnlyError, match=r"metadata was edited, but the file was opened"):
        image.close()
    assert image.filepath is None  # closed all the same
    assert path.read_bytes() == before
    opened = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    with pytest.raises(ReadOnlyError, match=str(path.name)), opened:
        opened.spacing = [9.0, 9.0, 9.0]
    MLArray.open(path, mode=mode, mmap_mode=mmap_mode).close()  # reading only: fine


def test_copy_on_write_writes_that_grow_the_file_stay_in_memory(tmp_path: Path) -> None:
    """Blosc2 writes them past the end of its private mapping of the file: SIGBUS."""
    path = tmp_path / "grow.mla"
    MLArray(np.zeros((48, 96, 96), np.int16), patch_size=None, chunk_size=(16, 32, 32)).save(path)
    before = path.read_bytes()
    image = MLArray.open(path, mmap_mode="c")
    noise = np.random.default_rng(0).integers(0, 2**15, (48, 96, 96)).astype(np.int16)
    image[...] = noise
    np.testing.assert_array_equal(image[...], noise)
    image.close()
    assert path.read_bytes() == before


def test_copy_on_write_keeps_metadata_edits_in_memory(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    before = path.read_bytes()
    image = MLArray.open(path, mmap_mode="c")
    image.meta.source["study"] = "in memory"
    image[0] = 0
    assert image.meta.source["study"] == "in memory"
    assert not image[0].any()
    image.close()
    assert path.read_bytes() == before
    np.testing.assert_array_equal(MLArray.open(path)[...], data)


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r+"), ("a", None)])
def test_close_leaves_an_unchanged_writable_file_untouched(
    saved: tuple[Path, np.ndarray], mode: str, mmap_mode: str | None
) -> None:
    """Reading through a writable handle and closing it rewrites nothing."""
    path, data = saved
    before, status = path.read_bytes(), path.stat()
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    np.testing.assert_array_equal(image[...], data)
    image.meta.source["study"] = "edited"
    image.meta.source["study"] = MLArray.load(path).meta.source["study"]  # and undone
    image.close()
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == status.st_mtime_ns


def test_close_after_a_data_write_records_fresh_checksums(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    image = MLArray.open(path, mmap_mode="r+")
    image[0, 0, 0] = data[0, 0, 0]  # the same value: still a write
    image.close()
    assert read_header_mapping(path).integrity is not None
    assert verify_file(path).ok


def test_close_refuses_invalid_metadata_and_keeps_the_file(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    image = MLArray.open(path, mmap_mode="r+")
    image.spacing.append(4.0)
    with pytest.raises(ValueError, match="spacing"):
        image.close()
    assert MLArray.load(path).spacing == [1.0, 2.0, 3.0]


def test_close_twice_and_after_close(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    image = MLArray.open(path, mmap_mode="r+")
    image.close()
    image.close()
    assert (image.shape, image.dtype, image.ndim) == (None, None, None)
    with pytest.raises(TypeError, match="no array"):
        image[0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"mode": "w"}, "mode='w'"),
        ({"mode": "r+"}, "mode='r+'"),
        ({"mmap_mode": "w+"}, "mmap_mode='w+'"),
        ({"mmap_mode": "rw"}, "mmap_mode='rw'"),
        ({"mode": None}, "mode=None"),
    ],
)
def test_open_with_invalid_modes(
    saved: tuple[Path, np.ndarray], kwargs: dict, fragment: str
) -> None:
    path, _ = saved
    with pytest.raises(RuntimeError, match="not valid for opening") as info:
        MLArray.open(path, **kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, MLArrayFileError)


# --------------------------------------------------------------------------------- create


def test_create_is_stored_when_the_handle_goes_away_without_close(tmp_path: Path) -> None:
    path = tmp_path / "created.mla"
    data = _volume((20, 30, 40))
    image = MLArray.create(path, shape=data.shape, dtype=data.dtype, meta={"k": "v"})
    assert (image.mode, image.mmap_mode) == ("w", "w+")
    assert image.shape == data.shape
    assert image.dtype == np.float32
    assert image.meta.blosc2.patch_size == [192, 192, 192]
    image[...] = data
    assert not path.exists()  # built next to it, put in place complete
    del image
    header = read_header_mapping(path)
    assert header.shape == (20, 30, 40)
    assert header.meta["source"] == {"data": {"k": "v"}}
    loaded = MLArray.load(path)
    np.testing.assert_array_equal(loaded.to_numpy(), data)
    assert loaded.meta.source == {"k": "v"}
    assert verify_file(path).ok


def test_create_then_close_stores_checksums_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "closed.mla"
    image = MLArray.create(path, (8, 9, 10), np.int16, mmap_mode=None)
    assert (image.mode, image.mmap_mode) == ("w", None)
    image[...] = 3
    image.meta.source["written"] = True
    image.spacing = [1.0, 1.0, 2.0]
    image.close()
    report = verify_file(path)
    assert report.ok
    assert report.checksums
    loaded = MLArray.load(path)
    assert int(loaded.to_numpy().sum()) == 3 * 8 * 9 * 10
    assert loaded.meta.source == {"written": True}
    assert loaded.spacing == [1.0, 1.0, 2.0]


def test_create_overwrites_and_accepts_layout_arguments(tmp_path: Path) -> None:
    path = tmp_path / "over.mla"
    MLArray(_volume((3, 3, 3))).save(path)
    image = MLArray.create(
        path,
        [16, 16],
        "uint8",
        patch_size=None,
        chunk_size=(8, 16),
        block_size=(4, 8),
        cparams={"codec": blosc2.Codec.ZSTD, "clevel": 1},
    )
    image[...] = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image.close()
    stored = blosc2.open(str(path))
    assert stored.shape == (16, 16)
    assert stored.chunks == (8, 16)
    assert stored.blocks == (4, 8)
    assert stored.schunk.cparams.codec == blosc2.Codec.ZSTD
    assert MLArray.load(path).meta.blosc2.cparams["clevel"] == 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"mode": "r"}, "mode='r'"),
        ({"mode": "a"}, "mode='a'"),
        ({"mmap_mode": "r+"}, "mmap_mode='r+'"),
        ({"mmap_mode": "r"}, "mmap_mode='r'"),
        ({"mmap_mode": "c"}, "mmap_mode='c'"),
    ],
)
def test_create_with_invalid_modes(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(RuntimeError, match="not valid for creating") as info:
        MLArray.create(tmp_path / "x.mla", (2, 2), np.uint8, **kwargs)
    assert fragment in str(info.value)
    assert not (tmp_path / "x.mla").exists()


def test_create_with_inconsistent_layout_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="patch_size"):
        MLArray.create(tmp_path / "x.mla", (8, 8, 8), np.uint8, patch_size=4, chunk_size=4)


# ----------------------------------------------------------------------- bad paths and files

PATH_ERRORS = [
    ("image.npy", "expected the extension '.mla', got '.npy'"),
    ("image", "expected the extension '.mla', got ''"),
    ("image.MLA", "expected the extension '.mla', got '.MLA'"),
    ("image.mla.gz", "expected the extension '.mla', got '.gz'"),
]


def _path_actions(path: Path, *, writes: bool = True) -> list[Callable[[], object]]:
    """Every public way to read (and, with ``writes``, to write) a file at ``path``."""
    reads: list[Callable[[], object]] = [
        lambda: MLArray.open(path),
        lambda: MLArray.load(path),
        lambda: MLArray(path),
    ]
    if not writes:
        return reads
    return [
        *reads,
        lambda: MLArray(_volume((2, 2))).save(path),
        lambda: MLArray.create(path, (2, 2), np.uint8),
    ]


@pytest.mark.parametrize(("name", "message"), PATH_ERRORS)
def test_wrong_extension_everywhere(tmp_path: Path, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    for action in _path_actions(path):
        with pytest.raises(RuntimeError) as info:
            action()
        assert isinstance(info.value, MLArrayFileError)
        assert message in str(info.value)
        assert name in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.mla"
    for action in _path_actions(path, writes=False):
        with pytest.raises(RuntimeError, match="no such file") as info:
            action()
        assert str(path) in str(info.value)
        assert isinstance(info.value, MLArrayFileError)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    path = tmp_path / "folder.mla"
    path.mkdir()
    for action in _path_actions(path):
        with pytest.raises(RuntimeError, match="directory") as info:
            action()
        assert str(path) in str(info.value)
    assert path.is_dir()


def test_path_of_wrong_type() -> None:
    with pytest.raises(RuntimeError, match="expected a path"):
        MLArray.open(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content",
    [b"", b"not a blosc2 frame" * 20, b"\x00" * 300],
    ids=["empty", "text", "zeros"],
)
def test_garbage_files_give_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.mla"
    path.write_bytes(content)
    for action in (lambda: MLArray.open(path), lambda: MLArray.load(path), lambda: MLArray(path)):
        with pytest.raises(FileFormatError) as info:
            action()
        assert isinstance(info.value, ValueError)
        assert str(path) in str(info.value)


def test_truncated_file_gives_a_clear_error(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 5, 40):
        path.write_bytes(data[:cut])
        with pytest.raises(FileFormatError) as info:
            MLArray.load(path)
        assert str(path) in str(info.value)


def test_plain_blosc2_file_opens_without_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.mla"
    data = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    blosc2.asarray(data, urlpath=str(path), mode="w")
    image = MLArray.open(path)
    np.testing.assert_array_equal(image[...], data)
    assert image.meta.source == {}
    assert image.meta.spatial.shape == [3, 4, 5]
    assert image.meta.blosc2.chunk_size == list(blosc2.open(str(path)).chunks)


# ---------------------------------------------------------------------- metadata-only files


def test_metadata_only_image_saves_loads_and_opens(tmp_path: Path) -> None:
    path = tmp_path / "boxes.mla"
    image = MLArray(
        meta=Meta(
            source={"model": "detector-v2"},
            bbox={"bboxes": [[[1, 5], [2, 6], [3, 7]]], "scores": [0.75], "labels": ["lesion"]},
        ),
        spacing=(0.5, 0.5, 1.0),
    )
    assert image.meta._has_array.value is False
    image.save(path)
    for loaded in (MLArray.load(path), MLArray(path), MLArray.open(path)):
        assert loaded.shape is None
        assert loaded.dtype is None
        assert loaded.meta._has_array.value is False
        assert loaded.meta.source == {"model": "detector-v2"}
        assert loaded.meta.bbox.labels == ["lesion"]
        assert loaded.meta.bbox.scores == [0.75]
        assert loaded.spacing == [0.5, 0.5, 1.0]
        np.testing.assert_array_equal(loaded.affine, np.diag([0.5, 0.5, 1.0, 1.0]))
        with pytest.raises(TypeError, match="no array"):
            loaded.to_numpy()
    assert read_header_mapping(path).meta["_has_array"] == {"has_array": False}
    assert verify_file(path).ok


def test_metadata_only_open_r_plus_persists_edits(tmp_path: Path) -> None:
    path = tmp_path / "meta-only.mla"
    MLArray(meta={"a": 1}).save(path)
    image = MLArray.open(path, mmap_mode="r+")
    image.meta.source["a"] = 2
    image.meta.bbox = {"bboxes": [[[0, 1], [0, 1]]]}
    image.close()
    reloaded = MLArray.load(path)
    assert reloaded.meta.source == {"a": 2}
    assert reloaded.meta.bbox.bboxes == [[[0, 1], [0, 1]]]
    assert reloaded.meta._has_array.value is False
    assert verify_file(path).ok
    read_only = MLArray.open(path)
    read_only.meta.source["a"] = 3
    with pytest.raises(ReadOnlyError):
        read_only.close()
    assert MLArray.load(path).meta.source == {"a": 2}


# -------------------------------------------------------------------------- shapes and axes


def test_four_d_with_a_channel_axis(tmp_path: Path) -> None:
    data = _volume((3, 20, 24, 28))
    labels = ["channel", "spatial_x", "spatial_y", "spatial_z"]
    image = MLArray(data, axis_labels=labels, spacing=(1.0, 2.0, 3.0))
    assert image.meta.blosc2.chunk_size[0] == 1
    assert image.meta.blosc2.block_size[0] == 1
    assert image.meta.blosc2.patch_size == [192, 192, 192]
    path = tmp_path / "4d.mla"
    image.save(path)
    loaded = MLArray.open(path)
    assert loaded.meta.spatial.axis_labels == labels
    assert (loaded.ndim, loaded.spatial_ndim) == (4, 3)
    np.testing.assert_array_equal(loaded[1, 5:10, :, -1], data[1, 5:10, :, -1])
    assert loaded.scale == [1.0, 2.0, 3.0]


def test_two_d_images(tmp_path: Path) -> None:
    data = RNG.integers(0, 255, (300, 500), dtype=np.uint8)
    image = MLArray(data, spacing=(0.5, 0.7), origin=(10.0, 20.0))
    assert image.meta.blosc2.patch_size == [192, 192]
    assert image.affine.shape == (3, 3)
    path = tmp_path / "2d.mla"
    image.save(path)
    loaded = MLArray.load(path)
    np.testing.assert_array_equal(loaded.to_numpy(), data)
    assert loaded.spacing == [0.5, 0.7]
    assert loaded.translation == [10.0, 20.0]


@pytest.mark.parametrize("shape", [(17,), (2, 3, 4, 5, 6)])
def test_other_dimensionalities_use_blosc2_layout(tmp_path: Path, shape: tuple[int, ...]) -> None:
    data = _volume(shape)
    image = MLArray(data)
    assert image.meta.blosc2.patch_size == [192] * len(shape), "the request is recorded"
    path = tmp_path / "nd.mla"
    image.save(path)
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), data)


def test_zero_length_axis_round_trips(tmp_path: Path) -> None:
    data = np.zeros((0, 4, 5), dtype=np.int16)
    path = tmp_path / "empty.mla"
    MLArray(data).save(path)
    for loaded in (MLArray.load(path), MLArray.open(path)):
        assert loaded.shape == (0, 4, 5)
        assert loaded.meta._has_array.value is True
        assert loaded[...].shape == (0, 4, 5)
    assert verify_file(path).ok
    assert MLArray.zeros((3, 0), np.uint8).shape == (3, 0)
    created = MLArray.create(tmp_path / "created-empty.mla", (0, 2, 2), np.float32)
    created.close()
    assert MLArray.load(tmp_path / "created-empty.mla").shape == (0, 2, 2)


def test_file_is_not_world_writable_by_default(tmp_path: Path) -> None:
    path = tmp_path / "mode.mla"
    old = os.umask(0o022)
    try:
        MLArray(_volume((2, 3, 4))).save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("how", ["compressed=False", "decompress()"])
def test_numpy_backed_save_records_the_layout_written(tmp_path: Path, how: str) -> None:
    data = _volume((20, 24, 28))
    if how == "compressed=False":
        image = MLArray(data, compressed=False)
    else:
        image = MLArray(data, patch_size=None, chunk_size=(10, 12, 14), block_size=(5, 6, 7))
        image.decompress()
        assert image.meta.blosc2.chunk_size is None
    path = tmp_path / "numpy-backed.mla"
    image.save(path)
    header = read_header_mapping(path)
    assert header.meta["blosc2"]["chunk_size"] == list(header.chunks)
    assert header.meta["blosc2"]["block_size"] == list(header.blocks)
    assert header.meta["blosc2"] == MLArray.open(path).meta.blosc2.to_mapping()
    assert verify_file(path).ok


def test_explicit_arguments_win_over_a_loaded_file(tmp_path: Path) -> None:
    path = tmp_path / "base.mla"
    data = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)  # labels: is_seg=True
    MLArray(data, spacing=(1, 2, 3), meta=Meta(source={"a": 1}, is_seg=True)).save(path)

    with_source = MLArray(path, meta={"b": 2})
    assert with_source.meta.source == {"b": 2}
    assert with_source.spacing == [1, 2, 3], "not given: kept from the file"
    assert with_source.meta.is_seg.value is True
    assert with_source.meta.spatial.shape == [4, 5, 6]
    assert with_source.meta.blosc2.chunk_size == list(blosc2.open(str(path)).chunks)

    with_meta = MLArray(path, meta=Meta(is_seg=False), origin=(7, 8, 9))
    assert with_meta.meta.is_seg.value is False
    assert with_meta.meta.source == {"a": 1}
    assert with_meta.origin == [7, 8, 9]
    assert with_meta.spacing == [1, 2, 3]

    with_affine = MLArray(path, affine=np.diag([2.0, 2.0, 2.0, 1.0]))
    assert with_affine.spacing is None
    assert with_affine.scale == [2.0, 2.0, 2.0]

    copied = MLArray(path, copy=MLArray(meta={"c": 3}, origin=(9, 9, 9)))
    assert copied.origin == [9, 9, 9], "the file has no origin: copy fills it"
    assert copied.meta.source == {"a": 1}, "the file's own metadata is not replaced"

    out = tmp_path / "out.mla"
    with_meta.save(out)
    reloaded = MLArray.load(out)
    assert reloaded.origin == [7, 8, 9]
    np.testing.assert_array_equal(reloaded.to_numpy(), data)
