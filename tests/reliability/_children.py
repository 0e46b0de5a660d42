"""Functions run in child processes by the crash, full-disk, concurrency and integrity tests.

They live in an importable module (not in a test file) so that ``spawn`` and
``forkserver`` children can unpickle them by name.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import MLArray
from mlarray._integrity import chunk_region
from mlarray._verify import verify_file
from mlarray.errors import FileFormatError, MLArrayError

LAYOUT: dict[str, Any] = {"patch_size": None, "chunk_size": (16, 32, 32), "block_size": (8, 16, 16)}
MMAP_MODES = ("r", "c", None)
"""The ways of reading a file: through a mapping (read-only, copy-on-write) or not."""


def forkserver() -> Any:
    """The multiprocessing context of the children: forked from a server with mlarray loaded.

    Each child costs a fork, not an interpreter start. The server starts once per
    pytest run, with these modules; every test module asks for it here.
    """
    context = multiprocessing.get_context("forkserver")
    preload = ["numpy", "blosc2", "mlarray", "tests.reliability._children"]
    context.set_forkserver_preload([*preload, "tests.reliability._kills"])
    return context


def volume(seed: int, shape: tuple[int, ...] = (48, 96, 96)) -> np.ndarray[Any, Any]:
    """A CT-like int16 volume that compresses like real data (smooth plus noise)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 60, shape).cumsum(axis=-1).astype(np.int16)


def image(seed: int) -> MLArray:
    """An in-memory MLArray of :func:`volume` with some metadata."""
    return MLArray(volume(seed), spacing=[1.0, 0.8, 0.8], meta={"seed": seed}, **LAYOUT)


def replace_with(target: str | os.PathLike[str], data: bytes) -> None:
    """Make ``target`` hold ``data`` (written next to it, then renamed over it)."""
    staging = f"{target}.staging"
    with open(staging, "wb") as file:
        file.write(data)
    os.replace(staging, target)


def save_forever(target: str, seed: int, ready: Any) -> None:
    """Set the event ``ready``, then save the image of ``seed`` over ``target`` until killed."""
    new = image(seed)
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


def check_bit_flips(path: str, flips: list[tuple[int, int, int]], copy: str) -> tuple[int, int]:
    """Flip single bits of the file at ``path`` (of :func:`image` 0), one at a time.

    Each flip ``(chunk, byte, bit)`` is written to ``copy`` and checked with
    ``verify``; for each flip it flags, the flipped chunk is also read without
    ``verify``.

    Returns:
        (flips that ``verify`` flagged, plain reads that returned wrong data without
        an error).
    """
    data = Path(path).read_bytes()
    expected = volume(0)
    flagged = silent_reads = 0
    for chunk, position, bit in flips:
        damaged = bytearray(data)
        damaged[position] ^= 1 << bit
        Path(copy).write_bytes(damaged)
        if verify_file(copy).ok:
            continue
        flagged += 1
        region = chunk_region(expected.shape, LAYOUT["chunk_size"], chunk)  # what can change
        with contextlib.suppress(FileFormatError), MLArray.open(copy) as opened:
            silent_reads += not np.array_equal(opened[region], expected[region])
    return flagged, silent_reads


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


def reopen_while_replaced(
    path: str, references: list[str], opens: int, switches: int, seconds: float
) -> tuple[int, int, int]:
    """Open ``path`` again and again, reading it whole, while another process replaces it.

    ``references[seed]`` holds the data of the file saved with metadata ``{"seed": seed}``.
    The opens cycle through ``mmap_mode`` ``"r"``, ``"c"`` and None. The loop runs
    until at least ``opens`` opens have seen at least ``switches`` replacements (the
    seed changed from one open to the next), or for ``seconds`` at most.

    Returns:
        (opens, opens that raised or whose data is not the data of the file their
        metadata came from, replacements seen).
    """
    expected = [np.load(reference) for reference in references]
    done = wrong = seen = 0
    previous = None
    deadline = time.monotonic() + seconds
    while (done < opens or seen < switches) and time.monotonic() < deadline:
        mmap_mode = MMAP_MODES[done % len(MMAP_MODES)]
        done += 1
        try:
            with MLArray.open(path, mmap_mode=mmap_mode) as opened:
                data, seed = opened[...], opened.meta.source.data["seed"]
        except MLArrayError:
            wrong += 1
            continue
        wrong += not np.array_equal(data, expected[seed])
        seen += previous is not None and seed != previous
        previous = seed
    return done, wrong, seen


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
