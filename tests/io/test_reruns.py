"""Reruns convert again what is stale (older than its source, other options) and say why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray_io.dataset import ConversionSummary, convert_dataset
from tests.io._conversion import run_mlarray, write_nifti


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for case in range(3):
        write_nifti(root / f"case_{case}.nii.gz", seed=case)
    return root


def run(dataset: Path, out: Path, **options: object) -> ConversionSummary:
    return convert_dataset(dataset, out, workers=1, progress=False, **options)


def reasons(summary: ConversionSummary) -> dict[str, dict[str, int]]:
    return {group: summary.reasons(group) for group in ("converted", "skipped")}


def stamps(out: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in sorted(out.glob("*.mla"))}


def make_older(output: Path, than: Path) -> None:
    """Date ``output`` before its source ``than``, as when the source is edited afterwards."""
    earlier = than.stat().st_mtime - 10
    os.utime(output, (earlier, earlier))


def test_current_outputs_are_kept(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert reasons(run(dataset, out)) == {"converted": {"new": 3}, "skipped": {}}
    before = stamps(out)
    assert reasons(run(dataset, out)) == {"converted": {}, "skipped": {"up to date": 3}}
    assert stamps(out) == before


def test_a_touched_source_is_converted_again(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(dataset, out)
    make_older(out / "case_1.mla", dataset / "case_1.nii.gz")
    again = run(dataset, out)
    assert reasons(again) == {"converted": {"source changed": 1}, "skipped": {"up to date": 2}}
    assert [Path(record.source).name for record in again.converted] == ["case_1.nii.gz"]


def test_other_options_convert_again_and_name_the_change(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(dataset, out)
    changed = run(dataset, out, patch_size=8)
    assert reasons(changed) == {"converted": {"options changed": 3}, "skipped": {}}
    assert changed.converted[0].detail == "patch_size 'default' -> 8"
    assert MLArray.open(out / "case_0.mla").meta.blosc2.patch_size == [8, 8, 8]
    assert reasons(run(dataset, out, patch_size=8)) == {
        "converted": {},
        "skipped": {"up to date": 3},
    }
    for options in ({"patch_size": 8, "cparams": "compact"}, {"patch_size": 8, "stats": False},
                    {"patch_size": 8, "stats": False, "cast": "float32"}):  # fmt: skip
        assert reasons(run(dataset, out, **options))["converted"] == {"options changed": 3}


def test_which_files_are_label_maps_is_an_option(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_nifti(data / "ct.nii.gz", seed=1)
    labels = np.random.default_rng(0).integers(0, 3, (20, 18, 12)).astype(np.int16)
    MLArray(labels).save(data / "organ_mask.mla")
    out = tmp_path / "out"
    run(data, out)
    assert MLArray.open(out / "organ_mask.mla").meta.is_seg.value is True
    again = run(data, out, seg_patterns=["nothing*"])
    assert [Path(r.source).name for r in again.converted] == ["organ_mask.mla"]
    assert again.converted[0].detail == "is_seg True -> None"
    assert MLArray.open(out / "organ_mask.mla").meta.is_seg.value is None


def test_outputs_without_a_record_or_unreadable_are_converted_again(
    dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(dataset, out)
    MLArray(np.zeros((2, 2, 2), np.int16)).save(out / "case_0.mla")  # written by hand
    (out / "case_1.mla").write_bytes(b"not a .mla file")
    again = run(dataset, out)
    by_source = {Path(r.source).name: r for r in again.converted}
    assert by_source["case_0.nii.gz"].reason == "options changed"
    assert by_source["case_0.nii.gz"].detail == "the output records no conversion options"
    assert by_source["case_1.nii.gz"].reason == "unreadable output"
    assert str(out / "case_1.mla") in (by_source["case_1.nii.gz"].detail or "")
    assert reasons(again)["skipped"] == {"up to date": 1}
    assert MLArray.open(out / "case_1.mla").shape == (20, 18, 12)


def test_overwrite_converts_everything(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(dataset, out)
    assert reasons(run(dataset, out, overwrite=True))["converted"] == {"overwrite": 3}


def test_other_formats_compare_only_ages(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(dataset, out, suffix=".nii.gz")
    assert reasons(run(dataset, out, suffix=".nii.gz", cast="float32"))["skipped"] == {
        "up to date": 3
    }
    make_older(out / "case_0.nii.gz", dataset / "case_0.nii.gz")
    assert reasons(run(dataset, out, suffix=".nii.gz"))["converted"] == {"source changed": 1}


def test_cli_prints_a_count_per_reason(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_mlarray("convert", dataset, out, "--workers", "1", "--no-progress")
    assert first.stdout.startswith("converted 3 (new: 3), skipped 0, failed 0 in ")
    make_older(out / "case_2.mla", dataset / "case_2.nii.gz")
    MLArray(np.zeros((2, 2, 2), np.int16)).save(out / "case_0.mla")
    again = run_mlarray("convert", dataset, out, "--workers", "1", "--no-progress")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(
        "converted 2 (options changed: 1, source changed: 1), skipped 1 (up to date: 1), "
        "failed 0 in "
    )
    summary = json.loads((out / "conversion-summary.json").read_text())
    assert summary["reasons"] == {
        "converted": {"options changed": 1, "source changed": 1},
        "skipped": {"up to date": 1},
    }
    changed = run_mlarray("convert", dataset, out, "--no-progress", "--preset", "compact")
    assert changed.stdout.startswith("converted 3 (options changed: 3), skipped 0, failed 0")
    forced = run_mlarray("convert", dataset, out, "--no-progress", "--preset", "compact",
                         "--overwrite")  # fmt: skip
    assert forced.stdout.startswith("converted 3 (overwrite: 3), skipped 0, failed 0")
