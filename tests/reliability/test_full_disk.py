"""A full disk is an error naming the file, never SIGBUS, never a partial or lost file.

Each case writes 16 MiB of noise onto a real 3 MiB file system (a tmpfs, and an
ext2 loop device) from a child process, so that a SIGBUS (what memory-mapped
writes to a full disk get) shows as a broken worker instead of killing pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray._verify import verify_file
from tests.reliability import _children
from tests.reliability._small_disk import small_disk
from tests.reliability._summary import record


@pytest.fixture(params=["tmpfs", "ext2"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A mounted 3 MiB file system."""
    with small_disk(tmp_path, request.param) as folder:
        yield folder


def _fill(target: Path, how: str) -> str:
    with ProcessPoolExecutor(1, mp_context=_children.forkserver()) as pool:
        return pool.submit(_children.fill_on_a_small_disk, str(target), how).result(timeout=120)


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.name != "lost+found")  # ext2's


def _assert_no_space_error(outcome: str, target: Path) -> None:
    assert outcome.startswith("MLArrayFileError: "), outcome
    assert str(target) in outcome
    assert "No space left on device" in outcome
    assert ".mla-tmp." not in outcome  # the user's path, never the temporary file's


@pytest.mark.parametrize("previous", [False, True])
def test_create_on_a_full_disk_raises_and_leaves_no_partial_file(
    disk: Path, previous: bool, request: pytest.FixtureRequest
) -> None:
    target = disk / "scan.mla"
    old = None
    if previous:
        _children.image(0).save(target)
        old = target.read_bytes()
    outcome = _fill(target, "create")
    _assert_no_space_error(outcome, target)
    assert _files(disk) == ([target] if previous else [])
    if old is not None:
        assert target.read_bytes() == old
    if previous:
        kind = request.node.callspec.params["disk"]
        record(f"full disk (3 MiB {kind}) during create over a file: {outcome}")


@pytest.mark.parametrize("how", ["edit", "save"])
def test_edit_or_save_on_a_full_disk_keeps_the_file(disk: Path, how: str) -> None:
    target = disk / "scan.mla"
    MLArray(np.zeros((64, 256, 256), np.float32), meta={"kept": True}).save(target)
    old = target.read_bytes()
    outcome = _fill(target, how)
    _assert_no_space_error(outcome, target)
    assert _files(disk) == [target]
    assert target.read_bytes() == old
    assert verify_file(target).ok
