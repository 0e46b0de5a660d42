"""Measure one format in a fresh process: ``<python> worker.py '<json task>'``.

The task names an adapter from :mod:`formats`, its options, the file to use and
the source ``.npy`` every read is checked against, plus the steps to run:

- ``write``: ``{"repeats": n}``; save the source, fsync, report seconds and bytes (and,
  for ours, the seconds of the automatic storage choice alone).
- ``open``: ``{"count": n}``; header-only open latencies.
- ``patches``: ``{"sizes": {label: {"shape": [...], "starts": [[...], ...]}},
  "max_seconds": s}``; per-read latencies and CPU seconds of this process (all its
  threads), each read compared with the source.
- ``load``: ``{"threads": [1, 2]}``; whole-volume load seconds per thread count
  (after an untimed load, the median of three).
- ``cold``: ``{"shape": [...], "starts": [...], "max_seconds": s}``; for every patch,
  the page cache of the format's files is dropped (``posix_fadvise(DONTNEED)``), the
  file opened, the patch read and the file closed: seconds and bytes read from
  storage (``read_bytes`` of ``/proc/self/io``) per patch.
- ``memory``: ``{"start": [...], "shape": [...]}``; extra peak RSS of opening the
  file and reading one patch; must be the only step of its process.

The result is printed as one JSON line on stdout; on failure it holds ``error``
and the exit code is 1. Runs under any venv holding numpy and the format's library.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from formats import Adapter, make_adapter, sync_files, written_files

LOAD_REPEATS = 3
"""Timed whole-volume loads per thread count and pass (their median is reported)."""
THREAD_VARIABLES = ("BLOSC_NTHREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Let the libraries use ``n`` threads inside the block (1 outside, as the parent sets)."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: str(n) for k in THREAD_VARIABLES})
    blosc2 = sys.modules.get("blosc2")
    previous = blosc2.set_nthreads(n) if blosc2 else None
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if blosc2 and previous is not None:
            blosc2.set_nthreads(previous)


def to_slices(start: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    """Slices of the box with corner ``start`` and extent ``shape``."""
    return tuple(slice(s, s + n) for s, n in zip(start, shape, strict=True))


def check(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Raise when a read does not reproduce the source exactly."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise ValueError(
            f"{what}: got {actual.dtype}{actual.shape}, expected {expected.dtype}{expected.shape}"
        )
    if not np.array_equal(actual, expected):
        raise ValueError(f"{what}: values differ from the source array")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` and return (seconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def step_write(adapter: Adapter, path: str, source: str, repeats: int) -> dict[str, Any]:
    """Save the source ``repeats`` times; each save is timed including an fsync."""
    array = np.load(source)
    write_s, sync_s = [], []
    for _ in range(repeats):
        target = Path(path)
        if target.is_dir():
            shutil.rmtree(target)
        target.unlink(missing_ok=True)
        write_s.append(timed(partial(adapter.write, path, array))[0])
        sync_s.append(timed(partial(sync_files, path))[0])
    size = sum(f.stat().st_size for f in written_files(path))
    choice = adapter.choice_seconds(array)
    return {
        "write_seconds": write_s,
        "sync_seconds": sync_s,
        "choice_seconds": [] if choice is None else [choice],
        "file_bytes": size,
        "layout": adapter.layout(path),
    }


def step_open(adapter: Adapter, path: str, count: int) -> dict[str, Any]:
    """Open the file ``count`` times; time only the open call."""
    seconds = []
    for _ in range(count):
        elapsed, handle = timed(partial(adapter.open, path))
        seconds.append(elapsed)
        adapter.close(handle)
    return {"open_seconds": seconds}


def step_patches(
    adapter: Adapter, path: str, source: np.ndarray, sizes: dict[str, Any], max_seconds: float
) -> dict[str, Any]:
    """Read every listed patch through one handle; stop a size early past ``max_seconds``."""
    handle = adapter.open(path)
    out: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        for label, spec in sizes.items():
            out[label], cpu[label] = [], []
            for start in spec["starts"]:
                box = to_slices(start, spec["shape"])
                started = time.process_time()
                seconds, patch = timed(partial(adapter.read_patch, handle, box))
                cpu[label].append(time.process_time() - started)
                check(patch, source[box], f"patch {label} at {start}")
                out[label].append(seconds)
                if sum(out[label]) > max_seconds and len(out[label]) >= 3:
                    break
    finally:
        adapter.close(handle)
    return {"patch_seconds": out, "patch_cpu_seconds": cpu}


def step_load(
    adapter: Adapter, path: str, source: np.ndarray, thread_counts: Sequence[int]
) -> dict[str, Any]:
    """Load the whole array per thread count; return the median of three timed loads.

    An untimed load with the same thread count comes first: a process's first
    large allocations are much slower (page faults, huge pages backed for the
    first time, worse when two threads fault at once), which would measure the
    machine rather than the format. A process loading a dataset is past that
    after its first volume.
    """
    out: dict[str, float] = {}
    for n in thread_counts:
        with threads(n):
            check(adapter.load_all(path, n), np.asarray(source), f"warm-up load, {n} threads")
            seconds = []
            for _ in range(LOAD_REPEATS):
                took, array = timed(partial(adapter.load_all, path, n))
                check(array, np.asarray(source), f"whole load with {n} threads")
                seconds.append(took)
                del array
        out[str(n)] = statistics.median(seconds)
    return {"load_seconds": out}


def _read_bytes() -> int:
    """Bytes this process caused to be fetched from storage so far (``/proc/self/io``)."""
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no read_bytes")


def drop_page_cache(path: str) -> None:
    """Ask the kernel to drop the cached pages of every file written at ``path``."""
    for file in written_files(path):
        fd = os.open(file, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def step_cold(
    adapter: Adapter,
    path: str,
    source: np.ndarray,
    shape: list[int],
    starts: list[list[int]],
    max_seconds: float,
) -> dict[str, Any]:
    """Open, read one patch and close, each time with the file's pages out of the cache."""
    seconds, read_bytes = [], []
    for start in starts:
        box = to_slices(start, shape)
        drop_page_cache(path)
        before, started = _read_bytes(), time.perf_counter()
        handle = adapter.open(path)
        patch = adapter.read_patch(handle, box)
        adapter.close(handle)
        seconds.append(time.perf_counter() - started)
        read_bytes.append(_read_bytes() - before)
        check(patch, source[box], f"cold patch at {start}")
        if sum(seconds) > max_seconds and len(seconds) >= 3:
            break
    return {"cold_seconds": seconds, "cold_read_bytes": read_bytes}


