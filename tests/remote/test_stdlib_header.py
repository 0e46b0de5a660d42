"""``mlarray_meta.read_header(url)``: a remote header with the standard library alone (urllib)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import mlarray_meta
from mlarray import MLArray
from mlarray_meta.errors import (
    MLArrayFileError,
    RangeRequestsUnsupportedError,
    RemoteFileChangedError,
    RemoteFileError,
    RemoteFileWarning,
)
from tests.remote._http_server import RangeServer, replace_file


def test_a_header_takes_two_range_requests(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    header = mlarray_meta.read_header(f"{http.url}/big.mla")
    assert header.shape == (256, 512, 512)
    assert header.chunk_size == tuple(local("big.mla").meta.blosc2.chunk_size or ())
    assert http.traffic.ranges == ["bytes=-65536", "bytes=0-16383"]


def test_a_small_file_takes_one(http: RangeServer) -> None:
    header = mlarray_meta.read_header(f"{http.url}/small.mla")
    assert header.meta.spatial.spacing == [0.5, 0.75, 2.0]
    assert header.meta.source.to_plain() == {"patient": "anonymous"}
    assert http.traffic.ranges == ["bytes=-65536"]


def test_errors_name_the_url(http: RangeServer) -> None:
    with pytest.raises(RemoteFileError, match=r"none\.mla: HTTP 404 Not Found"):
        mlarray_meta.read_header(f"{http.url}/none.mla")
    http.status = 403
    with pytest.raises(RemoteFileError, match=r"small\.mla: HTTP 403 Forbidden"):
        mlarray_meta.read_header(f"{http.url}/small.mla")
    with pytest.raises(RemoteFileError, match=r"127\.0\.0\.1:9/scan\.mla: cannot reach the server"):
        mlarray_meta.read_header("http://127.0.0.1:9/scan.mla")


def test_a_server_ignoring_range(http: RangeServer) -> None:
    http.ignore_range = True
    with pytest.raises(RangeRequestsUnsupportedError, match="ignores HTTP range requests"):
        mlarray_meta.read_header(f"{http.url}/big.mla")
    with pytest.warns(RemoteFileWarning, match=r"whole file \(\d+ bytes\) was downloaded once"):
        header = mlarray_meta.read_header(f"{http.url}/small.mla")
    assert header.shape == (20, 30, 40)


def test_a_file_replaced_between_the_two_requests(
    http: RangeServer, scratch: Path, served: Path
) -> None:
    (scratch / "scan.mla").write_bytes((served / "big.mla").read_bytes())
    http.after_request = lambda count: (
        count == 1 and replace_file(scratch / "scan.mla", (served / "big.mla").read_bytes())
    )
    with pytest.raises(RemoteFileChangedError, match=r"scan\.mla: the file changed .*ETag"):
        mlarray_meta.read_header(f"{http.url}/scratch/scan.mla")


def test_other_schemes_name_the_package_that_reads_them() -> None:
    with pytest.raises(MLArrayFileError, match=r'pip install "mlarray-core\[remote\]"'):
        mlarray_meta.read_header("s3://bucket/scan.mla")
