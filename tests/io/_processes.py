"""Real ``mlarray convert`` processes to interrupt and kill, and what they leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HANG_GUARD = 120.0
"""Seconds after which a wait is a failure (a hang), never a measurement."""


def start_mlarray(*args: str | os.PathLike[str]) -> subprocess.Popen[str]:
    """Start ``python -m mlarray ARGS`` in its own process group, as a shell would."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlarray", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], object], what: str, process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` until it holds; fail if ``process`` ends first or it hangs."""
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the process ended before {what}: {process.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {HANG_GUARD} s")
        time.sleep(0.005)


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def workers(pid: int) -> list[int]:
    """The multiprocessing ``spawn`` workers among the children of ``pid``."""
    found = []
    for child in children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is still a live process (an exited zombie is not)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def wait_until_gone(pids: list[int]) -> None:
    """Poll until none of ``pids`` runs; fail with those left after the hang guard."""
    deadline = time.monotonic() + HANG_GUARD
    while any(map(running, pids)):
        if time.monotonic() > deadline:
            pytest.fail(f"still running {HANG_GUARD} s later: {list(filter(running, pids))}")
        time.sleep(0.05)


def hidden(folder: Path) -> list[str]:
    """The hidden entries (staging files and folders) in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))
