"""``mlarray verify URL`` and ``mlarray header|info URL``: whole-file checks of remote files.

Verifying decompresses every chunk, so the file is streamed once, in one pass,
into a temporary file that the local verifier then checks; the report names the
URL. Headers of ``http(s)://`` files are read with the standard-library reader
(no extra needed), others through fsspec.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlarray._file_metadata import read_file_header
from mlarray._remote._file import open_remote
from mlarray._remote._fsspec import open_transport
from mlarray._verify import VerifyReport, verify_file
from mlarray.errors import MLArrayError
from mlarray_meta._http import HTTP_SCHEMES
from mlarray_meta.header import Header

__all__ = ["read_remote_header", "verify_url"]


def read_remote_header(url: str) -> Header:
    """Read the header of the remote file at ``url`` (one or two range requests).

    Raises:
        RemoteFileError: The file cannot be read (see ``docs/remote.md``).
        FileFormatError: It is not a valid ``.mla`` file.
        RemoteSupportMissingError: A scheme other than http(s) needs fsspec, not installed.
    """
    if url.split("://", 1)[0].lower() in HTTP_SCHEMES:
        return read_file_header(url)
    remote = open_remote(url, mode="r", mmap_mode="r", storage_options=None, cache=None)
    return remote.header


def verify_url(url: str) -> VerifyReport:
    """Download the file at ``url`` once (streamed) and verify it completely.

    Returns:
        The report of :func:`mlarray._verify.verify_file`, its problems naming the URL.
    """
    with tempfile.TemporaryDirectory(prefix="mlarray-verify-") as folder:
        local = Path(folder) / "download.mla"
        try:
            transport = open_transport(url, None)
            with local.open("wb") as sink:
                transport.download(sink)
        except MLArrayError as exc:
            return VerifyReport(path=local, problems=[str(exc)])
        report = verify_file(local)
    report.problems = [problem.replace(str(local), url) for problem in report.problems]
    return report
