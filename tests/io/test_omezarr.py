"""OME-Zarr (NGFF 0.5) to and from .mla, checked with ome-zarr-py's own reader."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlarray_io
from mlarray import MLArray
from mlarray.errors import MetaTypeError, MetaValidationError, MLArrayFileError
from mlarray_io import from_ome_zarr, to_ome_zarr
from mlarray_io.errors import (
    ImageFormatError,
    ObliqueGeometryWarning,
    OutputExistsError,
    SourceNotFoundError,
)
from tests.io._conversion import run_mlarray
from tests.io._images import ct_volume, oblique_affine, probe_indices, world
from tests.reliability._small_disk import tmpfs

ome_io = pytest.importorskip("ome_zarr.io", reason="needs mlarray-io[zarr]")
ome_reader = pytest.importorskip("ome_zarr.reader", reason="needs mlarray-io[zarr]")
ome_writer = pytest.importorskip("ome_zarr.writer", reason="needs mlarray-io[zarr]")
ome_format = pytest.importorskip("ome_zarr.format", reason="needs mlarray-io[zarr]")
zarr = pytest.importorskip("zarr", reason="needs mlarray-io[zarr]")
ome_models = pytest.importorskip("ome_zarr_models", reason="ome-zarr-py brings it")

SPACING = [0.75, 0.5, 2.5]
ORIGIN = [-31.0, 12.5, 4.0]


def read_with_ome_zarr(path: Path) -> tuple[Any, list[np.ndarray]]:
    """The image node ome-zarr-py's reader finds (napari-ome-zarr uses it) and its levels.

    The group is first validated against the NGFF 0.5 models of ome-zarr-models.
    """
    model = ome_models.open_ome_zarr(zarr.open_group(str(path), mode="r"))
    assert type(model).__module__.startswith("ome_zarr_models.v05.")
    nodes = list(ome_reader.Reader(ome_io.parse_url(str(path)))())
    node = nodes[0]
    return node, [np.asarray(level) for level in node.data]


def ngff_world(node: Any, level: int, index: np.ndarray) -> np.ndarray:
    """World coordinate (x, y, z) of voxel ``index`` (x, y, z) of a level, NGFF's way."""
    scale, translation = (t[t["type"]] for t in node.metadata["coordinateTransformations"][level])
    point = np.asarray(scale)[-3:] * index[::-1] + np.asarray(translation)[-3:]
    return point[::-1]


def assert_same_image(got: MLArray, expected: MLArray) -> None:
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got.affine, expected.affine, rtol=0, atol=1e-12)
    assert got.meta.spatial.axis_labels == expected.meta.spatial.axis_labels
    assert got.meta.spatial.axis_units == expected.meta.spatial.axis_units
    assert got.meta.is_seg.value == expected.meta.is_seg.value


def test_cli_round_trip_with_a_pyramid(tmp_path: Path) -> None:
    data = ct_volume((33, 20, 9))
    image = MLArray(data, spacing=SPACING, origin=ORIGIN, axis_labels=None)
    image.meta.set_bbox([[[2, 9], [3, 8], [1, 4]]])
    image.meta.update_extra({"study": "phantom"})
    image.save(tmp_path / "scan.mla")
    result = run_mlarray(
        "convert", tmp_path / "scan.mla", tmp_path / "scan.ome.zarr", "--levels", "3"
    )
    assert result.returncode == 0, result.stderr
    back = run_mlarray("convert", tmp_path / "scan.ome.zarr", tmp_path / "back.mla")
    assert back.returncode == 0, back.stderr
    again = MLArray.open(tmp_path / "back.mla")
    np.testing.assert_array_equal(again.to_numpy(), data)
    np.testing.assert_allclose(again.affine, image.affine, atol=1e-12)
    assert again.meta.bbox.bboxes == [[[2, 9], [3, 8], [1, 4]]]
    extra = again.meta.extra.to_plain()
    assert extra.pop("conversion")["levels"] == 1  # how back.mla was made, for reruns
    assert extra == {"study": "phantom"}
    node, levels = read_with_ome_zarr(tmp_path / "scan.ome.zarr")
    assert [level.shape for level in levels] == [(9, 20, 33), (5, 10, 17), (3, 5, 9)]
    np.testing.assert_array_equal(levels[0], data.transpose(2, 1, 0))
    assert node.metadata["axes"] == [
        {"name": "z", "type": "space"},
        {"name": "y", "type": "space"},
        {"name": "x", "type": "space"},
    ]
    for level in range(3):
        factor = 2**level
        for index in probe_indices(levels[level].shape[::-1]):
            level0 = index * factor + (factor - 1) / 2  # the centre of the block it covers
            np.testing.assert_allclose(
                ngff_world(node, level, index), world(image.affine, level0), atol=1e-9
            )


