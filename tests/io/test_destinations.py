"""Destinations that cannot take the outputs: full, read-only, or names Blosc2 cannot write.

The file systems are real: a 3 MiB tmpfs (mounting needs root, as in CI; the
tests are skipped where it is impossible), filled up or remounted read-only.
Every problem is one line naming the user's path (never a staging path) and
its cause, the summary is complete or absent, and nothing is left behind.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from mlarray.cli import main
from mlarray_io.cli import SUMMARY_NAME
from tests.io._conversion import write_nifti
from tests.io._processes import hidden
from tests.reliability._small_disk import cannot_mount, small_disk

NO_SPACE = os.strerror(errno.ENOSPC)
READ_ONLY = os.strerror(errno.EROFS)


@contextmanager
def _mounted(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path, "tmpfs") as disk:
        yield disk


def _fill(folder: Path) -> None:
    """Write a file in ``folder`` until its file system has no space left."""

    def write_forever(file: BinaryIO) -> None:
        while True:
            file.write(bytes(65536))  # until ENOSPC

    filler = (folder / "filler").open("wb", buffering=0)
    with filler, pytest.raises(OSError, match=NO_SPACE) as full:
        write_forever(filler)
    assert full.value.errno == errno.ENOSPC


def _read_only(mount: Path) -> None:
    done = subprocess.run(
        ["mount", "-o", "remount,ro", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        cannot_mount("a tmpfs read-only", done.stderr.strip())


def _convert(*args: str | Path) -> int:
    return main(["convert", *map(str, args), "--workers", "1", "--no-progress"])


def _assert_one_line_each(lines: list[str], expected: list[tuple[str, str]]) -> None:
    """Each line starts as ``expected`` says and names the cause; no staging path, no traceback."""
    assert len(lines) == len(expected), lines
    for line, (start, cause) in zip(lines, expected, strict=True):
        assert line.startswith(start), line
        assert cause in line, line
        assert ".partial" not in line
        assert "mla-tmp" not in line


@pytest.mark.parametrize("suffix", [".mla", ".nii.gz"])
def test_a_full_destination_lists_every_failure_and_keeps_the_summary_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    source = tmp_path / "data"
    write_nifti(source / "a.nii.gz", seed=1)
    with _mounted(tmp_path) as disk:
        out = disk / "out"
        assert _convert(source, out, "--to", suffix) == 0
        before = (out / SUMMARY_NAME).read_text()
        write_nifti(source / "b.nii.gz", seed=2)
        write_nifti(source / "c.nii.gz", seed=3)
        _fill(disk)
        capsys.readouterr()

        assert _convert(source, out, "--to", suffix) == 1
        printed = capsys.readouterr()
        assert printed.out.startswith("converted 0, skipped 1 (up to date: 1), failed 2 in ")
        assert printed.out.endswith(" s; summary not written\n")
        _assert_one_line_each(
            printed.err.splitlines(),
            [
                (f"FAILED {source / 'b.nii.gz'}: {out / f'b{suffix}'}: ", NO_SPACE),
                (f"FAILED {source / 'c.nii.gz'}: {out / f'c{suffix}'}: ", NO_SPACE),
                ("mlarray convert: error: the summary was not written: ", NO_SPACE),
            ],
        )
        assert (out / SUMMARY_NAME).read_text() == before  # the last complete summary
        assert hidden(out) == []
        assert sorted(path.name for path in out.iterdir()) == [f"a{suffix}", SUMMARY_NAME]

        elsewhere = tmp_path / "summary.json"
        assert _convert(source, out, "--to", suffix, "--summary", elsewhere) == 1
        failed = json.loads(elsewhere.read_text())["failed"]
        assert [Path(record["source"]).name for record in failed] == ["b.nii.gz", "c.nii.gz"]
        assert all(NO_SPACE in record["error"] for record in failed)


def test_a_read_only_destination_is_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "data"
    write_nifti(source / "a.nii.gz", seed=1)
    write_nifti(source / "b.nii.gz", seed=2)
    with _mounted(tmp_path) as disk:
        out = disk / "out"
        out.mkdir()
        _read_only(disk)

        assert _convert(source, out) == 1
        printed = capsys.readouterr()
        assert printed.out.endswith(" s; summary not written\n")
        _assert_one_line_each(
            printed.err.splitlines(),
            [
                (f"FAILED {source / 'a.nii.gz'}: {out / 'a.mla'}: ", READ_ONLY),
                (f"FAILED {source / 'b.nii.gz'}: {out / 'b.mla'}: ", READ_ONLY),
                ("mlarray convert: error: the summary was not written: ", READ_ONLY),
            ],
        )

        assert _convert(source, disk / "new") == 1
        assert capsys.readouterr().err == (
            f"mlarray convert: error: {disk / 'new'}: cannot create the folder: {READ_ONLY}\n"
        )
        assert main(["convert", str(source / "a.nii.gz"), str(out / "a.nii")]) == 1
        assert capsys.readouterr().err == (
            f"mlarray convert: error: {out / 'a.nii'}: cannot create a folder in {out}: "
            f"{READ_ONLY}\n"
        )
        assert list(out.iterdir()) == []


def test_an_mla_name_that_is_not_utf8_is_refused_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nifti(tmp_path / "a.nii.gz")
    target = tmp_path / os.fsdecode(b"\xff.mla")
    assert main(["convert", str(tmp_path / "a.nii.gz"), str(target)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"mlarray convert: error: {tmp_path}/\\xff.mla: Blosc2 cannot write .mla files whose "
        "path is not valid UTF-8; rename it"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.nii.gz"]
