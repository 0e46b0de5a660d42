"""Measurements behind docs/reliability.md that are too long for the test suite.

Usage::

    python benchmarks/reliability.py edit-cost [--folder DIR] [--repeat N]
    python benchmarks/reliability.py readers [--seconds S] [--readers N]

``edit-cost`` times ``r+`` edits of a large file (about 190 MiB on disk): a
metadata edit and a one-patch data edit, each as the transaction mlarray makes of
it (a copy of the file renamed over it at ``close()``) and as the in-place update
it replaced (blosc2 rewriting the trailer of the file itself, after a checksum
pass), interleaved (A B A B) and reported as medians and ratios.

``readers`` runs one process that saves two versions of a file over each other
as fast as it can and N processes that open the file again and again, read it
whole and check that the data belongs to the metadata; it prints the number of
opens, errors and mixes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray import MLArray
from mlarray._file_metadata import write_file_metadata
from mlarray._integrity import chunk_checksums
from mlarray.errors import MLArrayError


def _volume(seed: int, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 60, shape).cumsum(axis=-1) / 100).astype(np.float32)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _transaction_metadata(path: Path, step: int) -> None:
    with MLArray.open(path, mmap_mode="r+") as image:
        image.meta.source["step"] = step


def _transaction_data(path: Path, step: int) -> None:
    with MLArray.open(path, mmap_mode="r+") as image:
        image[0:64, 0:64, 0:64] = step


def _in_place(path: Path, step: int, *, data: bool) -> None:
    """What close() did before edits were transactions: rewrite the file's own trailer."""
    meta = MLArray.open(path).meta
    meta.source["step"] = step
    stored = blosc2.open(str(path), mode="a", mmap_mode="r+")
    if data:
        stored[0:64, 0:64, 0:64] = step
    write_file_metadata(stored, meta, integrity=chunk_checksums(stored))
    del stored
    _fsync(path)


def edit_cost(folder: Path, repeat: int) -> None:
    """Time metadata and data edits as transactions and in place; print medians."""
    path = folder / "large.mla"
    print("writing a 256 x 512 x 512 float32 volume ...", flush=True)
    MLArray(_volume(0, (256, 512, 512)), spacing=[1.0, 0.8, 0.8]).save(path)
    print(f"file: {path.stat().st_size / 2**20:.1f} MiB on disk")
    cases = {
        "metadata edit, transaction": lambda step: _transaction_metadata(path, step),
        "metadata edit, in place": lambda step: _in_place(path, step, data=False),
        "64^3 patch + metadata, transaction": lambda step: _transaction_data(path, step),
        "64^3 patch + metadata, in place": lambda step: _in_place(path, step, data=True),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for step in range(repeat):
        for name, run in cases.items():
            started = time.perf_counter()
            run(step)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:38} median {value * 1000:8.1f} ms over {repeat}")
    for kind in ("metadata edit", "64^3 patch + metadata"):
        ratio = medians[f"{kind}, transaction"] / medians[f"{kind}, in place"]
        print(f"{kind}: transaction / in place = {ratio:.2f}")


def _writer(path: str, seconds: float, saves: Any) -> None:
    images = [MLArray(_volume(seed, (48, 96, 96)), meta={"seed": seed}) for seed in (0, 1)]
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        images[count % 2].save(path)
        count += 1
    saves.value = count


def _reader(path: str, seconds: float) -> tuple[int, int, int]:
    expected = [_volume(seed, (48, 96, 96)) for seed in (0, 1)]
    opens = errors = mixes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        opens += 1
        try:
            image = MLArray.open(path)
            data = image[...]
        except MLArrayError:
            errors += 1
            continue
        mixes += not np.array_equal(data, expected[image.meta.source["seed"]])
    return opens, errors, mixes


def readers(seconds: float, count: int) -> None:
    """Open a file again and again while another process saves over it; print the counts."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "replaced.mla")
        MLArray(_volume(0, (48, 96, 96)), meta={"seed": 0}).save(path)
        context = multiprocessing.get_context("spawn")
        saves = context.Value("l", 0)
        writer = context.Process(target=_writer, args=(path, seconds + 2, saves))
        writer.start()
        with context.Pool(count) as pool:
            results = pool.starmap(_reader, [(path, seconds)] * count)
        writer.join()
    opens, errors, mixes = (sum(column) for column in zip(*results, strict=True))
    print(
        f"{count} readers, {seconds:.0f} s, one writer ({saves.value} saves): "
        f"{opens} opens, {errors} errors, {mixes} mixes"
    )


def main() -> None:
    """Parse the command line and run one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cost = commands.add_parser("edit-cost")
    cost.add_argument("--folder", type=Path, default=None)
    cost.add_argument("--repeat", type=int, default=7)
    reading = commands.add_parser("readers")
    reading.add_argument("--seconds", type=float, default=120.0)
    reading.add_argument("--readers", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.command == "edit-cost":
        with tempfile.TemporaryDirectory(dir=arguments.folder) as folder:
            edit_cost(Path(folder), arguments.repeat)
    else:
        readers(arguments.seconds, arguments.readers)


if __name__ == "__main__":
    main()
