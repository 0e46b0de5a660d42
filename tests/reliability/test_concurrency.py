"""Many readers, and a writer with readers, on one file.

* Worker processes (8 forked, 2 spawned: the two start methods of PyTorch
  dataloaders) each open the file themselves and read random patches: every patch
  is bit-identical to the source, and the pool finishes within a timeout.
* A reader holding the file open while ``save`` replaces it keeps reading the old
  file (the old inode stays mapped); new opens see the new file, complete.
* Readers opening the file again and again while another process saves over it
  see the old or the new file, never a mix, a partial file or an error.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MLArrayFileError
from tests.reliability import _children
from tests.reliability._summary import fuzz_scale, record

PATCHES = 200
TIMEOUT = 180.0
READERS = 2
READER_OPENS = 200
REPLACEMENTS_SEEN = 20


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A saved volume and a ``.npy`` copy of its data."""
    folder = tmp_path_factory.mktemp("concurrency")
    path, reference = folder / "scan.mla", folder / "scan.npy"
    _children.image(0).save(path)
    np.save(reference, _children.volume(0))
    return path, reference


@pytest.mark.parametrize(("start_method", "workers"), [("fork", 8), ("spawn", 2)])
def test_workers_read_identical_patches(
    scan: tuple[Path, Path], start_method: str, workers: int
) -> None:
    """200 patches (x MLARRAY_FUZZ_SCALE) per start method, spread over the workers.

    8 forked workers read at once; 2 spawned ones show the same from fresh
    interpreters (each costs an interpreter start with NumPy and blosc2, so no more).
    """
    path, reference = scan
    count = PATCHES * fuzz_scale() // workers
    context = multiprocessing.get_context(start_method)
    started = time.perf_counter()
    with context.Pool(workers) as pool:
        jobs = [(str(path), str(reference), seed, count) for seed in range(workers)]
        results = pool.starmap_async(_children.read_patches, jobs).get(TIMEOUT)
    seconds = time.perf_counter() - started
    read = sum(total for total, _ in results)
    wrong = sum(bad for _, bad in results)
    record(
        f"{workers} {start_method} workers: {read} random 24x48x48 patches, {wrong} differ "
        f"from the source ({seconds:.1f} s including worker start-up)"
    )
    assert (read, wrong) == (workers * count, 0)


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


def test_readers_reopening_during_saves_see_old_or_new_never_a_mix(memory_path: Path) -> None:
    """Two readers open the file 200 times each or more and see it replaced 20 times or more.

    The writer (this process) saves two versions over each other until both readers
    are done; every open, in each ``mmap_mode``, must give one version whole.
    ``benchmarks/reliability.py readers`` runs the same for 20 000 opens and more.
    """
    path = memory_path / "scan.mla"
    references = []
    for seed in (0, 1):
        references.append(str(memory_path / f"{seed}.npy"))
        np.save(references[-1], _children.volume(seed))
    images = [_children.image(0), _children.image(1)]
    images[0].save(path)
    least = (READER_OPENS * fuzz_scale(), REPLACEMENTS_SEEN * fuzz_scale())
    seconds = TIMEOUT * fuzz_scale()
    job = (str(path), references, *least, seconds)
    with _children.forkserver().Pool(READERS) as pool:
        readers = pool.starmap_async(_children.reopen_while_replaced, [job] * READERS)
        saves = 0
        while not readers.ready():  # each reader stops after ``seconds`` at the latest
            saves += 1
            images[saves % 2].save(path)
        results: list[tuple[int, int, int]] = readers.get(seconds + TIMEOUT)
    opens = sum(done for done, _, _ in results)
    wrong = sum(bad for _, bad, _ in results)
    replaced = sum(found for _, _, found in results)
    record(
        f"writer and readers: {saves} saves while {READERS} readers opened the file {opens} "
        f"times and found it replaced since their open before {replaced} times; {wrong} opens "
        "raised or mixed two versions"
    )
    for done, bad, seen in results:
        assert bad == 0
        assert done >= least[0]
        assert seen >= least[1]
