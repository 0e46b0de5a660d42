"""Reading ``gs://`` URLs from a real Google Cloud Storage emulator on 127.0.0.1.

The emulator (``gcp-storage-emulator``) speaks the JSON API that ``gcsfs`` uses,
ranged downloads included. It has no gRPC control plane, so gcsfs's bucket-type
probe (``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT``) is switched off, as it must be for
any emulator; reads themselves take the same path as on Google's servers.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import RemoteFileError
from tests.remote.conftest import BUCKET

os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"  # before gcsfs is imported
gcsfs = pytest.importorskip("gcsfs", reason="needs gcsfs")
emulator = pytest.importorskip("gcp_storage_emulator.server", reason="needs gcp-storage-emulator")


def _upload(endpoint: str, source: Path, name: str) -> None:
    """Store ``source`` as ``gs://scans/NAME`` with one media upload of the JSON API."""
    request = urllib.request.Request(
        f"{endpoint}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={name}",
        data=source.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def gcs(served: Path) -> Iterator[dict[str, Any]]:
    """The emulator holding ``gs://scans/small.mla`` and ``medium.mla``; its storage options."""
    server = emulator.create_server("127.0.0.1", 0, in_memory=True, default_bucket=BUCKET)
    server.start()
    port = server._api._httpd.server_port  # the port the system chose: no race for one
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "project": "test"}
    for name in ("small.mla", "medium.mla"):
        _upload(options["endpoint_url"], served / name, name)
    yield options
    server.stop()


def test_metadata_and_whole_array_equal_local(
    gcs: dict[str, Any], local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"gs://{BUCKET}/small.mla", storage_options=gcs)
    expected = local("small.mla")
    np.testing.assert_array_equal(image.to_numpy(), expected.to_numpy())
    assert image.meta.spatial.spacing == [0.5, 0.75, 2.0]
    assert image.meta.source == {"patient": "anonymous"}


def test_slices_and_patches_equal_local(
    gcs: dict[str, Any], local: Callable[[str], MLArray]
) -> None:
    image = MLArray.open(f"gs://{BUCKET}/medium.mla", storage_options=gcs)
    expected = local("medium.mla")
    box = (slice(10, 40), slice(100, 133), slice(7, 200))
    np.testing.assert_array_equal(image[box], expected[box])
    corners = [(0, 0, 0), (30, 200, 17)]
    for corner, patch in zip(corners, image.read_patches(corners, 24), strict=True):
        region = tuple(slice(start, start + 24) for start in corner)
        np.testing.assert_array_equal(patch, expected[region])


def test_a_missing_object_names_the_url(gcs: dict[str, Any]) -> None:
    with pytest.raises(RemoteFileError, match=rf"gs://{BUCKET}/none\.mla: .*no such file"):
        MLArray.open(f"gs://{BUCKET}/none.mla", storage_options=gcs)
