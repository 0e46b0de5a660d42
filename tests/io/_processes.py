"""Real ``mlarray convert`` processes to interrupt and kill, and what they leave behind."""

from __future__ import annotations

import os
import re
import signal
import socket
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


def _group(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children(current))
    return found


def _stopped_or_gone(pid: int) -> bool:
    fields = _stat(pid)
    return fields is None or fields[0] in "TtZX"


def start_stopped_at(
    args: tuple[str | os.PathLike[str], ...],
    moment: Callable[[subprocess.Popen[str]], object],
    what: str,
    *,
    attempts: int = 3,
) -> subprocess.Popen[str]:
    """Start ``mlarray ARGS`` and stop its process group (SIGSTOP) at ``moment``.

    Polls ``moment(process)``; when it holds, stops the group, waits until every
    process of it has stopped, and checks ``moment`` again now that nothing moves.
    If the command went past the moment in between, the group resumes and polling
    goes on; if it ended before the moment, a new one is started (at most
    ``attempts`` times: a machine too loaded to catch the moment is not a failure
    of the code under test, but a moment never reached is). The caller sends its
    signal, then resumes the group with ``os.killpg(process.pid, signal.SIGCONT)``.
    """
    for _ in range(attempts):
        process = start_mlarray(*args)
        deadline = time.monotonic() + HANG_GUARD
        while process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {HANG_GUARD} s")
            if moment(process):
                os.killpg(process.pid, signal.SIGSTOP)
                while not all(map(_stopped_or_gone, _group(process.pid))):
                    time.sleep(0.001)
                if moment(process):
                    return process
                os.killpg(process.pid, signal.SIGCONT)
            time.sleep(0.005)
        process.communicate()
    pytest.fail(f"{attempts} runs of mlarray {args} ended before {what}")


def wait_until_gone(pids: list[int]) -> None:
    """Poll until none of ``pids`` runs; fail with those left after the hang guard."""
    deadline = time.monotonic() + HANG_GUARD
    while any(map(running, pids)):
        if time.monotonic() > deadline:
            pytest.fail(f"still running {HANG_GUARD} s later: {list(filter(running, pids))}")
        time.sleep(0.05)


def handles_sigint(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGINT now (Linux ``/proc``).

    A pool ignores SIGINT while it starts a worker; once this is true again no
    start is under way.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def converting(folder: Path) -> list[int]:
    """The processes writing an output into ``folder`` now, from their staging entries.

    Staging entries (``.NAME.mla-tmp.HOST.PID.XXXXXXXX`` files, or
    ``.NAME.HOST.PID.XXXXXXXX.partial`` folders) carry the writer's process id.
    """
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(socket.gethostname())}\.(\d+)\.")
    return [int(found[1]) for name in hidden(folder) if (found := pattern.search(name))]


def hidden(folder: Path) -> list[str]:
    """The hidden entries (staging files and folders) in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))
