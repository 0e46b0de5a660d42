"""SimpleITK formats: nibabel's voxel order and RAS+ world, exact ITK round trips."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

import mlarray_io
from mlarray import MLArray
from mlarray_io.errors import ImageFormatError
from tests.io._images import (
    REAL_NIFTI,
    ct_volume,
    oblique_affine,
    probe_indices,
    world,
    write_scanner_nifti,
)

ITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
FORMAT_OF = {".nrrd": "nrrd", ".nhdr": "nrrd", ".mha": "mha", ".mhd": "mha"}


# ------------------------------------------------------------------ same NIfTI, two readers (a)
def assert_same_through_both_backends(path: Path) -> None:
    by_nibabel = mlarray_io.load(path)
    by_sitk = mlarray_io.load(path, backend="sitk")
    assert by_sitk.dtype == by_nibabel.dtype
    np.testing.assert_array_equal(by_sitk.to_numpy(), by_nibabel.to_numpy())
    assert by_sitk.meta.spatial.axis_labels == by_nibabel.meta.spatial.axis_labels
    assert by_sitk.meta.spatial.coord_system == by_nibabel.meta.spatial.coord_system == "RAS+"
    assert by_sitk.meta._image_meta_format.value == "nifti"
    for index in probe_indices(by_nibabel.shape[:3]):
        np.testing.assert_allclose(
            world(by_sitk.affine, index), world(by_nibabel.affine, index), rtol=0, atol=1e-5
        )


@pytest.mark.parametrize("name", REAL_NIFTI)
def test_real_nifti_is_the_same_through_nibabel_and_simpleitk(
    nibabel_data: Path, name: str
) -> None:
    assert_same_through_both_backends(nibabel_data / name)


PLANE = np.array([[0.0, -0.8, 0, 12.0], [0.6, 0.0, 0, -3.0], [0, 0, 3.0, 0.0], [0, 0, 0, 1]])


@pytest.mark.parametrize(
    ("shape", "affine"),
    [
        ((17, 13, 9), oblique_affine()),
        ((17, 13, 9), oblique_affine((0.3, 1.25, 4.0))),
        ((17, 13, 9), np.diag([-0.8, -0.8, 3.0, 1.0])),  # stored LPS-like: x and y flipped
        ((11, 7), PLANE),
    ],
    ids=["oblique", "anisotropic", "lps-stored", "2d"],
)
def test_synthetic_nifti_is_the_same_through_nibabel_and_simpleitk(
    tmp_path: Path, shape: tuple[int, ...], affine: np.ndarray
) -> None:
    assert_same_through_both_backends(
        write_scanner_nifti(tmp_path / "ct.nii.gz", ct_volume(shape), affine)
    )


def test_4d_time_axis_is_the_same_through_both_backends(nibabel_data: Path) -> None:
    by_nibabel = mlarray_io.load(nibabel_data / "example4d.nii.gz")
    by_sitk = mlarray_io.load(nibabel_data / "example4d.nii.gz", backend="sitk")
    assert by_sitk.meta.spatial.axis_units == by_nibabel.meta.spatial.axis_units
    assert by_sitk.meta.source.value["time"] == by_nibabel.meta.source.value["time"]


# ------------------------------------------------------------------ LPS images read by ITK
def test_itk_image_is_transposed_and_converted_to_ras(tmp_path: Path) -> None:
    data = ct_volume((9, 7, 5))  # numpy (z, y, x) as SimpleITK hands it out
    itk = SimpleITK.GetImageFromArray(data)
    itk.SetSpacing((0.5, 0.75, 2.0))
    itk.SetOrigin((10.0, -20.0, 30.0))
    lps = oblique_affine()[:3, :3] / np.linalg.norm(oblique_affine()[:3, :3], axis=0)
    itk.SetDirection(lps.ravel().tolist())
    SimpleITK.WriteImage(itk, str(tmp_path / "ct.mha"))
    image = mlarray_io.load(tmp_path / "ct.mha")
    assert image.shape == (5, 7, 9)
    assert image.meta._image_meta_format.value == "mha"
    for i, j, k in [(0, 0, 0), (4, 6, 8), (1, 2, 3)]:
        assert image[i, j, k] == itk.GetPixel(i, j, k)
        lps_point = np.array(itk.TransformIndexToPhysicalPoint((i, j, k)))
        np.testing.assert_allclose(
            world(image.affine, np.array([i, j, k])), lps_point * [-1, -1, 1], atol=1e-9
        )


# ------------------------------------------------------------------ .mla -> ITK -> .mla (c)
def spatial_image() -> MLArray:
    return MLArray(
        ct_volume(),
        spacing=[0.7, 0.9, 2.5],
        origin=[31.25, -17.5, 42.125],
        direction=(oblique_affine()[:3, :3] / [0.7, 0.9, 2.5]).tolist(),
        axis_labels=["spatial_x", "spatial_y", "spatial_z"],
    )


def timed_image() -> MLArray:
    image = MLArray(
        ct_volume((6, 5, 4, 3)),
        affine=oblique_affine(),
        axis_labels=["spatial_x", "spatial_y", "spatial_z", "temporal"],
    )
    image.meta.source = {"time": {"step": 1.5, "offset": 0.5}}
    return image


def planar_image() -> MLArray:
    return MLArray(ct_volume((12, 8)), spacing=[0.4, 0.6], origin=[-5.0, 7.0])


def vector_image() -> MLArray:
    return MLArray(
        ct_volume((6, 5, 4, 3)),
        affine=oblique_affine(),
        axis_labels=["spatial_x", "spatial_y", "spatial_z", "channel"],
    )


@pytest.mark.parametrize("suffix", ITK_SUFFIXES)
@pytest.mark.parametrize("make", [spatial_image, timed_image, planar_image, vector_image])
def test_mla_to_itk_and_back_keeps_data_and_world_geometry(
    tmp_path: Path, suffix: str, make: object
) -> None:
    original = make()  # type: ignore[operator]
    original.save(tmp_path / "image.mla")
    mlarray_io.save(mlarray_io.load(tmp_path / "image.mla"), tmp_path / f"image{suffix}")
    itk = mlarray_io.load(tmp_path / f"image{suffix}")
    assert itk.meta._image_meta_format.value == FORMAT_OF[suffix]
    mlarray_io.save(itk, tmp_path / "back.mla")
    back = mlarray_io.load(tmp_path / "back.mla")
    assert back.dtype == original.dtype
    np.testing.assert_array_equal(back.to_numpy(), original.to_numpy())
    np.testing.assert_allclose(back.affine, original.affine, rtol=0, atol=1e-9)
    assert (
        back.meta.spatial.axis_labels[: original.spatial_ndim]
        == [
            "spatial_x",
            "spatial_y",
            "spatial_z",
        ][: original.spatial_ndim]
    )
    assert back.meta.source.value.get("time") == original.meta.source.value.get("time")


def test_channel_first_mla_is_written_with_components_last(tmp_path: Path) -> None:
    data = ct_volume((3, 6, 5, 4))
    image = MLArray(data, axis_labels=["channel", "spatial_x", "spatial_y", "spatial_z"])
    itk = mlarray_io.to_sitk(image)
    assert itk.GetNumberOfComponentsPerPixel() == 3
    assert itk.GetSize() == (6, 5, 4)
    back = mlarray_io.from_sitk(itk)
    assert back.meta.spatial.axis_labels == ["spatial_x", "spatial_y", "spatial_z", "channel"]
    np.testing.assert_array_equal(back.to_numpy(), np.moveaxis(data, 0, -1))


def test_lengths_in_metres_are_written_in_millimetres() -> None:
    image = MLArray(ct_volume(), spacing=[0.001, 0.002, 0.003], origin=[0.1, 0.2, 0.3])
    image.meta.spatial.axis_units = ["m", "m", "m"]
    itk = mlarray_io.to_sitk(image)
    np.testing.assert_allclose(itk.GetSpacing(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(itk.GetOrigin(), [-100.0, -200.0, 300.0])


def test_nifti_written_by_simpleitk_has_the_same_world(tmp_path: Path) -> None:
    source = write_scanner_nifti(tmp_path / "ct.nii.gz", ct_volume(), oblique_affine())
    image = mlarray_io.load(source)
    mlarray_io.save(image, tmp_path / "itk.nii.gz", backend="sitk")
    written = nib.load(tmp_path / "itk.nii.gz")
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), ct_volume())
    np.testing.assert_allclose(written.affine, nib.load(source).affine, atol=1e-4)


@pytest.mark.parametrize(
    "labels",
    [
        ["spatial_x", "spatial_y", "spatial_z", "channel", "channel"],
        ["spatial_x", "spatial_y", "temporal"],
    ],
)
def test_axes_itk_cannot_hold_are_refused(labels: list[str]) -> None:
    image = MLArray(np.zeros((4,) * len(labels), dtype=np.uint8), axis_labels=labels)
    with pytest.raises(ImageFormatError, match="ITK images hold"):
        mlarray_io.to_sitk(image)


@pytest.mark.parametrize("suffix", [".mha", ".nrrd"])
def test_truncated_itk_file_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ct{suffix}"
    mlarray_io.save(spatial_image(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageFormatError, match=f"ct\\{suffix}: cannot read"):
        mlarray_io.load(path)
