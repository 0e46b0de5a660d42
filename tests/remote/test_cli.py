"""``mlarray info|header|verify URL``, run as a subprocess as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlarray.cli import main
from tests.remote._http_server import RangeServer
from tests.remote.conftest import BUCKET, S3Server


def mlarray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlarray", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def test_info_and_header_read_two_ranges(http: RangeServer) -> None:
    url = f"{http.url}/big.mla"
    info = mlarray("info", url)
    assert info.returncode == 0, info.stderr
    assert f"file:            {url}" in info.stdout
    assert "[256, 512, 512] uint8" in info.stdout
    header = mlarray("header", url, "--json")
    assert header.returncode == 0, header.stderr
    assert json.loads(header.stdout)["chunks"] == [96, 96, 96]
    assert http.traffic.ranges == ["bytes=-65536", "bytes=0-16383"] * 2


def test_verify_streams_the_file_once(http: RangeServer) -> None:
    url = f"{http.url}/small.mla"
    result = mlarray("verify", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{url}: OK, checksums and ")
    assert http.traffic.ranges == ["whole"]


# The rest runs the same entry point in this process (a subprocess each costs seconds).


def test_verify_reports_a_damaged_file_by_its_url(
    http: RangeServer, scratch: Path, served: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((served / "small.mla").read_bytes())
    data[2000:2008] = bytes(8)  # inside the first chunk
    (scratch / "damaged.mla").write_bytes(data)
    url = f"{http.url}/scratch/damaged.mla"
    assert main(["verify", url]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{url}: FAILED\n  - ")
    assert "download.mla" not in out


def test_an_unreachable_url_is_one_line_and_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "http://127.0.0.1:9/scan.mla"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("mlarray info: error: http://127.0.0.1:9/scan.mla: ")
    assert len(error.strip().splitlines()) == 1


def test_s3_urls_take_the_endpoint_and_credentials_from_the_environment(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["info", f"s3://{BUCKET}/small.mla"]) == 0
    assert "[20, 30, 40] int16" in capsys.readouterr().out
    assert main(["verify", f"s3://{BUCKET}/small.mla"]) == 0
    assert capsys.readouterr().out.startswith(f"s3://{BUCKET}/small.mla: OK")
