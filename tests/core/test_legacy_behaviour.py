"""Public behaviour that code written against ``mlarray`` 0.0.54 relies on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray.errors import ReadOnlyFieldError


def _volume() -> np.ndarray:
    return np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)


@pytest.mark.parametrize(
    "make",
    [
        lambda path: MLArray.open(path),
        lambda path: MLArray.open(path, mmap_mode="r+"),
        lambda path: MLArray.open(path, mode="a", mmap_mode=None),
        lambda path: MLArray.create(path.with_name("new.mla"), (4, 5, 6), np.uint8),
    ],
    ids=["open", "open_r+", "open_a", "create"],
)
def test_filepath_is_a_str(tmp_path: Path, make: object) -> None:
    path = tmp_path / "a.mla"
    MLArray(_volume()).save(path)
    image = make(path)  # type: ignore[operator]
    assert type(image.filepath) is str
    assert Path(image.filepath).parent == tmp_path
    image.close()
    assert image.filepath is None


def test_filepath_of_in_memory_arrays_is_none(tmp_path: Path) -> None:
    assert MLArray(_volume()).filepath is None
    path = tmp_path / "a.mla"
    MLArray(_volume()).save(path)
    assert MLArray.load(path).filepath is None


def test_meta_cannot_be_replaced_but_its_sections_can(tmp_path: Path) -> None:
    image = MLArray(_volume(), spacing=(1.0, 2.0, 3.0), meta={"PatientID": "a"})
    before = image.meta
    with pytest.raises(AttributeError, match=r"MLArray.meta cannot be replaced") as raised:
        image.meta = Meta()  # type: ignore[misc]
    assert isinstance(raised.value, ReadOnlyFieldError)
    assert image.meta is before
    assert image.spacing == [1.0, 2.0, 3.0]
    assert image.meta.source == {"PatientID": "a"}

    image.meta.source = {"PatientID": "b"}
    image.meta.stats = {"min": 0.0}
    image.meta.is_seg = True
    assert (image.meta.source["PatientID"], image.meta.stats.min) == ("b", 0.0)
    image.save(tmp_path / "b.mla")
    reread = MLArray.open(tmp_path / "b.mla")
    assert reread.meta.source == {"PatientID": "b"}
    assert reread.meta.is_seg.value is True
    with pytest.raises(AttributeError):
        reread.meta = {"PatientID": "c"}  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, (None, None)),
        ({"spacing": [1.0, 2.0, 3.0]}, (3, 3)),
        ({"origin": [0.0, 0.0]}, (2, 2)),
        ({"direction": np.eye(3)}, (3, 3)),
        ({"affine": np.eye(3)}, (2, 2)),
        ({"axis_labels": ["channel", "spatial_x", "spatial_y"]}, (3, 2)),
        (
            {"axis_labels": ["temporal", "spatial", "spatial", "spatial"], "spacing": [1, 1, 1]},
            (4, 3),
        ),
    ],
)
def test_metadata_only_files_report_ndim_from_their_metadata(
    tmp_path: Path, kwargs: dict[str, object], expected: tuple[int | None, int | None]
) -> None:
    image = MLArray(**kwargs)  # type: ignore[arg-type]
    assert (image.ndim, image.spatial_ndim) == expected
    path = tmp_path / "meta_only.mla"
    image.save(path)
    for reread in (MLArray.open(path), MLArray.load(path), MLArray(path)):
        assert reread.shape is None
        assert (reread.ndim, reread.spatial_ndim) == expected


CHANNEL_FIRST = ["channel", "spatial_x", "spatial_y", "spatial_z"]


@pytest.mark.parametrize(
    ("shape", "kwargs", "recorded"),
    [  # what mlarray 0.0.54 records for the same calls
        ((20, 24, 28), {}, [192, 192, 192]),
        ((20, 24, 28), {"patch_size": 64}, [64, 64, 64]),
        ((20, 24, 28), {"patch_size": [8, 16, 300]}, [8, 16, 300]),
        ((20, 24, 28), {"patch_size": None}, None),
        ((20, 24, 28), {"chunk_size": [10, 12, 14], "block_size": [5, 6, 7]}, None),
        ((2, 20, 24, 28), {}, [192, 192, 192, 192]),
        ((2, 20, 24, 28), {"axis_labels": CHANNEL_FIRST}, [192, 192, 192]),
        ((3, 30, 40), {"axis_labels": ["channel", "spatial", "spatial"]}, [192, 192]),
        ((30, 40), {}, [192, 192]),
        ((30,), {}, [192]),
        ((2, 2, 3, 4, 5), {}, [192] * 5),
    ],
)
def test_patch_size_records_the_request_unclipped(
    tmp_path: Path, shape: tuple[int, ...], kwargs: dict[str, object], recorded: list[int] | None
) -> None:
    data = np.zeros(shape, np.float32)
    image = MLArray(data, **kwargs)  # type: ignore[arg-type]
    assert image.meta.blosc2.patch_size == recorded
    store = image._backing.array
    assert (image.meta.blosc2.chunk_size, image.meta.blosc2.block_size) == (
        list(store.chunks),
        list(store.blocks),
    ), "chunks and blocks record the layout used"
    path = tmp_path / "a.mla"
    image.save(path)
    for reread in (MLArray.open(path), MLArray.load(path), MLArray.load(path, compressed=False)):
        assert reread.meta.blosc2.patch_size == recorded


def test_compress_and_create_record_the_requested_patch(tmp_path: Path) -> None:
    image = MLArray(np.zeros((20, 24, 28), np.int16))
    image.compress(patch_size=64)
    assert image.meta.blosc2.patch_size == [64, 64, 64]
    image.compress()
    assert image.meta.blosc2.patch_size == [192, 192, 192]
    image.compress(patch_size=None)
    assert image.meta.blosc2.patch_size is None
    created = MLArray.create(tmp_path / "c.mla", (20, 24, 28), np.int16, patch_size=(16, 32, 64))
    assert created.meta.blosc2.patch_size == [16, 32, 64]
    created.close()
    assert MLArray.open(tmp_path / "c.mla").meta.blosc2.patch_size == [16, 32, 64]


def test_relabelling_axes_after_construction_refits_an_isotropic_patch(tmp_path: Path) -> None:
    image = MLArray(np.zeros((2, 8, 9, 10), np.float32))
    assert image.meta.blosc2.patch_size == [192] * 4  # no labels: every axis is spatial
    image.meta.spatial.axis_labels = CHANNEL_FIRST
    image.save(tmp_path / "a.mla")
    assert MLArray.open(tmp_path / "a.mla").meta.blosc2.patch_size == [192, 192, 192]

    labelled = MLArray(np.zeros((8, 9, 10), np.float32), patch_size=(4, 8, 8))
    labelled.meta.spatial.axis_labels = ["channel", "spatial", "spatial"]
    labelled.save(tmp_path / "b.mla")
    assert MLArray.open(tmp_path / "b.mla").meta.blosc2.patch_size is None
