"""The remote page's examples (docs/examples/remote/) run against the loopback servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_docs_examples import EXAMPLES_DIR, ROOT, included_files, run_python
from tests.remote._http_server import RangeServer
from tests.remote.conftest import BUCKET, S3_CREDENTIALS, S3Server

REMOTE_EXAMPLES = sorted((EXAMPLES_DIR / "remote").glob("*.py"))


def test_examples_found() -> None:
    assert [path.name for path in REMOTE_EXAMPLES] == ["read_remote.py", "read_s3.py"]


def test_reading_over_http(
    http: RangeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = EXAMPLES_DIR / "remote" / "read_remote.py"
    assert "remote/read_remote.py" in included_files()
    monkeypatch.setenv("SCAN_URL", f"{http.url}/small.mla")
    run_python([str(example)], tmp_path, str(example.relative_to(ROOT)))
    assert (tmp_path / "mla-cache").is_dir()


def test_reading_from_s3(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = EXAMPLES_DIR / "remote" / "read_s3.py"
    assert "remote/read_s3.py" in included_files()
    monkeypatch.setenv("SCAN_S3_URL", f"s3://{BUCKET}/small.mla")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["secret"])
    run_python([str(example)], tmp_path, str(example.relative_to(ROOT)))
