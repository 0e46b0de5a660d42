"""``mlarray demo`` end to end on the scans nibabel ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlarray_io import demo
from mlarray_io.demo import SAMPLE_SCANS, run_demo
from tests.io._conversion import run_mlarray


def test_run_demo_reports_exact_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "_SECONDS_PER_FORMAT", 0.02)
    report = run_demo(tmp_path / "demo")
    assert report.ok, [scan.verdict for scan in report.scans]
    assert [scan.name for scan in report.scans] == list(SAMPLE_SCANS)
    assert [scan.shape for scan in report.scans] == [
        (33, 41, 25), (128, 96, 24, 2), (21, 26, 22), (32, 20, 12, 2)
    ]  # fmt: skip
    stems = [name.split(".")[0] for name in SAMPLE_SCANS]
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(
        [f"{stem}.mla" for stem in stems] + [f"{stem}.roundtrip.nii.gz" for stem in stems]
    )
    printed = capsys.readouterr().out
    assert printed.count("chunks / blocks:") == len(SAMPLE_SCANS)
    for scan in report.scans:  # the timings are reported as measured, whatever they are
        row = next(line for line in printed.splitlines() if line.startswith(scan.name))
        rates = f"{scan.mla_patches_per_second:.0f} {scan.nifti_patches_per_second:.0f}"
        assert row.split()[-3:] == [*rates.split(), f"{scan.speedup:.1f}x"]
    assert "geometry round trip .mla -> NIfTI: 4/4 exact" in printed


def test_demo_command_subprocess() -> None:
    result = run_mlarray("demo", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4/4 exact" in result.stdout
    table = [line for line in result.stdout.splitlines() if line.split(" ")[0] in SAMPLE_SCANS]
    assert len(table) == len(SAMPLE_SCANS)
    assert all(" exact " in line and line.endswith("x") for line in table)  # speed-up last