def test_pyramid_levels_are_block_means_and_label_modes(tmp_path: Path) -> None:
    image = MLArray(np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2), spacing=[1, 1, 1])
    to_ome_zarr(image, tmp_path / "mean.ome.zarr", levels=2)
    level1 = from_ome_zarr(tmp_path / "mean.ome.zarr", level=1)
    # x = 0..1 is a full 2x2x2 block (values 0..7, mean 3.5 rounds to 4), x = 2 a half one
    np.testing.assert_array_equal(level1.to_numpy(), [[[4]], [[10]]])
    np.testing.assert_allclose(level1.spacing, [2, 2, 2])
    np.testing.assert_allclose(level1.origin, [0.5, 0.5, 0.5])

    labels = np.zeros((4, 2, 2), dtype=np.uint8)
    labels[0, :, :] = [[3, 3], [5, 5]]  # block x = 0..1: four 3s, two 5s, two 0s
    labels[1, :, :] = [[0, 0], [5, 5]]
    labels[2:, :, :] = [[[2, 2], [7, 7]], [[7, 7], [2, 2]]]  # a tie: 2 wins over 7
    segmentation = MLArray(labels, spacing=[1, 1, 1])
    segmentation.meta.set_is_seg(True)
    to_ome_zarr(segmentation, tmp_path / "seg.ome.zarr", levels=2)
    np.testing.assert_array_equal(
        from_ome_zarr(tmp_path / "seg.ome.zarr", level=1).to_numpy(), [[[5]], [[2]]]
    )
    node, _ = read_with_ome_zarr(tmp_path / "seg.ome.zarr")
    model = ome_models.open_ome_zarr(zarr.open_group(str(tmp_path / "seg.ome.zarr"), mode="r"))
    assert type(model).__name__ == "ImageLabel"
    assert any(type(spec).__name__ == "Label" for spec in node.specs)
    assert from_ome_zarr(tmp_path / "seg.ome.zarr").meta.is_seg.value is True


def test_flipped_scan_gets_a_negative_scale_and_no_warning(
    tmp_path: Path, nibabel_data: Path
) -> None:
    scan = mlarray_io.load(nibabel_data / "anatomical.nii")  # stored LAS: x flipped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlarray_io.save(scan, tmp_path / "anat.ome.zarr")
    node, _ = read_with_ome_zarr(tmp_path / "anat.ome.zarr")
    scale = node.metadata["coordinateTransformations"][0][0]["scale"]
    assert scale == [2.0, 2.0, -2.0]
    for index in probe_indices(scan.shape):
        np.testing.assert_allclose(ngff_world(node, 0, index), world(scan.affine, index), atol=1e-9)
    assert [axis.get("unit") for axis in node.metadata["axes"]] == ["millimeter"] * 3
    assert_same_image(mlarray_io.load(tmp_path / "anat.ome.zarr"), scan)


