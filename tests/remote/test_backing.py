"""A remote file is its own backing, read-only, as docs/architecture.md tabulates."""

from __future__ import annotations

import pickle

import pytest

from mlarray import MLArray
from mlarray.errors import ReadOnlyError
from tests.core.test_backings import documented_backings
from tests.remote._http_server import RangeServer


def test_a_remote_file_has_the_documented_backing(http: RangeServer) -> None:
    image = MLArray.open(f"{http.url}/small.mla")
    assert type(image._backing).__name__ == documented_backings()["remote file"]
    copy = pickle.loads(pickle.dumps(image))  # travels as its URL, opens its own session
    assert type(copy._backing).__name__ == documented_backings()["remote file"]
    with pytest.raises(ReadOnlyError, match="opened read-only"):
        image[0, 0, 0] = 1
    image.close()
    assert type(image._backing).__name__ == documented_backings()["metadata only, or closed"]
