"""Subprocess that runs every user-facing read of ``.mla`` files on a batch of cases.

Run as ``python _worker.py JOB.json``. The job lists the cases (path, reference
array, patch) and a log file. Before a case the worker appends ``start INDEX`` to
the log, before each operation ``op NAME`` (progress: the parent declares a worker
hung when its log stops growing), after the case one JSON line with the outcome
of every operation, so that the parent can tell which case and operation was
running when the process died (signal, abort, timeout). The address space is
capped with ``RLIMIT_AS`` once the imports are done: no case may allocate more
than ``memory_headroom`` bytes.

The outcome of one operation is ``"ok"``, ``"differs"`` (read succeeded but the
data is not the reference's), the class name of an :class:`MLArrayError`, or
``"unexpected: TYPE: MESSAGE"`` for any other exception.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import io
import json
import pickle
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import MLArray, cli
from mlarray.cli.header import header_document, read_checked
from mlarray.errors import MLArrayError
from mlarray_meta import read_header

Case = dict[str, Any]


def _same(data: Any, reference: np.ndarray[Any, Any] | None) -> str:
    if reference is None:
        return "ok"
    data = np.asarray(data)
    same = data.shape == reference.shape and data.dtype == reference.dtype
    return "ok" if same and np.array_equal(data, reference) else "differs"


def _patch(case: Case) -> tuple[slice, ...]:
    return tuple(slice(start, stop) for start, stop in case["patch"])


def _open(case: Case, *, verify: bool) -> str:
    image = MLArray.open(case["path"], verify=verify)
    try:
        if image.shape is None:
            return "ok"
        reference = case["reference"]
        key = _patch(case)
        return _same(image[key], None if reference is None else reference[key])
    finally:
        image.close()


def _read_patch(image: MLArray, case: Case) -> str:
    """Read the case's patch with ``read_patches`` (one patch of a batch)."""
    if image.shape is None:
        return "ok"
    starts = [[start for start, _ in case["patch"]]]
    size = [stop - start for start, stop in case["patch"]]
    patch = image.read_patches(starts, size)[0]
    reference = case["reference"]
    return _same(patch, None if reference is None else reference[_patch(case)])


def _patches(case: Case, *, verify: bool) -> str:
    image = MLArray.open(case["path"], verify=verify)
    try:
        return _read_patch(image, case)
    finally:
        image.close()


def _pickled(case: Case) -> str:
    """What a spawned dataloader worker gets: a handle pickled before its first read."""
    image = pickle.loads(pickle.dumps(MLArray.open(case["path"], verify=True)))
    try:
        return _read_patch(image, case)
    finally:
        image.close()


def _load(case: Case, *, verify: bool, nthreads: int = 1) -> str:
    image = MLArray.load(case["path"], verify=verify, dparams={"nthreads": nthreads})
    return "ok" if image.shape is None else _same(image.to_numpy(), case["reference"])


def _open_whole(case: Case, *, nthreads: int) -> str:
    image = MLArray.open(case["path"], dparams={"nthreads": nthreads})
    try:
        return "ok" if image.shape is None else _same(image[...], case["reference"])
    finally:
        image.close()


def _construct(case: Case) -> str:
    image = MLArray(case["path"])
    if image.shape is None:
        return "ok"
    reference = case["reference"]
    key = _patch(case)
    return _same(image[key], None if reference is None else reference[key])


def _header_core(case: Case) -> str:
    json.dumps(header_document(read_checked(case["path"])))
    return "ok"


def _header_meta(case: Case) -> str:
    read_header(case["path"]).meta.to_mapping()
    return "ok"


def _verify(case: Case) -> str:
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["verify", case["path"]])
    return {0: "ok", 1: "flagged"}.get(status, f"unexpected: exit status {status}")


OPERATIONS: dict[str, Callable[[Case], str]] = {
    "open": lambda case: _open(case, verify=False),
    "open_verify": lambda case: _open(case, verify=True),
    "patches": lambda case: _patches(case, verify=False),
    "patches_verify": lambda case: _patches(case, verify=True),
    "pickled_verify": _pickled,
    "load": lambda case: _load(case, verify=False),
    "load_verify": lambda case: _load(case, verify=True),
    "load_threads": lambda case: _load(case, verify=False, nthreads=2),
    "open_whole_threads": lambda case: _open_whole(case, nthreads=2),
    "construct": _construct,
    "header_core": _header_core,
    "header_meta": _header_meta,
    "verify": _verify,
}


def _run(operation: Callable[[Case], str], case: Case) -> str:
    try:
        return operation(case)
    except MLArrayError as exc:
        return type(exc).__name__
    except BaseException as exc:  # recorded, the parent fails the test
        return f"unexpected: {type(exc).__name__}: {str(exc)[:300]}"


def _limit_memory(headroom: int) -> None:
    """Cap the address space at its current size plus ``headroom`` bytes."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    limit = pages * resource.getpagesize() + headroom
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(job_file: str) -> None:
    """Run the job described in ``job_file``; see the module docstring."""
    job = json.loads(Path(job_file).read_text())
    references: dict[str, np.ndarray[Any, Any]] = {}
    for name, path in job["references"].items():
        references[name] = np.load(path)
    faulthandler.enable()
    # ``mlarray verify`` runs once per case here, once per process for a user: build its
    # parser (plugin discovery through entry points, 2/3 of a small file's check) once.
    cli.build_parser = functools.cache(cli.build_parser)
    _limit_memory(job["memory_headroom"])
    with open(job["log"], "a", buffering=1) as log:
        for index in range(job["first"], len(job["cases"])):
            case = dict(job["cases"][index])
            case["reference"] = references.get(case["reference"])
            log.write(f"start {index}\n")
            outcomes = {}
            for name, operation in OPERATIONS.items():
                log.write(f"op {name}\n")  # progress: the parent's stall timer restarts
                outcomes[name] = _run(operation, case)
            log.write(json.dumps({"index": index, "ops": outcomes}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
