"""Functions run in child processes by the crash, full-disk and concurrency tests.

They live in an importable module (not in a test file) so that ``spawn`` and
``forkserver`` children can unpickle them by name.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from typing import Any

import numpy as np

from mlarray import MLArray
from mlarray.errors import MLArrayError

LAYOUT: dict[str, Any] = {"patch_size": None, "chunk_size": (16, 32, 32), "block_size": (8, 16, 16)}


def volume(seed: int, shape: tuple[int, ...] = (48, 96, 96)) -> np.ndarray[Any, Any]:
    """A CT-like int16 volume that compresses like real data (smooth plus noise)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 60, shape).cumsum(axis=-1).astype(np.int16)


def image(seed: int) -> MLArray:
    """An in-memory MLArray of :func:`volume` with some metadata."""
    return MLArray(volume(seed), spacing=[1.0, 0.8, 0.8], meta={"seed": seed}, **LAYOUT)


def save_forever(target: str, seed: int, duration: Any, ready: Any) -> None:
    """Save the image of ``seed`` over ``target`` again and again until killed.

    A first save to a scratch file next to ``target`` measures how long one save
    takes; its duration (seconds) goes to the shared value ``duration``.
    """
    new = image(seed)
    scratch = f"{target}.timing.mla"
    started = time.perf_counter()
    new.save(scratch)
    duration.value = time.perf_counter() - started
    os.unlink(scratch)
    ready.set()
    while True:
        new.save(target)


def save_with_file_size_limit(target: str, seed: int, limit: int) -> str:
    """Save over ``target`` with writes capped at ``limit`` bytes per file (a full disk).

    ``SIGXFSZ`` is ignored so that writes past the limit fail with ``EFBIG``.

    Returns:
        ``"saved"``, or the class name and message of the exception raised.
    """
    new = image(seed)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        new.save(target)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "saved"


def edit_then_crash(target: str, write_data: bool) -> None:
    """Open ``target`` with ``mmap_mode='r+'``, edit its metadata (and data), die unclosed."""
    opened = MLArray.open(target, mmap_mode="r+")
    opened.meta.source.data = {"edited": True}
    opened.spacing = [2.0, 2.0, 2.0]
    if write_data:
        opened[0:4, 0:8, 0:8] = 7
    os.kill(os.getpid(), signal.SIGKILL)


def read_patches(path: str, reference: str, seed: int, count: int) -> tuple[int, int]:
    """Open ``path`` in this process and compare ``count`` random patches with ``reference``.

    This is what each dataloader worker should do: its own handle, opened after the
    worker started, with one decompression thread.

    Returns:
        (patches read, patches that differ from the reference).
    """
    expected = np.load(reference, mmap_mode="r")
    opened = MLArray.open(path, mmap_mode="r", dparams={"nthreads": 1})
    rng = np.random.default_rng(seed)
    patch = np.array([24, 48, 48])
    wrong = 0
    for _ in range(count):
        start = rng.integers(0, np.array(expected.shape) - patch + 1)
        key = tuple(slice(int(a), int(a + size)) for a, size in zip(start, patch, strict=True))
        wrong += not np.array_equal(opened[key], expected[key])
    opened.close()
    return count, wrong


def reopen_while_replaced(path: str, references: list[str], seconds: float) -> tuple[int, int]:
    """Open ``path`` again and again for ``seconds`` while another process replaces it.

    ``references[seed]`` holds the data of the file saved with metadata ``{"seed": seed}``.

    Returns:
        (opens, opens whose data is not the data of the file their metadata came from,
        or that raised).
    """
    expected = [np.load(reference) for reference in references]
    opens = wrong = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        opens += 1
        try:
            opened = MLArray.open(path, mmap_mode="r")
            data = opened[...]
        except MLArrayError:
            wrong += 1
            continue
        wrong += not np.array_equal(data, expected[opened.meta.source.data["seed"]])
    return opens, wrong


def noise(shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Incompressible float32 values: 16 MiB for (64, 256, 256), whatever the codec."""
    return np.random.default_rng(0).random(shape, dtype=np.float32)


def fill_on_a_small_disk(target: str, how: str) -> str:
    """Write 16 MiB of noise to ``target`` on a 3 MiB file system, the way ``how`` says.

    ``how`` is ``"create"`` (``MLArray.create`` then ``image[...] = noise``, the
    memory-mapped default), ``"edit"`` (``open(mmap_mode='r+')`` of an existing
    file) or ``"save"``.

    Returns:
        ``"written"``, or the class name and message of the exception raised.
    """
    values = noise((64, 256, 256))
    try:
        if how == "create":
            image = MLArray.create(target, shape=values.shape, dtype=np.float32)
            image[...] = values
            image.close()
        elif how == "edit":
            with MLArray.open(target, mmap_mode="r+") as image:
                image[...] = values
        else:
            MLArray(values).save(target)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "written"
