"""Remote arrays in dataloader workers: pickled (spawn) or inherited (fork), one session each."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlarray import BlockCache, MLArray
from tests.remote._http_server import RangeServer
from tests.remote._workers import PATCH, read_patch

STARTS = [[0, 0, 0], [4, 10, 20], [3, 14, 24]]


def expected(local: Callable[[str], MLArray]) -> list[np.ndarray]:
    return [local("small.mla").read_patches([start], PATCH)[0] for start in STARTS]


def test_a_pickled_remote_array_reopens_with_its_options(
    http: RangeServer, local: Callable[[str], MLArray], tmp_path: Path
) -> None:
    image = MLArray.open(f"{http.url}/small.mla", cache=BlockCache(tmp_path, max_bytes=2**20))
    copy = pickle.loads(pickle.dumps(image))
    assert copy.filepath == image.filepath
    assert copy._backing.opened.cache.directory == tmp_path
    np.testing.assert_array_equal(copy.to_numpy(), local("small.mla").to_numpy())


def test_spawned_workers_read_through_their_own_sessions(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        patches = pool.starmap(read_patch, [(image, start) for start in STARTS])
    for found, wanted in zip(patches, expected(local), strict=True):
        np.testing.assert_array_equal(found, wanted)


def test_forked_workers_read_after_the_parent_did(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    np.testing.assert_array_equal(read_patch(image, STARTS[0]), expected(local)[0])
    with multiprocessing.get_context("fork").Pool(2) as pool:
        patches = pool.starmap(read_patch, [(image, start) for start in STARTS])
    for found, wanted in zip(patches, expected(local), strict=True):
        np.testing.assert_array_equal(found, wanted)
