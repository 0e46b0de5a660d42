"""Range requests over ``http://`` and ``https://`` with ``urllib`` (standard library only).

:func:`mlarray_meta.read_header` reads a remote header through this transport:
one request for the end of the file, one for its start. Redirects and proxies
are followed as ``urllib`` does.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Any, Final

from mlarray_meta._remote import VersionedRanges, judge_answer, read_remote_frame
from mlarray_meta.errors import MLArrayError, MLArrayFileError, RemoteFileError
from mlarray_meta.format import FrameInfo

__all__ = ["HTTP_SCHEMES", "UrllibTransport", "read_url_frame"]

HTTP_SCHEMES: Final = ("http", "https")
_TIMEOUT: Final = 30.0


class UrllibTransport(VersionedRanges):
    """Range requests for one HTTP(S) file; every answer is checked against the first.

    A server that ignores ``Range`` and sends a small file whole
    (:data:`~mlarray_meta._remote.FULL_DOWNLOAD_LIMIT`) has it kept in memory, with a
    :class:`~mlarray_meta.errors.RemoteFileWarning`; a larger file is refused.

    Args:
        url: The file's ``http://`` or ``https://`` URL.
        timeout: Seconds to wait for the server on each request.
    """

    def __init__(self, url: str, *, timeout: float = _TIMEOUT) -> None:
        super().__init__(url)
        self._timeout = timeout

    def read_tail(self, count: int) -> tuple[bytes, int]:
        """Return the last ``count`` bytes and the file size (one request).

        Raises:
            RemoteFileError: The request failed, or the file changed since the first one.
        """
        if self.whole is None:
            data, size = self._get(f"bytes=-{count}")
            if self.whole is None:
                return data, size
        whole = self.whole
        assert whole is not None
        return whole[max(0, len(whole) - count) :], len(whole)

    def read(self, offset: int, count: int) -> bytes:
        """Return ``count`` bytes at ``offset`` (one request).

        Raises:
            RemoteFileError: The request failed, or the file changed since the first one.
        """
        if self.whole is None:
            data, _ = self._get(f"bytes={offset}-{offset + count - 1}")
            if self.whole is None:
                return data
        whole = self.whole
        assert whole is not None
        return whole[offset : offset + count]

    def _get(self, spec: str) -> tuple[bytes, int]:
        """Send one range request; return the body and the file size."""
        request = urllib.request.Request(self.url, headers={"Range": spec})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return self._read(spec, response.status, response.reason, response)
        except MLArrayError:
            raise
        except urllib.error.HTTPError as exc:
            return self._read(spec, exc.code, str(exc.reason), exc)
        except urllib.error.URLError as exc:
            raise RemoteFileError(f"{self.url}: cannot reach the server: {exc.reason}") from None
        except TimeoutError:
            raise RemoteFileError(
                f"{self.url}: the server did not answer within {self._timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise RemoteFileError(f"{self.url}: the request failed: {exc!r}") from None

    def _read(self, spec: str, status: int, reason: str, response: Any) -> tuple[bytes, int]:
        answer = judge_answer(self.url, spec, status, reason, dict(response.headers))
        self.accept(answer.validators)
        length = answer.stop - answer.start
        body = answer.check_body(self.url, response.read(length + 1) if length else b"")
        if answer.whole:
            self.hold_whole(body)
        return body, answer.validators.size


def read_url_frame(url: str) -> FrameInfo:
    """Read the frame header and trailer of the ``.mla`` file at an HTTP(S) ``url``.

    Usually two range requests: the end of the file, then its start.

    Raises:
        MLArrayFileError: The URL's scheme is not ``http`` or ``https``.
        RemoteFileError: A request failed or the file changed in between.
        FileFormatError: The bytes are not a valid frame.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme not in HTTP_SCHEMES:
        raise MLArrayFileError(
            f"{url}: mlarray_meta reads only http:// and https:// URLs (with the standard "
            f'library); {scheme}:// files are read by mlarray: pip install "mlarray-core[remote]"'
        )
    frame, _ = read_remote_frame(UrllibTransport(url))
    return frame
