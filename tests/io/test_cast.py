"""Dtypes a format cannot store: a clear error naming the output and the cast that works."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

from mlarray import MLArray
from mlarray.errors import MetaValidationError
from mlarray_io._cast import cast_values
from mlarray_io.convert import convert_file
from mlarray_io.dataset import convert_dataset
from mlarray_io.errors import ImageFormatError
from tests.io._conversion import all_files, run_mlarray


@pytest.fixture
def half(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A float16 image in a .mla file (the dtype mixed-precision models predict in)."""
    values = np.random.default_rng(7).standard_normal((12, 10, 8)).astype(np.float16)
    path = tmp_path / "half.mla"
    MLArray(values, spacing=[0.8, 0.8, 2.0]).save(path)
    return path, values


@pytest.mark.parametrize(("suffix", "library"), [(".nii.gz", "NIfTI"), (".mha", "ITK")])
def test_float16_is_refused_naming_the_output_and_the_cast(
    half: tuple[Path, np.ndarray], tmp_path: Path, suffix: str, library: str
) -> None:
    source, _ = half
    target = tmp_path / f"out{suffix}"
    with pytest.raises(ImageFormatError) as caught:
        convert_file(source, target)
    assert str(caught.value) == (
        f"{target}: {library} cannot store float16 values; cast the values first: "
        "mlarray convert --cast float32, or convert_file(..., cast='float32')"
    )
    assert all_files(tmp_path) == ["half.mla"]


def test_cli_cast_float32_writes_what_nifti_and_itk_read(
    half: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    source, values = half
    refused = run_mlarray("convert", source, tmp_path / "out.nii.gz")
    assert refused.returncode == 1
    assert "--cast float32" in refused.stderr
    assert ".partial" not in refused.stderr
    for name in ("out.nii.gz", "out.mha"):
        done = run_mlarray("convert", source, tmp_path / name, "--cast", "float32")
        assert done.returncode == 0, done.stderr
    nifti = nib.load(tmp_path / "out.nii.gz")
    assert nifti.get_data_dtype() == np.float32
    np.testing.assert_array_equal(np.asanyarray(nifti.dataobj), values.astype(np.float32))
    np.testing.assert_allclose(nifti.header.get_zooms(), [0.8, 0.8, 2.0], rtol=1e-6)
    itk = SimpleITK.ReadImage(str(tmp_path / "out.mha"))
    assert itk.GetPixelID() == SimpleITK.sitkFloat32
    np.testing.assert_array_equal(SimpleITK.GetArrayFromImage(itk).transpose(2, 1, 0), values)


def test_cast_in_a_dataset_and_to_mla(half: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    source, values = half
    summary = convert_dataset(
        tmp_path, tmp_path / "out", suffix=".nii", cast="float32", workers=1, progress=False
    )
    assert summary.ok
    written = nib.load(tmp_path / "out" / "half.nii")
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), values.astype(np.float32))
    convert_file(source, tmp_path / "wide.mla", cast="float64")
    assert MLArray.load(tmp_path / "wide.mla").dtype == np.float64


@pytest.mark.parametrize(
    ("values", "dtype", "found"),
    [
        (np.array([0.0, 1.5]), "int16", "the value 1.5, which is not an integer"),
        (np.array([0.0, np.nan]), "uint8", "the value nan, which is not an integer"),
        (np.array([-1, 300], np.int32), "uint8", "values from -1 to 300 (uint8 holds 0 to 255)"),
        (np.array([1e300]), "float32", "the value 1e+300, too large for float32"),
        (np.array([1 + 2j]), "float64", "the complex value (1+2j)"),
        (np.array([0, 2], np.uint8), "bool", "values other than 0 and 1"),
    ],
)
def test_casts_that_would_change_values_are_refused(
    values: np.ndarray, dtype: str, found: str
) -> None:
    with pytest.raises(MetaValidationError) as caught:
        cast_values(values, np.dtype(dtype), "scan.nii")
    assert str(caught.value) == f"scan.nii: cannot cast {values.dtype} to {dtype}: found {found}"


def test_casts_that_keep_values_or_only_round_them() -> None:
    rounded = cast_values(np.array([0.1, 2.0]), np.dtype(np.float32), "x")
    assert rounded.dtype == np.float32
    np.testing.assert_array_equal(rounded, np.array([0.1, 2.0], np.float32))
    exact = cast_values(np.array([3.0, -7.0]), np.dtype(np.int8), "x")
    assert exact.tolist() == [3, -7]
    assert cast_values(np.array([2 + 0j]), np.dtype(np.float32), "x").tolist() == [2.0]


def test_unknown_dtype_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(MetaValidationError, match="cast: expected a numeric NumPy dtype"):
        convert_file(tmp_path / "missing.nii", tmp_path / "out.mla", cast="flaot32")
    result = run_mlarray("convert", tmp_path / "a.nii", tmp_path / "b.mla", "--cast", "str")
    assert result.returncode == 2
    assert "argument --cast: expected a numeric NumPy dtype" in result.stderr
