"""Many readers, and a writer with readers, on one file.

* 8 worker processes (``fork`` and ``spawn``, the two start methods of PyTorch
  dataloaders) each open the file themselves and read random patches: every patch
  is bit-identical to the source, and the pool finishes within a timeout.
* A reader holding the file open while ``save`` replaces it keeps reading the old
  file (the old inode stays mapped); new opens see the new file, complete.
* Readers opening the file again and again while another process saves over it
  see the old or the new file, never a mix or a partial file.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MLArrayFileError
from tests.reliability import _children
from tests.reliability._summary import fuzz_scale, record

WORKERS = 8
TIMEOUT = 180.0


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A saved volume and a ``.npy`` copy of its data."""
    folder = tmp_path_factory.mktemp("concurrency")
    path, reference = folder / "scan.mla", folder / "scan.npy"
    _children.image(0).save(path)
    np.save(reference, _children.volume(0))
    return path, reference


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_eight_workers_read_identical_patches(scan: tuple[Path, Path], start_method: str) -> None:
    path, reference = scan
    count = 25 * fuzz_scale()
    context = multiprocessing.get_context(start_method)
    started = time.perf_counter()
    with context.Pool(WORKERS) as pool:
        jobs = [(str(path), str(reference), seed, count) for seed in range(WORKERS)]
        results = pool.starmap_async(_children.read_patches, jobs).get(TIMEOUT)
    seconds = time.perf_counter() - started
    read = sum(total for total, _ in results)
    wrong = sum(bad for _, bad in results)
    record(
        f"{WORKERS} {start_method} workers: {read} random 24x48x48 patches, {wrong} differ "
        f"from the source ({seconds:.1f} s including worker start-up)"
    )
    assert (read, wrong) == (WORKERS * count, 0)


@pytest.mark.parametrize(("mode", "mmap_mode"), [("r", "r"), ("r", "c"), ("r", None)])
@pytest.mark.parametrize("read_before_save", [True, False])
def test_a_reader_keeps_the_file_it_opened_while_save_replaces_it(
    tmp_path: Path, mode: str, mmap_mode: str | None, read_before_save: bool
) -> None:
    """Header and data come from the file opened, even when the path names another now."""
    path = tmp_path / "scan.mla"
    _children.image(0).save(path)
    reader = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    if read_before_save:
        np.testing.assert_array_equal(reader[0:4], _children.volume(0)[0:4])
    _children.image(1).save(path)
    np.testing.assert_array_equal(reader[...], _children.volume(0))
    assert reader.meta.source.data == {"seed": 0}
    fresh = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    np.testing.assert_array_equal(fresh[...], _children.volume(1))
    assert fresh.meta.source.data == {"seed": 1}


def test_a_writer_whose_file_was_replaced_meanwhile_does_not_overwrite_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scan.mla"
    _children.image(0).save(path)
    writer = MLArray.open(path, mmap_mode="r+")
    writer[0] = 1
    _children.image(1).save(path)
    with pytest.raises(MLArrayFileError, match="another writer replaced or removed the file"):
        writer.close()
    assert MLArray.open(path).meta.source.data == {"seed": 1}
    np.testing.assert_array_equal(MLArray.open(path)[...], _children.volume(1))
    assert sorted(path.parent.iterdir()) == [path]


def test_readers_reopening_during_saves_see_old_or_new_never_a_mix(tmp_path: Path) -> None:
    path = tmp_path / "scan.mla"
    references = []
    for seed in (0, 1):
        references.append(str(tmp_path / f"{seed}.npy"))
        np.save(references[-1], _children.volume(seed))
    images = [_children.image(0), _children.image(1)]
    images[0].save(path)
    seconds = 3.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        readers = pool.starmap_async(
            _children.reopen_while_replaced, [(str(path), references, seconds)] * 2
        )
        saves = 0
        deadline = time.monotonic() + seconds + 2.0
        while time.monotonic() < deadline and not readers.ready():
            images[saves % 2].save(path)
            saves += 1
        results: list[Any] = readers.get(TIMEOUT)
    opens = sum(total for total, _ in results)
    wrong = sum(bad for _, bad in results)
    record(f"writer and readers: {saves} saves while readers opened {opens} times, {wrong} mixed")
    assert opens > 0
    assert saves > 0
    assert wrong == 0
