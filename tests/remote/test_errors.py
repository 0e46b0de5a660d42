"""What goes wrong with remote files gives one clear error naming the URL (or one warning)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import (
    FileFormatError,
    MLArrayFileError,
    RangeRequestsUnsupportedError,
    RemoteFileChangedError,
    RemoteFileError,
)
from mlarray_meta.errors import RemoteFileWarning
from tests.remote._http_server import RangeServer, replace_file


def test_an_unreachable_host_names_the_url() -> None:
    url = "http://127.0.0.1:9/scan.mla"  # the discard port: nothing listens there
    with pytest.raises(RemoteFileError, match=f"{url}: .*(Cannot connect|refused)"):
        MLArray.open(url)


@pytest.mark.parametrize(
    ("status", "says"),
    [(403, "HTTP 403 Forbidden: access denied"), (404, "HTTP 404 Not Found: no such file")],
)
def test_error_statuses_name_the_url_and_the_status(
    http: RangeServer, status: int, says: str
) -> None:
    http.status = status
    with pytest.raises(RemoteFileError, match=f"{http.url}/small.mla: {says}"):
        MLArray.open(f"{http.url}/small.mla")


def test_a_missing_file_is_a_404(http: RangeServer) -> None:
    with pytest.raises(RemoteFileError, match=r"nothing\.mla: HTTP 404"):
        MLArray.open(f"{http.url}/nothing.mla")


def test_a_server_ignoring_range_is_refused_for_a_large_file(http: RangeServer) -> None:
    http.ignore_range = True
    with pytest.raises(RangeRequestsUnsupportedError, match="ignores HTTP range requests"):
        MLArray.open(f"{http.url}/big.mla")
    http.settle()  # until the server gives up sending
    size = (http.root / "big.mla").stat().st_size
    assert http.traffic.body_bytes < size / 2  # refused, not downloaded


def test_a_small_file_of_a_server_ignoring_range_is_downloaded_once(
    http: RangeServer, local: Callable[[str], MLArray]
) -> None:
    http.ignore_range = True
    with pytest.warns(RemoteFileWarning, match="downloaded once"):
        image = MLArray.open(f"{http.url}/small.mla")
    np.testing.assert_array_equal(image.to_numpy(), local("small.mla").to_numpy())
    assert http.traffic.requests == 1


def test_a_file_replaced_after_open_fails_the_first_read(
    http: RangeServer, scratch: Path, served: Path
) -> None:
    (scratch / "scan.mla").write_bytes((served / "small.mla").read_bytes())
    image = MLArray.open(f"{http.url}/scratch/scan.mla")
    replace_file(scratch / "scan.mla", (served / "small.mla").read_bytes())
    with pytest.raises(RemoteFileChangedError, match=r"changed on the server .*ETag"):
        image[0:2]


def test_a_file_replaced_mid_session_fails_the_next_fetch(
    http: RangeServer, scratch: Path, served: Path
) -> None:
    (scratch / "scan.mla").write_bytes((served / "big.mla").read_bytes())
    image = MLArray.open(f"{http.url}/scratch/scan.mla")
    image[0:8, 0:8, 0:8]
    replace_file(scratch / "scan.mla", (served / "big.mla").read_bytes())
    with pytest.raises(RemoteFileChangedError, match=r"scratch/scan\.mla: the file changed"):
        image[200:208, 400:408, 400:408]


def test_a_file_replaced_between_the_header_requests_is_noticed(
    http: RangeServer, scratch: Path, served: Path
) -> None:
    (scratch / "scan.mla").write_bytes((served / "big.mla").read_bytes())
    http.after_request = lambda count: (
        count == 1 and replace_file(scratch / "scan.mla", (served / "big.mla").read_bytes())
    )
    with pytest.raises(RemoteFileChangedError, match="changed on the server"):
        MLArray.open(f"{http.url}/scratch/scan.mla")


def test_without_validators_a_change_of_size_is_still_noticed(
    http: RangeServer, scratch: Path, served: Path
) -> None:
    http.validators = False
    (scratch / "scan.mla").write_bytes((served / "big.mla").read_bytes())
    image = MLArray.open(f"{http.url}/scratch/scan.mla")
    replace_file(scratch / "scan.mla", (served / "small.mla").read_bytes())
    with pytest.raises(RemoteFileChangedError, match="size"):
        image[0:8, 0:8, 0:8]


def test_a_url_that_is_not_a_mla_file(http: RangeServer, scratch: Path) -> None:
    (scratch / "notes.mla").write_bytes(b"just some text, not a Blosc2 frame\n" * 20)
    with pytest.raises(FileFormatError, match=r"scratch/notes\.mla"):
        MLArray.open(f"{http.url}/scratch/notes.mla")


def test_loading_and_saving_need_local_paths(http: RangeServer, served: Path) -> None:
    url = f"{http.url}/small.mla"
    with pytest.raises(MLArrayFileError, match=r"a URL; remote files are read with MLArray\.open"):
        MLArray.load(url)
    with pytest.raises(MLArrayFileError, match="this operation needs a local path"):
        MLArray.open(served / "small.mla").save(url)


def test_storage_options_are_for_urls_only(served: Path) -> None:
    with pytest.raises(MLArrayFileError, match="apply to URLs"):
        MLArray.open(served / "small.mla", storage_options={"anon": True})


def test_without_fsspec_the_error_names_the_install_command(http: RangeServer) -> None:
    code = (
        "import sys; sys.modules['fsspec'] = None\n"
        "from mlarray import MLArray\n"
        "try:\n"
        f"    MLArray.open('{http.url}/small.mla')\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.stdout.startswith("RemoteSupportMissingError")
    assert 'pip install "mlarray-core[remote]"' in result.stdout
