"""The block cache: a local folder shared by processes, bounded, never serving a changed file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from mlarray import BlockCache, MLArray
from mlarray._remote._cache import MEMORY
from mlarray_meta.errors import RemoteFileWarning
from tests.remote._http_server import RangeServer, replace_file

CORNER, PATCH = (80, 80, 80), 64


@pytest.fixture(autouse=True)
def _forget_memory() -> Iterator[None]:
    MEMORY.clear()  # each test starts as a fresh process would
    yield
    MEMORY.clear()


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_second_session_reads_the_blocks_from_the_cache(
    http: RangeServer, local: Callable[[str], MLArray], tmp_path: Path
) -> None:
    cache = BlockCache(tmp_path / "cache")
    first = MLArray.open(f"{http.url}/big.mla", cache=cache).read_patches([CORNER], PATCH)
    MEMORY.clear()
    http.traffic.reset()
    second = MLArray.open(f"{http.url}/big.mla", cache=cache).read_patches([CORNER], PATCH)
    assert http.traffic.requests == 2  # the header only
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, local("big.mla").read_patches([CORNER], PATCH))


def test_the_cache_folder_stays_within_its_bound(http: RangeServer, tmp_path: Path) -> None:
    cache = BlockCache(tmp_path / "cache", max_bytes=300_000)
    image = MLArray.open(f"{http.url}/big.mla", cache=cache)
    rng = np.random.default_rng(5)
    for _ in range(6):
        image.read_patches([[int(rng.integers(0, n - PATCH)) for n in (256, 512, 512)]], PATCH)
        assert 0 < folder_bytes(tmp_path / "cache") <= 300_000


def test_a_changed_file_is_never_read_from_the_cache(
    http: RangeServer, scratch: Path, served: Path, tmp_path: Path
) -> None:
    cache = BlockCache(tmp_path / "cache")
    (scratch / "scan.mla").write_bytes((served / "small.mla").read_bytes())
    MLArray.open(f"{http.url}/scratch/scan.mla", cache=cache).to_numpy()
    changed = MLArray.open(served / "small.mla").to_numpy() + 1
    MLArray(changed).save(tmp_path / "changed.mla")
    replace_file(scratch / "scan.mla", (tmp_path / "changed.mla").read_bytes())
    MEMORY.clear()
    reread = MLArray.open(f"{http.url}/scratch/scan.mla", cache=cache).to_numpy()
    np.testing.assert_array_equal(reread, changed)


def test_without_validators_nothing_is_cached(http: RangeServer, tmp_path: Path) -> None:
    http.validators = False
    image = MLArray.open(f"{http.url}/small.mla", cache=tmp_path / "cache")
    with pytest.warns(RemoteFileWarning, match="block cache is not used"):
        image.to_numpy()
    assert not (tmp_path / "cache").exists()


def test_max_bytes_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes: expected a positive integer, got 0"):
        BlockCache(tmp_path, max_bytes=0)