def test_oblique_scan_warns_and_keeps_its_affine(tmp_path: Path, nibabel_data: Path) -> None:
    scan = mlarray_io.load(nibabel_data / "example4d.nii.gz")  # oblique, with time
    with pytest.warns(ObliqueGeometryWarning, match="oblique and NGFF has no direction"):
        to_ome_zarr(scan, tmp_path / "4d.ome.zarr")
    node, levels = read_with_ome_zarr(tmp_path / "4d.ome.zarr")
    assert [axis["name"] for axis in node.metadata["axes"]] == ["t", "z", "y", "x"]
    assert node.metadata["axes"][0] == {"name": "t", "type": "time", "unit": "second"}
    scale, translation = (t[t["type"]] for t in node.metadata["coordinateTransformations"][0])
    np.testing.assert_allclose(scale[1:], np.asarray(scan.spacing)[::-1])
    np.testing.assert_allclose(translation[1:], np.asarray(scan.origin)[::-1])
    np.testing.assert_array_equal(levels[0], scan.to_numpy().transpose(3, 2, 1, 0))
    back = from_ome_zarr(tmp_path / "4d.ome.zarr")
    assert_same_image(back, scan)
    assert back.meta.source.to_plain()["time"] == scan.meta.source.to_plain()["time"]


def test_refusing_oblique_writes_leaves_nothing_behind(tmp_path: Path) -> None:
    image = MLArray(ct_volume(), affine=oblique_affine())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ObliqueGeometryWarning)
        with pytest.raises(ObliqueGeometryWarning):
            to_ome_zarr(image, tmp_path / "oblique.ome.zarr")
    assert list(tmp_path.iterdir()) == []


