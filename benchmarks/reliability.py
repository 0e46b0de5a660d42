"""Measurements behind docs/reliability.md that are too long for the test suite.

Usage::

    python benchmarks/reliability.py edit-cost [--folder DIR] [--repeat N]
    python benchmarks/reliability.py readers [--opens N] [--readers N] [--folder DIR]

``edit-cost`` times ``r+`` edits of a large file (about 190 MiB on disk): a
metadata edit and a one-patch data edit, each as the transaction mlarray makes of
it (a copy of the file renamed over it at ``close()``) and as the in-place update
it replaced (blosc2 rewriting the trailer of the file itself, after a checksum
pass), and ``create`` filled slab by slab as it is (standard I/O into a file
renamed at ``close()``) and as it was (blosc2 writing through a memory mapping at
the path), interleaved (A B A B) and reported as medians and ratios.

``readers`` runs one process that saves two versions of a file over each other
as fast as it can and N processes (3) that open the file (20 000 times in all,
with ``mmap_mode`` ``"r"``, ``"c"`` and None in turn), read it whole and check
that the data belongs to the metadata; it prints the number of saves, opens,
opens that found the file replaced since the reader's open before, errors and
mixes. ``--folder`` picks the file system (``/dev/shm``: no fsync cost, the most
saves a second).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
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

REPLACED_SHAPE = (16, 64, 64)
"""The file of ``readers`` (256 KiB of float32): small, so that saves and opens are many."""


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


def _copy(path: Path, copy: Path) -> None:
    """What the working copy of a transaction costs at least: copying the file, fsync."""
    shutil.copyfile(path, copy)
    _fsync(copy)


def _create_staged(path: Path, volume: np.ndarray[Any, Any]) -> None:
    """create() as it is: standard I/O into a file next to ``path``, renamed at close()."""
    with MLArray.create(path, volume.shape, volume.dtype) as image:
        for start in range(0, volume.shape[0], 32):
            image[start : start + 32] = volume[start : start + 32]


def _create_mapped(path: Path, volume: np.ndarray[Any, Any]) -> None:
    """What create() did before: blosc2 writing the file at ``path`` through a mapping."""
    template = MLArray.empty(volume.shape, volume.dtype)  # the same layout, in memory
    stored = blosc2.empty(
        volume.shape,
        dtype=volume.dtype,
        urlpath=str(path),
        mode="w",
        mmap_mode="w+",
        chunks=template.meta.blosc2.chunk_size,
        blocks=template.meta.blosc2.block_size,
        cparams=template.meta.blosc2.cparams,
    )
    for start in range(0, volume.shape[0], 32):
        stored[start : start + 32] = volume[start : start + 32]
    write_file_metadata(stored, template.meta, integrity=chunk_checksums(stored))
    del stored
    _fsync(path)


def edit_cost(folder: Path, repeat: int) -> None:
    """Time metadata and data edits as transactions and in place; print medians."""
    path = folder / "large.mla"
    print("writing a 256 x 512 x 512 float32 volume ...", flush=True)
    volume = _volume(0, (256, 512, 512))
    MLArray(volume, spacing=[1.0, 0.8, 0.8]).save(path)
    print(f"file: {path.stat().st_size / 2**20:.1f} MiB on disk")
    cases = {
        "metadata edit, transaction": lambda step: _transaction_metadata(path, step),
        "metadata edit, in place": lambda step: _in_place(path, step, data=False),
        "64^3 patch + metadata, transaction": lambda step: _transaction_data(path, step),
        "64^3 patch + metadata, in place": lambda step: _in_place(path, step, data=True),
        "copy of the file (reference)": lambda _: _copy(path, folder / "copy.mla"),
        "create + fill, staged file": lambda _: _create_staged(folder / "new.mla", volume),
        "create + fill, mapped in place": lambda _: _create_mapped(folder / "new.mla", volume),
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
    ratio = medians["create + fill, staged file"] / medians["create + fill, mapped in place"]
    print(f"create + fill: staged (standard I/O) / mapped in place = {ratio:.2f}")


def _writer(path: str, stop: Any, saves: Any) -> None:
    """Save two versions over ``path`` in turn until ``stop`` is set; count in ``saves``."""
    images = [MLArray(_volume(seed, REPLACED_SHAPE), meta={"seed": seed}) for seed in (0, 1)]
    count = 0
    while not stop.is_set():
        images[count % 2].save(path)
        count += 1
    saves.value = count


def _reader(path: str, opens: int) -> tuple[int, int, int]:
    """Open, read whole and check ``path`` ``opens`` times, in each ``mmap_mode`` in turn.

    Returns:
        (errors, mixes, opens that found another version than the open before).
    """
    expected = [_volume(seed, REPLACED_SHAPE) for seed in (0, 1)]
    errors = mixes = switches = 0
    previous = None
    for done in range(opens):
        try:
            with MLArray.open(path, mmap_mode=("r", "c", None)[done % 3]) as image:
                data, seed = image[...], image.meta.source["seed"]
        except MLArrayError:
            errors += 1
            continue
        mixes += not np.array_equal(data, expected[seed])
        switches += previous is not None and seed != previous
        previous = seed
    return errors, mixes, switches


def readers(opens: int, count: int, folder: Path | None) -> None:
    """Open a file ``opens`` times in all while another process saves over it; print counts."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = str(Path(scratch) / "replaced.mla")
        MLArray(_volume(0, REPLACED_SHAPE), meta={"seed": 0}).save(path)
        context = multiprocessing.get_context("spawn")
        stop, saves = context.Event(), context.Value("l", 0)
        writer = context.Process(target=_writer, args=(path, stop, saves))
        writer.start()
        share = -(-opens // count)  # at least ``opens`` in all
        started = time.perf_counter()
        with context.Pool(count) as pool:
            results = pool.starmap(_reader, [(path, share)] * count)
        seconds = time.perf_counter() - started
        stop.set()
        writer.join()
    errors, mixes, switches = (sum(column) for column in zip(*results, strict=True))
    print(
        f"{count} readers, one writer: {share * count} opens in {seconds:.0f} s during "
        f"{saves.value} saves ({saves.value / seconds:.0f} a second); {switches} opens found "
        f"the other version than the open before; {errors} errors, {mixes} mixes"
    )


def main() -> None:
    """Parse the command line and run one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cost = commands.add_parser("edit-cost")
    cost.add_argument("--folder", type=Path, default=None)
    cost.add_argument("--repeat", type=int, default=7)
    reading = commands.add_parser("readers")
    reading.add_argument("--opens", type=int, default=20_000)
    reading.add_argument("--readers", type=int, default=3)
    reading.add_argument("--folder", type=Path, default=None)
    arguments = parser.parse_args()
    if arguments.command == "edit-cost":
        with tempfile.TemporaryDirectory(dir=arguments.folder) as folder:
            edit_cost(Path(folder), arguments.repeat)
    else:
        readers(arguments.opens, arguments.readers, arguments.folder)


if __name__ == "__main__":
    main()
