"""Reading a remote file over HTTP: the header in two requests, then only the blocks touched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import ReadOnlyError
from tests.remote._http_server import RangeServer

PATCH = 64
# Straddles chunk borders on every axis (chunks 96^3, blocks 32^3): up to eight chunks.
CORNER = (80, 80, 80)


def test_opening_reads_the_header_with_two_range_requests(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"{http.url}/big.mla")
    assert image.shape == (256, 512, 512)
    assert image.dtype == np.uint8
    assert image.meta.blosc2.chunk_size == local("big.mla").meta.blosc2.chunk_size
    assert http.traffic.ranges == ["bytes=-65536", "bytes=0-16383"]
    assert image.filepath == f"{http.url}/big.mla"


def test_one_patch_fetches_under_5_percent_of_the_file(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    size = (http.root / "big.mla").stat().st_size
    image = MLArray.open(f"{http.url}/big.mla")
    http.traffic.reset()
    patch = image.read_patches([CORNER], PATCH)[0]
    assert http.traffic.body_bytes < 0.05 * size, (http.traffic.body_bytes, size)
    box = tuple(slice(start, start + PATCH) for start in CORNER)
    np.testing.assert_array_equal(patch, local("big.mla")[box])


def test_random_patches_equal_local_reads(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    rng = np.random.default_rng(3)
    starts = [[int(rng.integers(0, n - PATCH + 1)) for n in (256, 512, 512)] for _ in range(12)]
    image = MLArray.open(f"{http.url}/big.mla")
    np.testing.assert_array_equal(
        image.read_patches(starts, PATCH), local("big.mla").read_patches(starts, PATCH)
    )


KEYS: list[Any] = [
    (slice(None), slice(None), slice(None)),
    (3,),
    (-1, slice(2, 29, 5), slice(None, None, -3)),
    (Ellipsis, 7),
    (slice(19, 0, -4), Ellipsis),
    (slice(5, 5), 1),
    (np.array([1, 4, 2]),),
    (slice(None), np.arange(30) % 2 == 0),
    (2, 3, 4),
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_indexing_equals_local_indexing(
    http: RangeServer, local: Callable[[str], MLArray], key: Any
) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    np.testing.assert_array_equal(np.asarray(image[key]), np.asarray(local("small.mla")[key]))


def test_whole_array_metadata_and_geometry_equal_local(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    np.testing.assert_array_equal(image.to_numpy(), local("small.mla").to_numpy())
    np.testing.assert_array_equal(image.affine, local("small.mla").affine)
    assert image.meta.source.to_plain() == {"patient": "anonymous"}


def test_a_verified_open_checks_every_chunk_it_reads(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"{http.url}/small.mla", verify=True)
    np.testing.assert_array_equal(image[3:17, 5:25], local("small.mla")[3:17, 5:25])
    assert image._backing.verifier is not None
    assert image._backing.verifier._checked  # the chunks read were checked against their checksums


def test_remote_files_are_read_only(http: RangeServer) -> None:
    url = f"{http.url}/small.mla"
    image = MLArray.open(url)
    with pytest.raises(ReadOnlyError, match="read-only"):
        image[0, 0, 0] = 1
    for arguments in ({"mmap_mode": "r+"}, {"mmap_mode": None, "mode": "a"}, {"mmap_mode": "c"}):
        with pytest.raises(ReadOnlyError, match=f"{url}: remote files are read-only"):
            MLArray.open(url, **arguments)
    image.meta.source = {"patient": "edited"}
    with pytest.raises(ReadOnlyError, match="read-only"):
        image.close()


def test_saving_a_remote_file_writes_a_local_copy(
    http: RangeServer, local: Callable[[str], MLArray], tmp_path: Any
) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    image.save(tmp_path / "copy.mla")
    copy = MLArray.open(tmp_path / "copy.mla")
    np.testing.assert_array_equal(copy.to_numpy(), local("small.mla").to_numpy())
    assert copy.meta.spatial.spacing == [0.5, 0.75, 2.0]
