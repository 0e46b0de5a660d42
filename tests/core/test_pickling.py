"""MLArray objects travel to worker processes (the spawn start method pickles them)."""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MLArrayFileError


def _volume() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 5000, (20, 30, 40)).astype(np.uint16)


def test_read_only_file_pickles_as_its_path_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "a.mla"
    MLArray(_volume(), spacing=(1.0, 2.0, 3.0)).save(path)
    image = MLArray.open(path, mmap_mode="r")
    image.meta.source["edited"] = True  # unsaved edits travel along
    clone = pickle.loads(pickle.dumps(image))
    assert clone.filepath == str(path)
    assert clone.mmap_mode == "r"
    assert clone.meta.source == {"edited": True}
    assert clone.spacing == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(clone[2:5, 3:9, 4:20], _volume()[2:5, 3:9, 4:20])
    assert len(pickle.dumps(image)) < 4096  # the path, not the data


@pytest.mark.parametrize("compressed", [True, False])
def test_in_memory_arrays_pickle_their_data(tmp_path: Path, compressed: bool) -> None:
    image = MLArray(_volume(), origin=(5.0, 6.0, 7.0), compressed=compressed)
    clone = pickle.loads(pickle.dumps(image))
    assert type(clone._backing.array) is type(image._backing.array)
    assert clone.origin == [5.0, 6.0, 7.0]
    assert clone.meta.blosc2 == image.meta.blosc2
    np.testing.assert_array_equal(clone.to_numpy(), _volume())
    clone.save(tmp_path / "clone.mla")
    np.testing.assert_array_equal(MLArray(tmp_path / "clone.mla").to_numpy(), _volume())


def test_metadata_only_pickles() -> None:
    image = MLArray(meta={"study": "s1"})
    clone = pickle.loads(pickle.dumps(image))
    assert clone.shape is None
    assert clone.meta.source == {"study": "s1"}


def test_writable_open_refuses_to_pickle(tmp_path: Path) -> None:
    path = tmp_path / "w.mla"
    MLArray(_volume()).save(path)
    with pytest.raises(MLArrayFileError, match="opened for writing cannot be pickled"):
        pickle.dumps(MLArray.open(path, mmap_mode="r+"))


def _patch_sum(image: MLArray, start: int) -> int:
    return int(image[start : start + 4, :, :].sum(dtype=np.int64))


def test_spawned_workers_read_from_a_pickled_handle(tmp_path: Path) -> None:
    path = tmp_path / "spawn.mla"
    MLArray(_volume()).save(path)
    image = MLArray.open(path)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        sums = pool.starmap(_patch_sum, [(image, start) for start in (0, 4, 8, 12)])
    volume = _volume().astype(np.int64)
    assert sums == [int(volume[start : start + 4].sum()) for start in (0, 4, 8, 12)]
