"""DICOM series folders: rescaled values, geometry from the tags, series selection."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

import mlarray_io
from mlarray_io.errors import ImageFormatError, SourceNotFoundError, UnsupportedFormatError
from tests.io._images import probe_indices, world

PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010), little endian


def stored_pixels(path: Path, rows: int, columns: int, dtype: str) -> np.ndarray:
    """The stored values of an uncompressed little-endian slice, parsed without GDCM."""
    count = rows * columns
    data = path.read_bytes()
    assert data.rfind(PIXEL_DATA_TAG) < len(data) - 2 * count  # pixel data ends the file
    return np.frombuffer(data[-2 * count :], dtype=dtype).reshape(rows, columns)


def tag(path: Path, key: str) -> list[float]:
    reader = SimpleITK.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return [float(value) for value in reader.GetMetaData(key).split("\\")]


@pytest.fixture
def series(dicom_data: Path, tmp_path: Path) -> Path:
    """A folder holding nibabel's two-slice MR series (0.dcm, 1.dcm)."""
    folder = tmp_path / "series"
    folder.mkdir()
    for name in ("0.dcm", "1.dcm"):
        shutil.copy(dicom_data / name, folder / name)
    return folder


def test_series_values_are_the_stored_pixels(series: Path) -> None:
    image = mlarray_io.load(series)
    assert image.shape == (256, 256, 2)  # columns, rows, slices
    assert image.dtype == np.uint16
    for k, name in enumerate(["0.dcm", "1.dcm"]):
        np.testing.assert_array_equal(
            image[:, :, k], stored_pixels(series / name, 256, 256, "<u2").T
        )
    assert image.meta._image_meta_format.value == "dicom"
    assert image.meta.spatial.coord_system == "RAS+"
    assert image.meta.source.value["dicom"]["files"] == ["0.dcm", "1.dcm"]
    assert image.meta.source.value["dicom"]["tags"]["0008|0060"] == "MR"


def test_series_geometry_follows_the_dicom_tags(series: Path) -> None:
    """Columns, rows and corner from the tags; slices along the normal, as GDCM stacks them."""
    image = mlarray_io.load(series)
    first, second = series / "0.dcm", series / "1.dcm"
    row_step, column_step = tag(first, "0028|0030")  # PixelSpacing: between rows, columns
    orientation = np.array(tag(first, "0020|0037"))  # ImageOrientationPatient, LPS+
    corner = np.array(tag(first, "0020|0032"))  # ImagePositionPatient, LPS+
    normal = np.cross(orientation[:3], orientation[3:])
    slice_step = normal * np.linalg.norm(np.array(tag(second, "0020|0032")) - corner)
    lps = np.eye(4)
    lps[:3, :3] = np.column_stack(
        [orientation[:3] * column_step, orientation[3:] * row_step, slice_step]
    )
    lps[:3, 3] = corner
    np.testing.assert_allclose(image.affine, np.diag([-1, -1, 1, 1]) @ lps, atol=1e-5)


def test_series_geometry_matches_simpleitk(series: Path) -> None:
    image = mlarray_io.load(series)
    reader = SimpleITK.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(series)))
    itk = reader.Execute()
    for index in probe_indices(image.shape):
        lps = np.array(itk.TransformContinuousIndexToPhysicalPoint(index.tolist()))
        np.testing.assert_allclose(world(image.affine, index), lps * [-1, -1, 1], atol=1e-6)


def test_integral_rescale_is_applied_in_an_integer_dtype(dicom_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rescaled"
    folder.mkdir()
    shutil.copy(dicom_data / "decimal_rescale.dcm", folder / "slice.dcm")
    slope, intercept = (
        tag(folder / "slice.dcm", "0028|1053")[0],
        tag(folder / "slice.dcm", "0028|1052")[0],
    )
    assert (slope, intercept) == (2.0, -4096.0)
    image = mlarray_io.load(folder)
    assert image.dtype == np.int16
    stored = stored_pixels(folder / "slice.dcm", 96, 128, "<u2").T.astype(np.int64)
    np.testing.assert_array_equal(image[:, :, 0], stored * 2 - 4096)


def write_rescaled_series(folder: Path, values: np.ndarray, slope: str, intercept: str) -> None:
    """Write float ``values`` (z, y, x) as a DICOM series whose tags carry the rescale."""
    folder.mkdir()
    writer = SimpleITK.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    volume = SimpleITK.GetImageFromArray(values)
    volume.SetSpacing((0.7, 0.8, 2.5))
    tags = {
        "0008|0060": "CT",
        "0020|000e": "1.2.826.0.1.3680043.2.1125.1",
        "0020|0037": "1\\0\\0\\0\\1\\0",
        "0028|0100": "16",
        "0028|0101": "16",
        "0028|0102": "15",
        "0028|0103": "1",
        "0028|1053": slope,
        "0028|1052": intercept,
    }
    for k in range(values.shape[0]):
        slice_ = volume[:, :, k]
        for key, value in tags.items():
            slice_.SetMetaData(key, value)
        position = volume.TransformIndexToPhysicalPoint((0, 0, k))
        slice_.SetMetaData("0020|0032", "\\".join(map(str, position)))
        slice_.SetMetaData("0020|0013", str(k + 1))
        writer.SetFileName(str(folder / f"{k}.dcm"))
        writer.Execute(slice_)


@pytest.mark.parametrize(
    ("slope", "intercept", "expected"),
    [("0.5", "-7.25", np.float32), ("0.1", "-1024", np.float64)],
)
def test_fractional_rescale_gives_the_narrowest_exact_float(
    tmp_path: Path, slope: str, intercept: str, expected: type
) -> None:
    stored = np.random.default_rng(3).integers(-2000, 2000, size=(3, 6, 8)).astype(np.float64)
    values = stored * float(slope) + float(intercept)
    write_rescaled_series(tmp_path / "ct", values, slope, intercept)
    image = mlarray_io.load(tmp_path / "ct")
    assert image.dtype == expected
    np.testing.assert_array_equal(image.to_numpy(), values.transpose(2, 1, 0))


def test_reorient_brings_a_series_to_ras(series: Path) -> None:
    image = mlarray_io.load(series, reorient=True)
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    assert image.meta.source.value["reorientation"]["from"] == "LPS"
    plain = mlarray_io.load(series)
    np.testing.assert_array_equal(image.to_numpy(), plain.to_numpy()[::-1, ::-1, :])


def test_folder_with_several_series_needs_a_series_id(dicom_data: Path) -> None:
    with pytest.raises(ImageFormatError, match=r"holds 3 DICOM series .*series_id="):
        mlarray_io.load(dicom_data)
    image = mlarray_io.load(
        dicom_data, series_id="1.3.12.2.1107.5.2.32.35119.2010011420292594820699190.0.0.0"
    )
    assert image.shape == (256, 256, 2)
    with pytest.raises(ImageFormatError, match="no DICOM series 'nope'"):
        mlarray_io.load(dicom_data, series_id="nope")


def test_folder_without_dicom_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(ImageFormatError, match="no DICOM series found"):
        mlarray_io.load(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file or folder") as info:
        mlarray_io.load(tmp_path / "patient-042")
    assert isinstance(info.value, RuntimeError | FileNotFoundError)


def test_dicom_output_is_not_supported(series: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="DICOM output is not supported"):
        mlarray_io.save(mlarray_io.load(series), tmp_path / "out")
