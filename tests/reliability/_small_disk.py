"""A real, tiny file system to fill up: a size-limited tmpfs, else an ext2 loop device.

``RLIMIT_FSIZE`` does not reproduce a full disk for memory-mapped writes (the
kernel fails the page fault with SIGBUS only when the file system has no room),
so the full-disk tests mount one. Both need root (CI runs as root); without it
the tests are skipped.
"""

from __future__ import annotations

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
    folder.mkdir()
    if kind == "tmpfs":
        if _run("mount", "-t", "tmpfs", "-o", f"size={SIZE_MIB}m", "tmpfs", str(folder)) is None:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        try:
            yield folder
        finally:
            _run("umount", str(folder))
        return
    with _loop_device(parent / "small-disk.img", folder) as mounted:
        if not mounted:
            pytest.skip("cannot mount an ext2 loop device here (needs root and /dev/loop*)")
        yield folder
