"""Ctrl-C, ``kill -9`` and a script without a main guard, with real signals and processes.

Each test runs ``mlarray convert`` (or a script) in a subprocess, sends the real
signal at a moment it observes (worker processes started, outputs being
written), and checks what users see and what is left on disk.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._verify import verify_file
from mlarray_io import convert_file
from tests.io._conversion import AFFINE, volume
from tests.io._processes import (
    HANG_GUARD,
    children,
    converting,
    handles_sigint,
    hidden,
    start_stopped_at,
    wait_until_gone,
    workers,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

IMAGES = 8
SHAPE = (64, 64, 64)
LARGE_SHAPE = (160, 160, 160)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough small scans that two workers are still busy when the first output appears."""
    folder = tmp_path_factory.mktemp("dataset")
    for index in range(IMAGES):
        nib.save(nib.Nifti1Image(volume(index, SHAPE), AFFINE), folder / f"case{index}.nii.gz")
    return folder


@pytest.fixture(scope="module")
def large_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scans that take long enough to write that a worker seen writing one still is."""
    folder = tmp_path_factory.mktemp("large")
    for index in range(IMAGES):
        data = volume(index, LARGE_SHAPE)
        nib.save(nib.Nifti1Image(data, AFFINE), folder / f"case{index}.nii")
    return folder


def _busy(out: Path) -> bool:
    """Whether a conversion has started writing into ``out``."""
    return out.is_dir() and any(out.iterdir())


def _assert_only_complete_outputs(out: Path) -> None:
    """Nothing partial: no staging entries, and every output opens and verifies."""
    assert hidden(out) == []
    for output in out.glob("*.mla"):
        assert verify_file(output).ok, output


def _starting(process: subprocess.Popen[str]) -> bool:
    """Both workers started and convert handling Ctrl-C again (the pool ignores it
    in the milliseconds in which it starts a worker)."""
    return len(workers(process.pid)) == 2 and handles_sigint(process.pid)


def _converting_into(out: Path) -> Callable[[subprocess.Popen[str]], bool]:
    """A worker writing an output into ``out`` now, and convert handling Ctrl-C."""
    return lambda process: bool(converting(out)) and handles_sigint(process.pid)


def _ctrl_c(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Ctrl-C in a terminal (SIGINT to the group) to a stopped group; what it printed."""
    os.killpg(process.pid, signal.SIGINT)
    os.killpg(process.pid, signal.SIGCONT)
    stdout, stderr = process.communicate(timeout=HANG_GUARD)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("moment", ["workers starting", "workers converting"])
def test_ctrl_c_during_a_dataset_is_one_line_and_status_130(
    dataset: Path, tmp_path: Path, moment: str
) -> None:
    out = tmp_path / "out"
    args = ("convert", dataset, out, "--workers", "2", "--no-progress")
    when = _starting if moment == "workers starting" else _converting_into(out)
    process = start_stopped_at(args, when, moment)
    assert _ctrl_c(process) == (130, "", "mlarray convert: interrupted\n")
    _assert_only_complete_outputs(out)


def _writing(folder: Path, target: Path) -> Callable[[subprocess.Popen[str]], bool]:
    """A single-file conversion writing ``target`` (staged in ``folder``) now."""
    return lambda process: bool(hidden(folder)) and not target.exists()


def test_ctrl_c_during_one_image_is_one_line_and_status_130(tmp_path: Path) -> None:
    source, target = tmp_path / "scan.mla", tmp_path / "scan.nii.gz"
    MLArray(volume(0, LARGE_SHAPE)).save(source)  # gzip keeps it busy for a while
    process = start_stopped_at(("convert", source, target), _writing(tmp_path, target), "writing")
    assert _ctrl_c(process) == (130, "", "mlarray convert: interrupted\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scan.mla"]


def test_workers_end_when_convert_is_killed(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("convert", dataset, out, "--workers", "2", "--no-progress")
    process = start_stopped_at(args, _converting_into(out), "busy workers")
    started = children(process.pid)  # the workers and multiprocessing's resource tracker
    assert len(workers(process.pid)) == 2
    process.kill()
    os.killpg(process.pid, signal.SIGCONT)
    process.communicate(timeout=HANG_GUARD)
    wait_until_gone(started)
    _assert_only_complete_outputs(out)


def test_a_worker_killed_mid_image_fails_that_image_only(
    large_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ("convert", large_dataset, out, "--workers", "2", "--no-progress")
    process = start_stopped_at(args, _converting_into(out), "a worker writing an output")
    os.kill(converting(out)[0], signal.SIGKILL)
    os.killpg(process.pid, signal.SIGCONT)
    stdout, stderr = process.communicate(timeout=HANG_GUARD)
    assert process.returncode == 1, stderr
    expected = f"converted {IMAGES - 1} (new: {IMAGES - 1}), skipped 0, failed 1 "
    assert stdout.startswith(expected), (stdout, stderr)
    (line,) = stderr.splitlines()
    assert line.startswith("FAILED ")
    assert line.endswith(": a worker process was killed by SIGKILL while converting it")
    assert len(list(out.glob("*.mla"))) == IMAGES - 1


def test_a_rerun_removes_staging_folders_that_killed_conversions_left(tmp_path: Path) -> None:
    data = volume(0, (96, 96, 96))
    source, target = tmp_path / "scan.mla", tmp_path / "scan.nii.gz"
    MLArray(data).save(source)
    process = start_stopped_at(("convert", source, target), _writing(tmp_path, target), "writing")
    process.kill()
    os.killpg(process.pid, signal.SIGCONT)
    process.communicate(timeout=HANG_GUARD)
    (litter,) = hidden(tmp_path)
    host, dead = socket.gethostname(), process.pid
    assert litter.startswith(f".scan.nii.gz.{host}.{dead}.")
    # A conversion of the same output still at work, and another output's litter.
    at_work = f".scan.nii.gz.{host}.{os.getpid()}.x1y2z3w4.partial"
    other = f".other.nii.gz.{host}.{dead}.x1y2z3w4.partial"
    for name in (at_work, other):
        (tmp_path / name).mkdir()
    convert_file(source, target)
    assert hidden(tmp_path) == sorted([at_work, other])
    np.testing.assert_array_equal(np.asarray(nib.load(target).dataobj), data)


UNGUARDED = """
from mlarray_io import convert_dataset

summary = convert_dataset({source!r}, {out!r}, workers=2, progress=False)
print("converted", len(summary.converted))
"""


def test_a_script_without_the_main_guard_gets_one_clear_error(
    dataset: Path, tmp_path: Path
) -> None:
    script = tmp_path / "convert_all.py"
    script.write_text(UNGUARDED.format(source=str(dataset), out=str(tmp_path / "out")))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=HANG_GUARD
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("Traceback") == 1  # the script's own, ending with:
    assert result.stderr.splitlines()[-1] == (
        f"mlarray_io.errors.WorkerStartError: worker processes cannot start: {script} has no "
        "'if __name__ == \"__main__\":' guard, so every worker (started with the spawn "
        "method) runs it again; move the conversion into such a block, or pass workers=1"
    )
    assert "BrokenProcessPool" not in result.stderr
