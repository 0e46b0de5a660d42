"""convert_dataset: discovery, mirrored outputs, resuming, bad inputs, worker processes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MLArrayFileError
from mlarray_io._sources import find_images, is_dicom_folder
from mlarray_io.dataset import ConversionSummary, convert_dataset
from tests.io._conversion import all_files, write_corrupt_nifti, write_mla, write_nifti


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Three NIfTI scans in nested folders, plus files that are not images."""
    root = tmp_path / "data"
    write_nifti(root / "case1.nii.gz", seed=1)
    write_nifti(root / "site_b" / "case2.nii", seed=2)
    write_nifti(root / "site_b" / "deep" / "case3.nii.gz", seed=3)
    (root / "README.txt").write_text("not an image")
    write_nifti(root / ".hidden.nii.gz", seed=4)
    return root


def outputs(folder: Path) -> list[str]:
    return [name for name in all_files(folder) if name.endswith(".mla")]


def test_converts_every_image_and_mirrors_the_tree(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = convert_dataset(dataset, out, workers=1, progress=False)
    expected = ["case1.mla", "site_b/case2.mla", "site_b/deep/case3.mla"]
    assert outputs(out) == expected
    assert [Path(record.output).relative_to(out).as_posix() for record in summary.converted] == (
        expected
    )
    assert summary.ok
    assert not summary.skipped
    np.testing.assert_array_equal(
        MLArray.open(out / "site_b" / "case2.mla").to_numpy(),
        np.asanyarray(nib.load(dataset / "site_b" / "case2.nii").dataobj),
    )


def test_second_run_skips_everything(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_dataset(dataset, out, workers=1, progress=False)
    stamps = {name: (out / name).stat().st_mtime_ns for name in outputs(out)}
    again = convert_dataset(dataset, out, workers=1, progress=False)
    assert (len(again.converted), len(again.skipped), len(again.failed)) == (0, 3, 0)
    assert {record.reason for record in again.skipped} == {"up to date"}
    assert {name: (out / name).stat().st_mtime_ns for name in outputs(out)} == stamps


def test_bad_input_is_reported_and_the_rest_converted(dataset: Path, tmp_path: Path) -> None:
    write_corrupt_nifti(dataset / "site_b" / "broken.nii.gz")
    out = tmp_path / "out"
    summary = convert_dataset(dataset, out, workers=2, progress=False)
    assert len(summary.converted) == 3
    (failure,) = summary.failed
    assert failure.source == str(dataset / "site_b" / "broken.nii.gz")
    assert failure.output == str(out / "site_b" / "broken.mla")
    assert "broken.nii.gz" in (failure.error or "")
    assert not summary.ok
    # Only complete outputs: no partial file, no temporary file.
    assert all_files(out) == ["case1.mla", "site_b", "site_b/case2.mla", "site_b/deep",
                              "site_b/deep/case3.mla"]  # fmt: skip
    document = json.loads(summary.to_json())
    assert document["counts"] == {"converted": 3, "skipped": 0, "failed": 1}
    assert document["failed"][0]["error"] == failure.error


def test_glob_source_mirrors_below_its_fixed_part(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = convert_dataset(f"{dataset}/**/*.nii.gz", out, workers=1, progress=False)
    assert outputs(out) == ["case1.mla", "site_b/deep/case3.mla"]
    assert summary.source == f"{dataset}/**/*.nii.gz"


def test_output_folder_inside_the_source_is_not_read(dataset: Path) -> None:
    out = dataset / "converted"
    convert_dataset(dataset, out, workers=1, progress=False, suffix=".nii.gz")
    again = convert_dataset(dataset, out, workers=1, progress=False, suffix=".nii.gz")
    assert len(again.skipped) == 3
    assert not again.converted


def test_clashing_output_names_fail_instead_of_overwriting(tmp_path: Path) -> None:
    write_nifti(tmp_path / "data" / "scan.nii", seed=1)
    write_nifti(tmp_path / "data" / "scan.nii.gz", seed=2)
    summary = convert_dataset(tmp_path / "data", tmp_path / "out", workers=1, progress=False)
    assert len(summary.converted) == 1
    (clash,) = summary.failed
    assert "clashes" in (clash.error or "")


def test_mla_dataset_to_nifti(tmp_path: Path) -> None:
    data = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
    write_mla(tmp_path / "data" / "a.mla", data)
    convert_dataset(tmp_path / "data", tmp_path / "out", suffix=".nii.gz", progress=False)
    nifti = nib.load(tmp_path / "out" / "a.nii.gz")
    np.testing.assert_array_equal(np.asanyarray(nifti.dataobj), data)


@pytest.mark.parametrize(
    ("source", "message"),
    [("missing", "no such folder"), ("empty", "no images found"), ("empty/*.nii", "no images")],
)
def test_missing_or_empty_source_raises(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MLArrayFileError, match=message):
        convert_dataset(tmp_path / source, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_unsupported_output_suffix_raises(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(MLArrayFileError, match=r"'\.png' is not a supported"):
        convert_dataset(dataset, tmp_path / "out", suffix=".png", progress=False)


def test_dicom_series_folders_are_one_input(tmp_path: Path, nibabel_data: Path) -> None:
    series = tmp_path / "data" / "patient" / "series1"
    series.mkdir(parents=True)
    for name in ("0.dcm", "1.dcm"):  # nibabel's sample DICOM series
        shutil.copy(nibabel_data / name, series / f"IM{name[0]}")
    write_nifti(tmp_path / "data" / "other.nii.gz")
    assert is_dicom_folder(series)
    assert not is_dicom_folder(tmp_path / "data")
    assert find_images(tmp_path / "data") == (
        tmp_path / "data",
        [tmp_path / "data" / "other.nii.gz", series],
    )
    summary = convert_dataset(tmp_path / "data", tmp_path / "out", workers=1, progress=False)
    assert summary.ok
    assert outputs(tmp_path / "out") == ["other.mla", "patient/series1.mla"]


def test_summary_json_lists_every_record() -> None:
    summary = ConversionSummary("src", "dst")
    assert json.loads(summary.to_json()) == {
        "source": "src",
        "destination": "dst",
        "seconds": 0.0,
        "counts": {"converted": 0, "skipped": 0, "failed": 0},
        "reasons": {"converted": {}, "skipped": {}},
        "converted": [],
        "skipped": [],
        "failed": [],
    }
