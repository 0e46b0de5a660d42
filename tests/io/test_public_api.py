"""The public surface of mlarray_io, lazy imports, dispatch on extensions and errors."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlarray_io
from mlarray import MLArray
from mlarray.errors import MetaTypeError, MetaValidationError, MLArrayError, MLArrayFileError
from mlarray_io._optional import require
from mlarray_io.errors import (
    ImageFormatError,
    MissingDependencyError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from tests.io._images import ct_volume

PUBLIC = [
    "ConversionRecord",
    "ConversionSummary",
    "DemoReport",
    "__version__",
    "convert_dataset",
    "convert_file",
    "from_nifti",
    "from_ome_zarr",
    "from_sitk",
    "load",
    "run_demo",
    "save",
    "to_dask_array",
    "to_nifti",
    "to_ome_zarr",
    "to_sitk",
]


def test_public_names_are_pinned_and_sorted() -> None:
    assert mlarray_io.__all__ == PUBLIC == sorted(PUBLIC)
    load = inspect.signature(mlarray_io.load)
    assert list(load.parameters) == ["path", "backend", "reorient", "is_seg", "series_id"]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in load.parameters.items()
        if name != "path"
    )
    assert list(inspect.signature(mlarray_io.save).parameters) == ["image", "path", "backend"]


def test_importing_mlarray_io_imports_neither_nibabel_nor_simpleitk() -> None:
    code = (
        "import sys, mlarray_io; "
        "print(sorted(m for m in ('nibabel', 'SimpleITK') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_missing_dependency_names_the_pip_install() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install no-such-package") as info:
        require("no_such_module_for_mlarray", "no-such-package")
    assert isinstance(info.value, ImportError)


def test_errors_derive_from_mlarray_error_and_the_promised_builtin() -> None:
    assert issubclass(UnsupportedFormatError, MLArrayFileError)
    assert issubclass(SourceNotFoundError, RuntimeError)
    assert issubclass(SourceNotFoundError, FileNotFoundError)
    assert issubclass(ImageFormatError, ValueError)
    assert all(
        issubclass(error, MLArrayError)
        for error in (UnsupportedFormatError, SourceNotFoundError, ImageFormatError)
    )


@pytest.mark.parametrize("name", ["scan.dcm", "scan.png", "scan.nii.bz2"])
def test_unknown_extension_is_a_clear_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"\0" * 10)
    with pytest.raises(UnsupportedFormatError, match=rf"{name}: unknown image format"):
        mlarray_io.load(tmp_path / name)
    with pytest.raises(UnsupportedFormatError, match=rf"{name}: unknown image format"):
        mlarray_io.save(MLArray(ct_volume()), tmp_path / name)


@pytest.mark.parametrize("name", ["missing.nii.gz", "missing.mha", "missing.mla"])
def test_missing_file_is_a_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(SourceNotFoundError, match=rf"{name}: no such file"):
        mlarray_io.load(tmp_path / name)


def test_saving_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MLArrayFileError, match=r"folder .*missing does not exist"):
        mlarray_io.save(MLArray(ct_volume()), tmp_path / "missing" / "ct.nii.gz")
    with pytest.raises(MetaTypeError, match="expected an MLArray"):
        mlarray_io.save(ct_volume(), tmp_path / "ct.nii.gz")  # type: ignore[arg-type]


def test_backend_is_checked_against_the_format(tmp_path: Path) -> None:
    image = MLArray(ct_volume())
    with pytest.raises(MetaValidationError, match="backend: expected one of"):
        mlarray_io.save(image, tmp_path / "ct.nii", backend="itk")
    with pytest.raises(MetaValidationError, match="nibabel reads only NIfTI"):
        mlarray_io.save(image, tmp_path / "ct.mha", backend="nibabel")
    with pytest.raises(MetaValidationError, match="series_id is for DICOM"):
        mlarray_io.load(tmp_path / "ct.nii", series_id="1.2.3")


def test_mla_files_load_through_mlarray(tmp_path: Path) -> None:
    MLArray(ct_volume(), spacing=[1.0, 2.0, 3.0]).save(tmp_path / "ct.mla")
    image = mlarray_io.load(tmp_path / "ct.mla", is_seg=False)
    np.testing.assert_array_equal(image.to_numpy(), ct_volume())
    assert image.meta.is_seg.value is False
    mlarray_io.save(image, tmp_path / "copy.mla")
    assert MLArray.load(tmp_path / "copy.mla").spacing == [1.0, 2.0, 3.0]
    with pytest.raises(MetaValidationError, match="reorient=True is for NIfTI"):
        mlarray_io.load(tmp_path / "ct.mla", reorient=True)