def test_a_changed_scale_wins_over_the_kept_affine(tmp_path: Path) -> None:
    image = MLArray(ct_volume(), spacing=SPACING, origin=ORIGIN)
    to_ome_zarr(image, tmp_path / "ct.ome.zarr")
    root = zarr.open_group(str(tmp_path / "ct.ome.zarr"), mode="r+")
    ome = dict(root.attrs["ome"])
    ome["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [3, 2, 1]
    root.attrs["ome"] = ome
    with pytest.warns(ObliqueGeometryWarning, match="no longer matches"):
        back = from_ome_zarr(tmp_path / "ct.ome.zarr")
    np.testing.assert_allclose(back.spacing, [1, 2, 3])


def test_channels_come_after_space_and_time(tmp_path: Path) -> None:
    data = ct_volume((6, 5, 4, 3))
    image = MLArray(
        data,
        spacing=[1.0, 2.0, 3.0],
        axis_labels=["spatial_x", "spatial_y", "spatial_z", "channel"],
    )
    to_ome_zarr(image, tmp_path / "rgb.ome.zarr", levels=2)
    node, levels = read_with_ome_zarr(tmp_path / "rgb.ome.zarr")
    assert [axis["type"] for axis in node.metadata["axes"]] == ["channel", *["space"] * 3]
    assert levels[1].shape == (3, 2, 3, 3)  # channels are never downsampled
    assert_same_image(from_ome_zarr(tmp_path / "rgb.ome.zarr"), image)


def test_foreign_ngff_04_image_is_read(tmp_path: Path) -> None:
    """A microscopy-style NGFF 0.4 image (zarr v2) written by ome-zarr-py itself."""
    data = ct_volume((2, 4, 5, 6)).astype(np.uint16)  # c, z, y, x
    root = zarr.open_group(str(tmp_path / "cells.ome.zarr"), mode="w", zarr_format=2)
    ome_writer.write_multiscale(
        [data],
        root,
        fmt=ome_format.FormatV04(),
        axes=[
            {"name": "c", "type": "channel"},
            *({"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"),
        ],
        scale={"c": 1.0, "z": 2.0, "y": 0.5, "x": 0.25},
    )
    image = from_ome_zarr(tmp_path / "cells.ome.zarr")
    np.testing.assert_array_equal(image.to_numpy(), data.transpose(3, 2, 1, 0))
    assert image.meta.spatial.axis_labels == ["spatial_x", "spatial_y", "spatial_z", "channel"]
    assert image.meta.spatial.axis_units == ["um", "um", "um", "unknown"]
    np.testing.assert_allclose(image.spacing, [0.25, 0.5, 2.0])
    assert image.meta.is_seg.value is False
    assert image.meta.source.to_plain() == {"ome_zarr": {"version": "0.4"}}


def test_overwrite_replaces_and_load_save_dispatch(tmp_path: Path) -> None:
    target = tmp_path / "ct.ome.zarr"
    to_ome_zarr(MLArray(ct_volume(seed=1)), target)
    with pytest.raises(OutputExistsError, match="already exists"):
        to_ome_zarr(MLArray(ct_volume(seed=2)), target)
    mlarray_io.save(MLArray(ct_volume(seed=2)), target)  # save replaces, like other formats
    np.testing.assert_array_equal(mlarray_io.load(target).to_numpy(), ct_volume(seed=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct.ome.zarr"]
    with pytest.raises(MetaValidationError, match="take is_seg= alone"):
        mlarray_io.load(target, backend="sitk")


def test_bad_arguments_and_inputs_are_clear_errors(tmp_path: Path) -> None:
    image = MLArray(ct_volume())
    with pytest.raises(MetaValidationError, match="levels: expected a positive integer"):
        to_ome_zarr(image, tmp_path / "a.ome.zarr", levels=0)
    with pytest.raises(MLArrayFileError, match=r"must end with \.ome\.zarr"):
        to_ome_zarr(image, tmp_path / "a.zarr")
    with pytest.raises(MetaTypeError, match="expected an MLArray"):
        to_ome_zarr(ct_volume(), tmp_path / "a.ome.zarr")  # type: ignore[arg-type]
    two_channels = ["spatial_x", "spatial_y", "spatial_z", "channel", "channel"]
    with pytest.raises(ImageFormatError, match="OME-Zarr holds 2 or 3 spatial axes"):
        to_ome_zarr(
            MLArray(np.zeros((4, 4, 4, 2, 2)), axis_labels=two_channels), tmp_path / "a.ome.zarr"
        )
    with pytest.raises(ImageFormatError, match="OME-Zarr holds 2 or 3 spatial axes"):
        to_ome_zarr(MLArray(np.zeros(4), spacing=[1]), tmp_path / "a.ome.zarr")
    with pytest.raises(SourceNotFoundError, match="no such file"):
        from_ome_zarr(tmp_path / "missing.ome.zarr")
    (tmp_path / "empty.ome.zarr").mkdir()
    with pytest.raises(ImageFormatError, match="not a Zarr group"):
        from_ome_zarr(tmp_path / "empty.ome.zarr")
    zarr.open_group(str(tmp_path / "plain.ome.zarr"), mode="w")
    with pytest.raises(ImageFormatError, match="no multiscales metadata"):
        from_ome_zarr(tmp_path / "plain.ome.zarr")
    to_ome_zarr(image, tmp_path / "one.ome.zarr")
    with pytest.raises(MetaValidationError, match="has levels 0 to 0, got 1"):
        from_ome_zarr(tmp_path / "one.ome.zarr", level=1)
    with pytest.raises(MetaValidationError, match=r"pyramids are for \.ome\.zarr outputs"):
        mlarray_io.convert_file(tmp_path / "one.ome.zarr", tmp_path / "x.mla", levels=2)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_cli_levels_must_be_positive(tmp_path: Path) -> None:
    result = run_mlarray("convert", tmp_path / "a.mla", tmp_path / "a.ome.zarr", "--levels", "0")
    assert result.returncode == 2
    assert "expected at least 1 level, got 0" in result.stderr


def test_a_full_disk_leaves_the_old_image(tmp_path: Path) -> None:
    """A write that fails midway (ENOSPC on a real 1 MiB tmpfs) keeps the previous image."""
    with tmpfs(tmp_path / "disk", 1) as disk:
        target = disk / "ct.ome.zarr"
        to_ome_zarr(MLArray(ct_volume((8, 8, 8))), target)
        big = np.random.default_rng(3).random((64, 64, 64))  # 2 MiB of incompressible data
        with pytest.raises(MLArrayFileError, match="No space left on device"):
            mlarray_io.save(MLArray(big), target)
        np.testing.assert_array_equal(from_ome_zarr(target).to_numpy(), ct_volume((8, 8, 8)))
        assert [p.name for p in disk.iterdir()] == ["ct.ome.zarr"]
        assert json.loads((target / "zarr.json").read_text())["attributes"]["ome"]["version"]
