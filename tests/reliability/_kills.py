"""Kill ``r+`` edits with SIGKILL at every moment and check what is left in the file.

A *lane* (:func:`run_lane`, a worker process with mlarray loaded) owns one file.
For each trial it forks a child that edits the file and is killed with SIGKILL,
then checks the file. Two kinds of kill:

* at the K-th interpreter event (``sys.setprofile``: every call and return, of
  Python and C functions alike) of one edit: K runs through the whole edit, from
  ``open`` to the ``rename`` in ``close()``, so every step of the transaction is
  hit, reproducibly; the child kills itself there;
* after a random time, while the child edits again and again: kills that land
  inside a C call (a write, an fsync) too.

Each edit ``step`` stores ``{"step": step}`` in ``meta.source`` and, with data
writes, the value ``step`` in voxel ``[0, 0, 0]`` and in one row that moves with
the step. After a kill the file must open, pass ``verify`` (checksums), and hold
the metadata and the data of one and the same completed edit: the one before the
interrupted edit or the interrupted edit itself (for event kills, exactly one of
those two).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray import MLArray
from mlarray._verify import verify_file
from mlarray.errors import MLArrayError

SHAPE = (48, 64, 64)
_EVENTS = ("call", "return", "c_call", "c_return", "c_exception")


def make_file(path: str) -> None:
    """The file the edits start from: step 0, small chunks (many of them)."""
    data = np.zeros(SHAPE, np.int16)
    MLArray(data, meta={"step": 0}, patch_size=None, chunk_size=(8, 32, 32)).save(path)


def edit(path: str, step: int, write_data: bool) -> None:
    """One edit: metadata (and data) of ``step``, stored by ``close()``."""
    with MLArray.open(path, mmap_mode="r+") as image:
        image.meta.source.data = {"step": step, "padding": "x" * (step % 200)}
        if write_data:
            image[1 + step % (SHAPE[0] - 1), :, 0:16] = step
            image[0, 0, 0] = step


def state(path: str, write_data: bool) -> int | str:
    """The step the file holds, or why it holds none (unreadable or torn)."""
    try:
        image = MLArray.open(path)
        step = image.meta.source["step"]
        marker = int(image[0, 0, 0])
        report = verify_file(path)
    except MLArrayError as exc:
        return f"unreadable: {type(exc).__name__}: {exc}"
    if not report.ok:
        return f"unreadable: verify: {report.problems}"
    if not isinstance(step, int):
        return f"torn: metadata step {step!r}"
    if write_data and marker != step:
        return f"torn: metadata of step {step}, data of step {marker}"
    return step


def _die_at_event(target: int) -> None:
    """Kill this process at its ``target``-th interpreter event (1 is the first)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        count += 1
        if count >= target:
            os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(profile)


def count_events(path: str, step: int, write_data: bool) -> int:
    """How many interpreter events one edit takes (the range of event kills)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        count += event in _EVENTS

    sys.setprofile(profile)
    try:
        edit(path, step, write_data)
    finally:
        sys.setprofile(None)
    return count


def _child(path: str, first_step: int, write_data: bool, event: int | None) -> None:
    """The edits of one killed child: one edit (event kill) or edits until killed."""
    try:
        if event is not None:
            _die_at_event(event)
            edit(path, first_step, write_data)
        else:
            step = first_step
            while True:
                edit(path, step, write_data)
                step += 1
    finally:
        os._exit(0)  # never back into the lane's code (or its atexit handlers)


@dataclass
class LaneResult:
    """What the kills of one lane left behind."""

    kills: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def run_lane(
    path: str, write_data: bool, lane: int, lanes: int, event_kills: int, timed_kills: int
) -> Any:
    """Run the trials of one file; see the module docstring.

    The event kills of all ``lanes`` lanes together fall on evenly spaced events
    from the first to the last event of an edit; this lane takes every
    ``lanes``-th of them, starting at ``lane``.

    Returns:
        A :class:`LaneResult`.
    """
    blosc2.set_nthreads(1)  # no thread pool: the children are forked from this process
    rng = random.Random(lane)
    make_file(path)
    started = time.perf_counter()
    edit(path, 1, write_data)  # warm: later edits take the same path, event for event
    seconds = time.perf_counter() - started
    events = count_events(path, 2, write_data)
    total = event_kills * lanes
    plan: list[int | None] = [
        round(point * (events - 1) / (total - 1)) + 1 for point in range(lane, total, lanes)
    ]
    plan += [None] * timed_kills
    current = 2
    result = LaneResult()
    for event in plan:
        pid = os.fork()
        if pid == 0:
            _child(path, current + 1, write_data, event)
        if event is None:
            time.sleep(rng.uniform(0, 3 * seconds))  # mostly within the first edit
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        result.kills += killed
        found = state(path, write_data)
        allowed = (current, current + 1) if event is not None else None
        if isinstance(found, str) or (allowed is not None and found not in allowed):
            result.outcomes["unreadable" if "unreadable" in str(found) else "torn"] += 1
            result.failures.append(f"kill at {event or 'a random time'}: {found}")
            make_file(path)
            current = 0
            continue
        result.outcomes["before the edit" if found == current else "after the edit"] += 1
        current = found
    edit(path, current + 1, write_data)  # the next close() removes the crashed edits' copies
    leftovers = [name for name in os.listdir(Path(path).parent) if ".mla-tmp." in name]
    if leftovers:
        result.failures.append(f"temporary files left: {leftovers}")
    return result
