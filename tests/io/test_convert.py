"""convert_file: any format to any other, no overwrite unless asked, no partial output."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import mlarray_io
from mlarray import MLArray
from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray_io.convert import convert_file
from mlarray_io.errors import ConversionError, OutputExistsError
from tests.io._conversion import AFFINE, all_files, volume, write_corrupt_nifti, write_nifti


def test_nifti_to_mla_and_back_keeps_data_and_affine(tmp_path: Path) -> None:
    data = write_nifti(tmp_path / "ct.nii.gz")
    mla = convert_file(tmp_path / "ct.nii.gz", tmp_path / "ct.mla")
    assert mla == tmp_path / "ct.mla"
    np.testing.assert_array_equal(MLArray.open(mla).to_numpy(), data)
    back = nib.load(convert_file(mla, tmp_path / "back.nii"))
    np.testing.assert_array_equal(np.asanyarray(back.dataobj), data)
    np.testing.assert_allclose(back.affine, AFFINE, atol=1e-6)


@pytest.mark.parametrize("suffix", [".nii", ".nrrd", ".nhdr", ".mha", ".mhd"])
def test_every_writable_format_round_trips(tmp_path: Path, suffix: str) -> None:
    data = write_nifti(tmp_path / "ct.nii.gz")
    middle = convert_file(tmp_path / "ct.nii.gz", tmp_path / f"ct{suffix}")
    back = convert_file(middle, tmp_path / "back.mla")
    np.testing.assert_array_equal(MLArray.open(back).to_numpy(), data)
    assert not [name for name in all_files(tmp_path) if name.startswith(".")]


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    write_nifti(tmp_path / "a.nii.gz", seed=1)
    dst = tmp_path / "a.mla"
    dst.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists") as caught:
        convert_file(tmp_path / "a.nii.gz", dst)
    assert isinstance(caught.value, FileExistsError)
    assert dst.read_bytes() == b"precious"
    convert_file(tmp_path / "a.nii.gz", dst, overwrite=True)
    np.testing.assert_array_equal(MLArray.open(dst).to_numpy(), volume(1))


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("missing.nii.gz", "out.mla", "no such file"),
        ("notes.txt", "out.mla", "unknown image format"),
        ("ct.nii.gz", "out.png", "unknown output format"),
        ("ct.nii.gz", "no/such/folder/out.mla", "does not exist"),
    ],
)
def test_bad_paths_raise_one_clear_error(tmp_path: Path, src: str, dst: str, message: str) -> None:
    write_nifti(tmp_path / "ct.nii.gz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(MLArrayFileError, match=message):
        convert_file(tmp_path / src, tmp_path / dst)


def test_corrupt_input_raises_and_writes_nothing(tmp_path: Path) -> None:
    write_corrupt_nifti(tmp_path / "bad.nii.gz")
    with pytest.raises(MLArrayError, match=r"bad\.nii\.gz"):
        convert_file(tmp_path / "bad.nii.gz", tmp_path / "bad.mla")
    assert all_files(tmp_path) == ["bad.nii.gz"]


@pytest.mark.parametrize("suffix", [".nii.gz", ".mhd"])
def test_interrupted_save_leaves_no_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    write_nifti(tmp_path / "ct.nii.gz")

    def save_partially(image: MLArray, path: Path, **options: object) -> None:
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(mlarray_io, "save", save_partially)
    with pytest.raises(ConversionError, match="OSError: disk full"):
        convert_file(tmp_path / "ct.nii.gz", tmp_path / f"out{suffix}")
    assert all_files(tmp_path) == ["ct.nii.gz"]
