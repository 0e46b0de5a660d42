"""A real HTTP file server on the loopback interface, for the remote-read tests.

It serves the files of one folder with single byte ranges (``bytes=a-b``,
``bytes=a-``, ``bytes=-n``), ``ETag`` and ``Last-Modified`` validators and
``If-Match``, and counts on the server side what it sends. Switches make it
misbehave the ways real servers do: ignore ``Range``, answer every request with
one status (403, 404), or drop its validators.

``python _http_server.py FOLDER`` serves a folder from its own process (the
benchmark's server) and prints its URL; ``GET /__traffic__`` then answers with
the traffic so far as JSON (``?reset`` to start counting again).
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["RangeServer", "Traffic"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
TRAFFIC_PATH = "/__traffic__"
_PIECE = 1 << 20


@dataclass
class Traffic:
    """What the server sent: GETs answered (and their ranges), body bytes sent."""

    requests: int = 0
    body_bytes: int = 0
    ranges: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.requests, self.body_bytes = 0, 0
        self.ranges.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body go out at once, as real servers send them

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not access logs

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        with owner.answering():
            self._answer_one(owner, send_body=send_body)

    def _answer_one(self, owner: RangeServer, *, send_body: bool) -> None:
        if self.path.startswith(TRAFFIC_PATH):
            self._traffic(reset=self.path.endswith("?reset"))
            return
        if owner.status is not None:
            self._plain(owner.status, send_body)
            return
        path = owner.root / self.path.lstrip("/").split("?", 1)[0]
        try:
            file = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self._plain(HTTPStatus.NOT_FOUND, send_body)
            return
        with file:
            self._send_file(file, send_body)

    def _send_file(self, file: Any, send_body: bool) -> None:
        owner = self.server.owner
        info = os.fstat(file.fileno())
        size = info.st_size
        etag = f'"{info.st_ino:x}-{info.st_mtime_ns:x}-{info.st_size:x}"'
        wanted = self.headers.get("If-Match")
        if owner.validators and wanted is not None and wanted not in ("*", etag):
            self._plain(HTTPStatus.PRECONDITION_FAILED, send_body)
            return
        status, (start, stop), extra = HTTPStatus.OK, (0, size), {}
        spec = self.headers.get("Range")
        if spec is not None and not owner.ignore_range:
            span = _span(spec, size)
            if span is None:
                self._plain(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, send_body)
                return
            status, (start, stop) = HTTPStatus.PARTIAL_CONTENT, span
            extra["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        self.send_response(status)
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Content-Type", "application/octet-stream")
        if not owner.ignore_range:
            self.send_header("Accept-Ranges", "bytes")
        if owner.validators:
            self.send_header("ETag", etag)
            modified = email.utils.formatdate(info.st_mtime, usegmt=True)
            self.send_header("Last-Modified", modified)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            owner.count(spec)  # before the client can see the answer
            file.seek(start)
            sent = 0
            while sent < stop - start:  # counted piece by piece: a client may hang up
                piece = file.read(min(_PIECE, stop - start - sent))
                owner.count_bytes(len(piece))
                self.wfile.write(piece)
                sent += len(piece)

    def _traffic(self, *, reset: bool) -> None:
        owner = self.server.owner
        with owner.lock:
            traffic = owner.traffic
            body = json.dumps({"requests": traffic.requests, "bytes": traffic.body_bytes}).encode()
            if reset:
                traffic.reset()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def _plain(self, status: int, send_body: bool) -> None:
        body = f"{int(status)} {HTTPStatus(status).phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _span(spec: str, size: int) -> tuple[int, int] | None:
    match = _RANGE.match(spec.strip())
    if match is None or match.group(0) == "bytes=-":
        return None
    first, last = match.groups()
    if not first:  # suffix: the last N bytes
        count = int(last)
        return (max(0, size - count), size) if count else None
    start = int(first)
    stop = size if not last else min(size, int(last) + 1)
    return (start, stop) if start < size and start < stop else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: RangeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up
            super().handle_error(request, client_address)


class RangeServer:
    """Serve ``root`` on 127.0.0.1 (a free port) from a thread, until closed.

    Attributes:
        root: The folder served.
        traffic: What was sent so far.
        ignore_range: Answer every GET with the whole file (200), as some servers do.
        status: Answer every request with this status instead (403, 404, ...).
        validators: Send ``ETag``/``Last-Modified`` and honour ``If-Match``.
        after_request: Called with the number of GET answers sent so far, after each
            (a test replaces a file between two requests with it).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.traffic = Traffic()
        self.ignore_range = False
        self.status: int | None = None
        self.validators = True
        self.after_request: Callable[[int], None] | None = None
        self.lock = threading.Lock()
        self._active = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Mark a request as being answered (see :meth:`reset`)."""
        with self.lock:
            self._active += 1
        try:
            yield
        finally:
            with self.lock:
                self._active -= 1

    def count_bytes(self, nbytes: int) -> None:
        with self.lock:
            self.traffic.body_bytes += nbytes

    def count(self, spec: str | None) -> None:
        """Count a GET answered (before its body is sent)."""
        with self.lock:
            self.traffic.requests += 1
            self.traffic.ranges.append(spec or "whole")
            done = self.traffic.requests
        if self.after_request is not None:
            self.after_request(done)

    def settle(self) -> None:
        """Wait until no request is being answered (one whose client hung up fails soon)."""
        deadline = time.monotonic() + 30
        while self._active and time.monotonic() < deadline:
            time.sleep(0.01)

    def reset(self) -> None:
        """Serve normally again and forget the traffic, once no request is being answered."""
        self.ignore_range, self.status, self.validators = False, None, True
        self.after_request = None
        self.settle()
        with self.lock:
            self.traffic.reset()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RangeServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` by a new file holding ``data`` (new inode: a new ETag)."""
    staging = path.with_name(path.name + ".new")
    staging.write_bytes(data)
    os.replace(staging, path)


if __name__ == "__main__":
    with RangeServer(Path(sys.argv[1])) as served:
        print(served.url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin (or ends)
