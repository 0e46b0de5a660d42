"""A real, tiny file system to fill up: a size-limited tmpfs, else an ext2 loop device.

``RLIMIT_FSIZE`` does not reproduce a full disk for memory-mapped writes (the
kernel fails the page fault with SIGBUS only when the file system has no room),
so the full-disk tests mount one. Both need root: without it the tests are
skipped, but as root (CI runs as root) a mount that fails fails the test, so that
a broken environment never passes as a green run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SIZE_MIB = 3


def _run(*command: str) -> str | None:
    """Run ``command``; its stdout, or None if it failed or does not exist."""
    if shutil.which(command[0]) is None:
        return None
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def cannot_mount(what: str, detail: str = "") -> None:
    """Skip the test without root; fail it as root, where mounting must work."""
    reason = f"cannot mount {what} here" + (f": {detail}" if detail else "")
    if os.geteuid() == 0:
        pytest.fail(f"{reason} (running as root, so the environment is broken)")
    pytest.skip(f"{reason} (needs root)")


@contextmanager
def tmpfs(folder: Path, size_mib: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_mib`` MiB on ``folder`` (made if missing) while in the block."""
    folder.mkdir(exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        cannot_mount("a tmpfs", mounted.stderr.strip())
    try:
        yield folder
    finally:
        _run("umount", str(folder))


@contextmanager
def _loop_device(image: Path, folder: Path) -> Iterator[bool]:
    with image.open("wb") as file:
        file.truncate(SIZE_MIB * 2**20)
    device = _run("losetup", "--find", "--show", str(image))
    if device is None:
        yield False
        return
    try:
        made = _run("mkfs.ext2", "-q", "-m", "0", device) is not None
        yield made and _run("mount", device, str(folder)) is not None
    finally:
        _run("umount", str(folder))
        _run("losetup", "--detach", device)


@contextmanager
def small_disk(parent: Path, kind: str) -> Iterator[Path]:
    """Mount a file system of :data:`SIZE_MIB` MiB on a new folder in ``parent``.

    Args:
        parent: Where the mount point (and the loop device's image) go.
        kind: ``"tmpfs"`` or ``"ext2"`` (on a loop device).
    """
    folder = parent / "small-disk"
    if kind == "tmpfs":
        with tmpfs(folder, SIZE_MIB):
            yield folder
        return
    folder.mkdir()
    with _loop_device(parent / "small-disk.img", folder) as mounted:
        if not mounted:
            cannot_mount("an ext2 loop device", "losetup, mkfs.ext2 or mount failed")
        yield folder
