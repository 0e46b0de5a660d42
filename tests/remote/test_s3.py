"""Reading from an S3-compatible server (moto in server mode), as from any fsspec URL."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import RemoteFileChangedError, RemoteFileError
from tests.remote.conftest import BUCKET, S3Server

PATCH = 32
CORNER = (16, 80, 80)


def test_a_patch_fetches_a_small_part_and_equals_the_local_read(
    s3: S3Server, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"s3://{BUCKET}/medium.mla", storage_options=s3.options)
    assert image.shape == (64, 256, 256)
    size = s3.filesystem().size(f"{BUCKET}/medium.mla")
    before = s3.counts.body_bytes
    patch = image.read_patches([CORNER], PATCH)[0]
    assert s3.counts.body_bytes - before < 0.05 * size
    box = tuple(slice(start, start + PATCH) for start in CORNER)
    np.testing.assert_array_equal(patch, local("medium.mla")[box])


def test_metadata_and_whole_array_equal_local(
    s3: S3Server, local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"s3://{BUCKET}/small.mla", storage_options=s3.options)
    np.testing.assert_array_equal(image.to_numpy(), local("small.mla").to_numpy())
    assert image.meta.spatial.spacing == [0.5, 0.75, 2.0]


def test_a_missing_object_names_the_url(s3: S3Server) -> None:
    with pytest.raises(RemoteFileError, match=rf"s3://{BUCKET}/none\.mla: .*no such file"):
        MLArray.open(f"s3://{BUCKET}/none.mla", storage_options=s3.options)


def test_a_missing_bucket_names_the_url(s3: S3Server) -> None:
    with pytest.raises(RemoteFileError, match=r"s3://elsewhere/small\.mla: .*no such file"):
        MLArray.open("s3://elsewhere/small.mla", storage_options=s3.options)


def test_an_object_replaced_after_open_fails_the_next_read(
    s3: S3Server, local: Callable[[str], MLArray]
) -> None:
    fs = s3.filesystem()
    fs.copy(f"{BUCKET}/small.mla", f"{BUCKET}/changing.mla")
    image = MLArray.open(f"s3://{BUCKET}/changing.mla", storage_options=s3.options)
    modified = local("small.mla").to_numpy()
    modified[0, 0, 0] += 1
    fs.pipe_file(f"{BUCKET}/changing.mla", MLArray(modified)._backing.array.to_cframe())
    with pytest.raises(RemoteFileChangedError, match=r"changing\.mla: the file changed"):
        image.to_numpy()
