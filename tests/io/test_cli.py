"""``mlarray convert`` and the legacy ``mlarray_convert``, as users run them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.cli import main
from mlarray_io.cli import convert_main
from tests.io._conversion import all_files, run_mlarray, write_corrupt_nifti, write_nifti


def test_single_file_subprocess(tmp_path: Path) -> None:
    data = write_nifti(tmp_path / "ct.nii.gz")
    result = run_mlarray("convert", tmp_path / "ct.nii.gz", tmp_path / "ct.mla")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{tmp_path / 'ct.nii.gz'} -> {tmp_path / 'ct.mla'} (")
    np.testing.assert_array_equal(MLArray.open(tmp_path / "ct.mla").to_numpy(), data)


def test_dataset_subprocess_with_a_bad_input(tmp_path: Path) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz", seed=1)
    write_nifti(tmp_path / "data" / "sub" / "b.nii", seed=2)
    write_corrupt_nifti(tmp_path / "data" / "bad.nii.gz")
    out = tmp_path / "out"
    result = run_mlarray("convert", tmp_path / "data", out, "--workers", "2")
    assert result.returncode == 1
    assert "converted 2 (new: 2), skipped 0, failed 1 in " in result.stdout
    (failure_line,) = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert failure_line.startswith(f"FAILED {tmp_path / 'data' / 'bad.nii.gz'}: ")
    assert "Traceback" not in result.stderr
    summary = json.loads((out / "conversion-summary.json").read_text())
    assert summary["counts"] == {"converted": 2, "skipped": 0, "failed": 1}
    assert summary["failed"][0]["error"].endswith(failure_line.split(": ", 1)[1])
    assert all_files(out) == ["a.mla", "conversion-summary.json", "sub", "sub/b.mla"]

    again = run_mlarray("convert", tmp_path / "data", out, "--no-progress")
    assert again.returncode == 1
    assert "converted 0, skipped 2 (up to date: 2), failed 1 in " in again.stdout


@pytest.mark.parametrize(
    ("make", "src", "dst", "message"),
    [
        (write_corrupt_nifti, "bad.nii.gz", "out.mla", "bad.nii.gz: cannot read NIfTI"),
        (lambda path: path.write_text("x"), "image.png", "out.mla", "unknown image format"),
        (lambda path: path.write_text("x"), "image.nii", "out.png", "unknown output format"),
        (lambda path: None, "no_such_folder", "out", "no_such_folder: no such file or folder"),
    ],
    ids=["corrupt-nifti", "unknown-extension", "unknown-output", "missing-folder"],
)
def test_bad_input_is_one_line_and_nonzero(
    tmp_path: Path, make, src: str, dst: str, message: str
) -> None:
    make(tmp_path / src)
    result = run_mlarray("convert", tmp_path / src, tmp_path / dst)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("mlarray convert: error: ")
    assert message in line
    assert not (tmp_path / dst).exists()


def test_existing_output_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nifti(tmp_path / "ct.nii.gz")
    assert main(["convert", str(tmp_path / "ct.nii.gz"), str(tmp_path / "ct.mla")]) == 0
    assert main(["convert", str(tmp_path / "ct.nii.gz"), str(tmp_path / "ct.mla")]) == 1
    assert "already exists; overwrite=True (--overwrite) replaces it" in capsys.readouterr().err
    args = ["convert", str(tmp_path / "ct.nii.gz"), str(tmp_path / "ct.mla"), "--overwrite"]
    assert main(args) == 0


def test_glob_source_and_summary_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz", seed=1)
    write_nifti(tmp_path / "data" / "b.nii", seed=2)
    summary = tmp_path / "reports" / "run.json"
    args = [f"{tmp_path}/data/*.nii.gz", str(tmp_path / "out"), "--summary", str(summary)]
    assert main(["convert", *args, "--no-progress", "--backend", "nibabel"]) == 0
    assert json.loads(summary.read_text())["counts"]["converted"] == 1
    assert all_files(tmp_path / "out") == ["a.mla"]
    assert capsys.readouterr().err == ""


def test_workers_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["convert", str(tmp_path), str(tmp_path / "out"), "--workers", "0"])
    assert usage.value.code == 2
    assert "expected at least 1 worker" in capsys.readouterr().err


def test_legacy_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_nifti(tmp_path / "ct.nii.gz")
    assert convert_main([str(tmp_path / "ct.nii.gz"), str(tmp_path / "ct.mla")]) == 0
    assert (tmp_path / "ct.mla").is_file()
    assert convert_main([str(tmp_path / "missing.nii"), str(tmp_path / "x.mla")]) == 1
    assert "mlarray convert: error: " in capsys.readouterr().err


def test_patch_size_and_preset_lay_the_outputs_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz", seed=1)
    single = ["convert", str(tmp_path / "data" / "a.nii.gz"), str(tmp_path / "a.mla")]
    assert main([*single, "--patch-size", "8,16,12", "--preset", "compact"]) == 0
    converted = MLArray.open(tmp_path / "a.mla")
    assert converted.meta.blosc2.patch_size == [8, 16, 12]
    assert (
        converted.meta.blosc2.cparams["codec"]
        == MLArray.asarray(
            np.zeros((4, 4, 4), converted.dtype), cparams="compact"
        ).meta.blosc2.cparams["codec"]
    )
    dataset = ["convert", str(tmp_path / "data"), str(tmp_path / "out"), "--workers", "1"]
    assert main([*dataset, "--no-progress", "--patch-size", "8"]) == 0
    assert MLArray.open(tmp_path / "out" / "a.mla").meta.blosc2.patch_size == [8, 8, 8]
    with pytest.raises(SystemExit):
        main([*single, "--patch-size", "8,x"])
    assert "expected N or N,N,N" in capsys.readouterr().err


def test_to_names_the_format_of_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_nifti(tmp_path / "data" / "a.nii.gz")
    args = ["convert", str(tmp_path / "data"), str(tmp_path / "out"), "--no-progress"]
    assert main([*args, "--to", "nrrd"]) == 0
    back = tmp_path / "back"
    assert main(["convert", str(tmp_path / "out"), str(back), "--no-progress", "--to", ".mla"]) == 0
    np.testing.assert_array_equal(MLArray.open(back / "a.mla").to_numpy(), data)
    with pytest.raises(SystemExit):
        main([*args, "--to", "png"])
    assert "argument --to: expected nnunet or one of .nii.gz" in capsys.readouterr().err
    single = ["convert", str(tmp_path / "data" / "a.nii.gz"), str(tmp_path / "a.mla")]
    assert main([*single, "--to", "nrrd"]) == 1
    assert "--to is for datasets" in capsys.readouterr().err
