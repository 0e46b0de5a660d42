"""Print the reliability outcome counts at the end of the run; a folder in memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._summary import LINES

SHARED_MEMORY = Path("/dev/shm")


@pytest.fixture
def memory_path(tmp_path: Path) -> Iterator[Path]:
    """A new folder on a tmpfs (``/dev/shm``), or ``tmp_path`` where there is none.

    For the tests that save and kill writers hundreds of times: a SIGKILL leaves what
    the process wrote in the page cache on any file system, so the outcome is the
    same, but ``fsync`` costs nothing on a tmpfs (tens of milliseconds a save on a disk).
    """
    if not (SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(prefix="mlarray-test-", dir=SHARED_MEMORY) as folder:
        yield Path(folder)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Write the corpus size and outcome counts recorded by the reliability tests."""
    if LINES:
        terminalreporter.section("reliability summary")
        for line in LINES:
            terminalreporter.write_line(line)