def _status_kib(field: str) -> int:
    """Read a ``VmRSS``/``VmHWM`` line of /proc/self/status, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def step_memory(
    adapter: Adapter, path: str, source: str, start: list[int], shape: list[int]
) -> dict[str, Any]:
    """Extra peak RSS of opening ``path`` and reading one patch, libraries already imported."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
        method, baseline = "VmHWM reset via clear_refs", _status_kib("VmRSS")
    except OSError:
        method, baseline = "VmHWM since start", _status_kib("VmHWM")
    box = to_slices(start, shape)
    handle = adapter.open(path)
    patch = adapter.read_patch(handle, box)
    peak = _status_kib("VmHWM")
    adapter.close(handle)
    check(patch, np.load(source, mmap_mode="r")[box], f"memory patch at {start}")
    return {"extra_peak_kib": peak - baseline, "baseline_kib": baseline, "method": method}


def run(task: dict[str, Any]) -> dict[str, Any]:
    """Run the steps of ``task`` in a fixed order and merge their results."""
    adapter = make_adapter(task["adapter"], task.get("options", {}))
    result: dict[str, Any] = {"version": adapter.version(), "python": sys.executable}
    steps, path, source = task["steps"], task["path"], task["source"]
    if "memory" in steps:
        if len(steps) > 1:
            raise ValueError("the memory step must run alone in its process")
        return result | step_memory(adapter, path, source, **steps["memory"])
    if "write" in steps:
        result |= step_write(adapter, path, source, steps["write"]["repeats"])
    if "open" in steps:
        result |= step_open(adapter, path, steps["open"]["count"])
    reference = np.load(source, mmap_mode="r")
    if "patches" in steps:
        result |= step_patches(adapter, path, reference, **steps["patches"])
    if "load" in steps:
        result |= step_load(adapter, path, reference, steps["load"]["threads"])
    if "cold" in steps:
        result |= step_cold(adapter, path, reference, **steps["cold"])
    return result


def main(argv: Sequence[str]) -> int:
    """Parse the JSON task, run it, print one JSON line; return the exit code."""
    try:
        result, code = run(json.loads(argv[1])), 0
    except Exception as exc:
        lines = traceback.format_exception(exc)
        result, code = {"error": f"{type(exc).__name__}: {exc}", "traceback": "".join(lines)}, 1
    print(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
