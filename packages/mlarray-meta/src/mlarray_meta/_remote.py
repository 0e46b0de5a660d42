"""What every remote reader of a ``.mla`` file shares (standard library only).

A remote file is read in byte ranges. Whatever carries the requests (``urllib``
here, fsspec in ``mlarray``), the answers are judged the same way: this module
says what a URL is, what each HTTP status means for the caller, how to tell
that the file changed between two requests (its validators), what to do with a
server that ignores ``Range``, and how the frame's header and trailer are read
with one or two requests (:class:`PrefetchedRanges`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol, TypeGuard

from mlarray_meta.errors import (
    FileFormatError,
    RangeRequestsUnsupportedError,
    RemoteFileChangedError,
    RemoteFileError,
    RemoteFileWarning,
)
from mlarray_meta.format import FrameInfo
from mlarray_meta.format._frame import _parse

__all__ = [
    "FULL_DOWNLOAD_LIMIT",
    "HEAD_PREFETCH",
    "TAIL_PREFETCH",
    "PrefetchedRanges",
    "RangeAnswer",
    "RangeTransport",
    "Validators",
    "content_range",
    "is_url",
    "judge_answer",
    "ranges_ignored",
    "read_remote_frame",
    "status_error",
    "warn_full_download",
]

FULL_DOWNLOAD_LIMIT: Final = 16 * 2**20
"""Largest file downloaded whole when its server ignores ``Range`` (larger ones are refused)."""
HEAD_PREFETCH: Final = 16 * 2**10
"""Bytes asked for at the start of the file: the frame header (a few hundred bytes) and more."""
TAIL_PREFETCH: Final = 64 * 2**10
"""Bytes asked for at the end: the trailer (metadata) and usually the chunk index before it."""

_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")
_CONTENT_RANGE: Final = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$")
_STATUS_HINTS: Final = {
    401: "the server wants credentials",
    403: "access denied: check the URL's credentials or permissions",
    404: "no such file on the server",
    410: "the file was removed from the server",
    416: "the byte range asked for is outside the file: it changed on the server?",
}


def is_url(target: object) -> TypeGuard[str]:
    """Whether ``target`` is a URL (``https://...``, ``s3://...``) rather than a local path.

    Only strings count: a ``pathlib.Path`` is always local. The scheme has at least
    two characters, so Windows drive letters (``C:\\``) are paths.
    """
    return isinstance(target, str) and _URL.match(target) is not None


def status_error(url: str, status: int, reason: str) -> RemoteFileError:
    """The error for an HTTP answer other than success, naming the URL and the status."""
    hint = _STATUS_HINTS.get(status)
    if hint is None:
        hint = "the server failed; try again later" if status >= 500 else "the server refused"
    return RemoteFileError(f"{url}: HTTP {status} {reason}".rstrip() + f": {hint}")


def ranges_ignored(url: str, size: int | None) -> RangeRequestsUnsupportedError:
    """The error for a server that answers range requests with the whole (too large) file."""
    what = "of unknown size" if size is None else f"of {size} bytes"
    return RangeRequestsUnsupportedError(
        f"{url}: the server ignores HTTP range requests (it answered with the whole file, "
        f"{what}); remote .mla files are read in ranges, and downloaded whole only up to "
        f"{FULL_DOWNLOAD_LIMIT // 2**20} MiB: download the file and open the local copy"
    )


def warn_full_download(url: str, size: int) -> None:
    """Say that a server ignoring ``Range`` made us download a small file whole."""
    warnings.warn(
        f"{url}: the server ignores HTTP range requests; the whole file ({size} bytes) was "
        "downloaded once and is read from memory",
        RemoteFileWarning,
        stacklevel=4,
    )


def content_range(value: str | None) -> tuple[int, int, int] | None:
    """Parse ``Content-Range: bytes FIRST-LAST/TOTAL`` into ``(start, stop, total)``.

    ``bytes */TOTAL`` (an unsatisfiable range) gives ``(0, 0, TOTAL)``; anything
    else, or a total that is not a number, gives None.
    """
    match = _CONTENT_RANGE.match(value or "")
    if match is None or match.group(3) == "*":
        return None
    first, last, total = match.groups()
    if first is None:
        return 0, 0, int(total)
    return int(first), int(last) + 1, int(total)


@dataclass(frozen=True, slots=True)
class Validators:
    """What identifies one version of a remote file: entity tag, modification time, size.

    Attributes:
        etag: The ``ETag`` header (or object-store equivalent), if the server sent one.
        modified: The ``Last-Modified`` header (or equivalent), if sent.
        size: The file size in bytes.
    """

    etag: str | None
    modified: str | None
    size: int

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], size: int) -> Validators:
        """Take the validators from HTTP response headers (names in any case)."""
        lower = {name.lower(): value for name, value in headers.items()}
        return cls(etag=lower.get("etag"), modified=lower.get("last-modified"), size=size)

    def check(self, url: str, later: Validators) -> None:
        """Check that ``later`` (from a later answer) names the same version of the file.

        The entity tag decides when both answers have one, else the modification
        time; the size must always match.

        Raises:
            RemoteFileChangedError: The file changed on the server in between.
        """
        if self.etag is not None and later.etag is not None:
            same, what = self.etag == later.etag, f"ETag {self.etag} -> {later.etag}"
        elif self.modified is not None and later.modified is not None:
            same, what = self.modified == later.modified, "Last-Modified "
            what += f"{self.modified} -> {later.modified}"
        else:
            same, what = True, ""
        if same and self.size != later.size:
            same, what = False, f"size {self.size} -> {later.size} bytes"
        if not same:
            raise RemoteFileChangedError(
                f"{url}: the file changed on the server while it was being read ({what}); "
                "open it again to read the new version"
            )


@dataclass(frozen=True, slots=True)
class RangeAnswer:
    """What an answer to a range request holds, judged from its status and headers.

    Attributes:
        start: Offset of the first byte of the body.
        stop: Offset after its last byte.
        validators: The version of the file that answered.
        whole: The server ignored ``Range`` and sent the whole (small) file.
    """

    start: int
    stop: int
    validators: Validators
    whole: bool = False

    def check_body(self, url: str, body: bytes) -> bytes:
        """Return ``body`` if it has the announced length.

        Raises:
            RemoteFileError: The body is shorter or longer (the connection broke).
        """
        if len(body) != self.stop - self.start:
            raise RemoteFileError(
                f"{url}: expected {self.stop - self.start} bytes, received {len(body)}"
            )
        return body


def judge_answer(
    url: str, spec: str, status: int, reason: str, headers: Mapping[str, str]
) -> RangeAnswer:
    """Judge the answer to the range request ``spec`` before its body is read.

    Raises:
        RangeRequestsUnsupportedError: The server ignores ``Range`` and the file is
            larger than :data:`FULL_DOWNLOAD_LIMIT` (or of unknown size).
        RemoteFileError: An error status, or a partial answer without a usable
            ``Content-Range``.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    span = content_range(lower.get("content-range"))
    if status == 200:
        length = lower.get("content-length", "")
        size = int(length) if length.isdigit() else None
        if size is None or size > FULL_DOWNLOAD_LIMIT:
            raise ranges_ignored(url, size)
        return RangeAnswer(0, size, Validators.from_headers(lower, size), whole=True)
    if status == 416 and spec.startswith("bytes=-") and span is not None and span[2] == 0:
        return RangeAnswer(0, 0, Validators.from_headers(lower, 0))  # an empty file
    if status != 206:
        raise status_error(url, status, reason)
    if span is None:
        raise RemoteFileError(
            f"{url}: HTTP 206 without a usable Content-Range header "
            f"({lower.get('content-range')!r})"
        )
    start, stop, size = span
    return RangeAnswer(start, stop, Validators.from_headers(lower, size))


class VersionedRanges:
    """What every transport keeps: the file's version first seen, and a small file held whole.

    Args:
        url: The file's URL.
        validators: The version the file must have (known from another process), or
            None to take the first answer's.
    """

    def __init__(self, url: str, validators: Validators | None = None) -> None:
        self.url = url
        self._validators = validators
        self._whole: bytes | None = None  # all of a small file whose server ignores Range

    def accept(self, validators: Validators) -> None:
        """Check an answer's version against the first one (which it becomes if first).

        Raises:
            RemoteFileChangedError: The file changed on the server since.
        """
        if self._validators is None:
            self._validators = validators
        else:
            self._validators.check(self.url, validators)

    def hold_whole(self, data: bytes) -> None:
        """Keep the whole file sent by a server that ignores ``Range`` (said once, as a warning)."""
        if self._whole is None:
            warn_full_download(self.url, len(data))
            self._whole = data

    @property
    def whole(self) -> bytes | None:
        """The whole file, when a server that ignores ``Range`` sent it; else None."""
        return self._whole


class RangeTransport(Protocol):
    """Carries range requests for one remote file (urllib here, fsspec in ``mlarray``)."""

    @property
    def url(self) -> str:
        """The file's URL, named in errors."""
        ...

    def read_tail(self, count: int) -> tuple[bytes, int]:
        """Return the last ``count`` bytes (all if the file is shorter) and the file size."""
        ...

    def read(self, offset: int, count: int) -> bytes:
        """Return ``count`` bytes starting at ``offset``."""
        ...


class PrefetchedRanges:
    """Reads of one remote file, served from a prefetched head and tail where possible.

    The first request fetches the last :data:`TAIL_PREFETCH` bytes and learns the
    size; the first read near the start fetches :data:`HEAD_PREFETCH` bytes. A frame's
    header, chunk index and trailer are then usually read with these two requests
    (one for a small file).

    Args:
        transport: Carries the requests.
    """

    def __init__(self, transport: RangeTransport) -> None:
        self.transport = transport
        self.tail, self.size = transport.read_tail(TAIL_PREFETCH)
        self.head = self.tail if len(self.tail) == self.size else b""

    def read(self, offset: int, count: int) -> bytes:
        """Return ``count`` bytes at ``offset``.

        Raises:
            FileFormatError: The range lies beyond the end of the file.
            RemoteFileError: A request failed (see the transport).
        """
        stop = offset + count
        if offset < 0 or stop > self.size:
            raise FileFormatError(
                f"{self.transport.url}: expected {count} bytes at offset {offset}, beyond "
                f"the end of the {self.size}-byte file"
            )
        tail_start = self.size - len(self.tail)
        if offset >= tail_start:
            return self.tail[offset - tail_start : stop - tail_start]
        if stop <= len(self.head):
            return self.head[offset:stop]
        if offset == 0:
            self.head = self.transport.read(0, min(self.size, max(count, HEAD_PREFETCH)))
            return self.head[:count]
        return self.transport.read(offset, count)


def read_remote_frame(transport: RangeTransport) -> tuple[FrameInfo, PrefetchedRanges]:
    """Read the header and trailer of the frame at ``transport.url`` (usually two requests).

    Returns:
        The frame's description, and the reader holding the prefetched bytes (the
        chunk index usually lies in its tail).

    Raises:
        RemoteFileError: A request failed (unreachable host, HTTP error, ...).
        FileFormatError: The bytes are not a valid frame.
    """
    ranges = PrefetchedRanges(transport)
    return _parse(ranges.read, ranges.size, transport.url), ranges
