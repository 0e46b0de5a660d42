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
