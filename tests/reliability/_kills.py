"""Kill writers with SIGKILL at every moment and check what is left in the file.

A *lane* (a worker process with mlarray loaded) owns one file. For each trial it
forks a child that writes the file and is killed with SIGKILL, then checks the
file. Each writer is killed in two ways:

* at the K-th interpreter event (``sys.setprofile``: every call and return, of
  Python and C functions alike) of one write: K runs through the whole write, from
  its first step to the ``rename`` that stores it, so every step is hit,
  reproducibly; the child kills itself there;
* after a random time, while the child writes again and again: kills that land
  inside a C call (a write, an fsync) too.

The writers:

* ``r+`` edits (:func:`run_lane`). Each edit ``step`` stores ``{"step": step}`` in
  ``meta.source`` and, with data writes, the value ``step`` in voxel ``[0, 0, 0]``
  and in one row that moves with the step. After a kill the file must open, pass
  ``verify`` (checksums), and hold the metadata and the data of one and the same
  completed edit: the one before the interrupted edit or the interrupted edit
  itself (for event kills, exactly one of those two).
* ``save`` over an existing file (:func:`run_save_lane`): the file must be the old
  one bit for bit, or the new one, complete (``verify`` passes, data and metadata as
  saved).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray import MLArray
from mlarray._verify import verify_file
from mlarray.errors import MLArrayError
from tests.reliability import _children

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


def _count_events(work: Callable[[], None]) -> int:
    """How many interpreter events ``work()`` takes (the range of event kills)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        count += event in _EVENTS

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def _plan(events: int, lanes: int, event_kills: int, timed_kills: int, lane: int) -> list[Any]:
    """This lane's kills: events to die at (int), then None for each timed kill.

    The event kills of all ``lanes`` lanes together fall on evenly spaced events
    from the first to the last of the ``events`` a write takes; this lane takes every
    ``lanes``-th of them, starting at ``lane``.
    """
    total = event_kills * lanes
    points = range(lane, total, lanes)
    return [round(point * (events - 1) / (total - 1)) + 1 for point in points] + [
        None
    ] * timed_kills


def _edits(path: str, first_step: int, write_data: bool, event: int | None) -> None:
    """The edits of one killed child: one edit (event kill) or edits until killed."""
    if event is not None:
        _die_at_event(event)
        edit(path, first_step, write_data)
        return
    step = first_step
    while True:
        edit(path, step, write_data)
        step += 1


def _temporary_files(path: str) -> list[Path]:
    """What killed writers of ``path`` left next to it (removed by the next write)."""
    return sorted(Path(path).parent.glob(f".{Path(path).name}.mla-tmp.*"))


def _killed(path: str, work: Callable[[], None], delay: float | None) -> bool:
    """Run ``work`` in a forked child, SIGKILL it after ``delay`` seconds; True if killed.

    With ``delay`` None the child is expected to kill itself. The temporary files of
    earlier kills are removed first: their clean-up would add steps to the write, and
    event kills must land where :func:`_plan` put them.
    """
    for leftover in _temporary_files(path):
        leftover.unlink()
    pid = os.fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)  # never back into the lane's code (or its atexit handlers)
    if delay is not None:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@dataclass
class LaneResult:
    """What the kills of one lane left behind."""

    events: int = 0
    """How many interpreter events one write takes (the range of the event kills)."""
    kills: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def run_lane(
    path: str, write_data: bool, lanes: int, event_kills: int, timed_kills: int, lane: int
) -> Any:
    """Kill ``r+`` edits of ``path``; see the module docstring and :func:`_plan`.

    Returns:
        A :class:`LaneResult`.
    """
    blosc2.set_nthreads(1)  # no thread pool: the children are forked from this process
    rng = random.Random(lane)
    make_file(path)
    started = time.perf_counter()
    edit(path, 1, write_data)  # warm: later edits take the same path, event for event
    seconds = time.perf_counter() - started
    events = _count_events(partial(edit, path, 2, write_data))
    plan = _plan(events, lanes, event_kills, timed_kills, lane)
    current = 2
    result = LaneResult(events=events)
    for event in plan:
        delay = None if event is not None else rng.uniform(0, 1.5 * seconds)  # the first edit
        result.kills += _killed(path, partial(_edits, path, current + 1, write_data, event), delay)
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
    if _temporary_files(path):
        result.failures.append(f"temporary files left: {_temporary_files(path)}")
    return result


def _saved_state(path: str, old: bytes) -> str:
    """``"old"`` if ``path`` is the old file bit for bit, ``"new"`` if complete, else why not."""
    if Path(path).read_bytes() == old:
        return "old"
    report = verify_file(path)
    if not report.ok:
        return f"broken: {report.problems}"
    with MLArray.open(path) as opened:
        same = np.array_equal(opened[...], _children.volume(1))
        if not same or opened.meta.source.data != {"seed": 1}:
            return "broken: verify passes but the content is neither old nor new"
    return "new"


def _saves(path: str, new: MLArray, event: int | None) -> None:
    """The saves of one killed child: one save (event kill) or saves until killed."""
    if event is not None:
        _die_at_event(event)
        new.save(path)
        return
    while True:
        new.save(path)


def run_save_lane(path: str, lanes: int, event_kills: int, timed_kills: int, lane: int) -> Any:
    """Kill saves over ``path``; see the module docstring and :func:`_plan`.

    The file holds the image of seed 0 before each trial; the child saves the image
    of seed 1 over it: once, killed at an event of the save, or again and again,
    killed after a random time of up to two saves.

    Returns:
        A :class:`LaneResult` (outcomes ``"old"`` and ``"new"``).
    """
    blosc2.set_nthreads(1)  # no thread pool: the children are forked from this process
    rng = random.Random(lane)
    _children.image(0).save(path)
    old = Path(path).read_bytes()
    new = _children.image(1)
    started = time.perf_counter()
    new.save(path)  # warm: later saves take the same path, event for event
    seconds = time.perf_counter() - started
    events = _count_events(partial(new.save, path))
    result = LaneResult(events=events)
    for event in _plan(events, lanes, event_kills, timed_kills, lane):
        _children.replace_with(path, old)
        delay = None if event is not None else rng.uniform(0, 2 * seconds)
        result.kills += _killed(path, partial(_saves, path, new, event), delay)
        found = _saved_state(path, old)
        result.outcomes[found if found in ("old", "new") else "broken"] += 1
        if found not in ("old", "new"):
            result.failures.append(f"kill at {event or 'a random time'}: {found}")
    return result
