"""The one place that imports fsspec (optional: ``pip install "mlarray-core[remote]"``).

:func:`open_transport` picks how a URL's bytes are fetched: ``http(s)://`` with
our own range requests on fsspec's ``aiohttp`` session (the answers' status and
validators are checked), every other scheme (``s3://``, ``gs://``, ...) with the
fsspec filesystem of that scheme.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, Protocol

from mlarray.errors import MLArrayError, RemoteFileError
from mlarray_meta._remote import RangeTransport, Validators

__all__ = [
    "EXTRA",
    "RemoteSupportMissingError",
    "Transport",
    "open_transport",
    "require_fsspec",
    "transport_errors",
]

EXTRA = 'pip install "mlarray-core[remote]"'
_PROTOCOL_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs"}


class RemoteSupportMissingError(MLArrayError, ImportError):
    """Reading a URL needs fsspec (or a package for its scheme) that is not installed."""


class Transport(RangeTransport, Protocol):
    """Range requests for one remote file, as :class:`~mlarray._remote.RemoteArray` needs them.

    Every answer is checked against :attr:`validators` (the version first read), so
    a file replaced on the server raises
    :class:`~mlarray.errors.RemoteFileChangedError` instead of mixing two versions.
    A transport pickles as its URL, options and validators; each process (dataloader
    workers included) opens its own session on first use.
    """

    @property
    def validators(self) -> Validators:
        """The version of the file this transport reads (known after the first request)."""
        ...

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """Return the bytes of each ``(offset, count)`` span, fetched concurrently."""
        ...

    def download(self, sink: IO[bytes]) -> int:
        """Write the whole file to ``sink`` in one streamed pass; return the byte count."""
        ...


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def require_fsspec(url: str) -> Any:
    """Import and return ``fsspec``; the error names the ``pip install`` to run.

    Raises:
        RemoteSupportMissingError: fsspec is not installed.
    """
    try:
        import fsspec
    except ImportError as exc:
        raise RemoteSupportMissingError(
            f"{url}: reading remote files needs fsspec, which is not installed: {EXTRA}"
        ) from exc
    return fsspec


@contextmanager
def transport_errors(url: str, action: str) -> Iterator[None]:
    """Turn what fsspec, aiohttp or a protocol package raises into a :class:`RemoteFileError`.

    Their errors differ by scheme; the request is what failed either way, so each
    becomes one error naming the URL, what was being done, and the cause.
    """
    try:
        yield
    except MLArrayError:
        raise
    except ImportError as exc:
        package = _PROTOCOL_PACKAGES.get(_scheme(url), "the fsspec package for this scheme")
        raise RemoteSupportMissingError(
            f"{url}: {_scheme(url)}:// needs {package}, which is not installed: "
            f"{EXTRA} (or pip install {package})"
        ) from exc
    except FileNotFoundError:
        raise RemoteFileError(f"{url}: {action} failed: no such file on the server") from None
    except PermissionError as exc:
        raise RemoteFileError(
            f"{url}: {action} failed: access denied ({exc}); check the credentials "
            "(storage_options) or permissions"
        ) from None
    except Exception as exc:
        raise RemoteFileError(f"{url}: {action} failed: {type(exc).__name__}: {exc}") from None


def open_transport(
    url: str, storage_options: dict[str, Any] | None, validators: Validators | None = None
) -> Transport:
    """Open the transport for ``url`` (nothing is requested yet).

    Args:
        url: The file's URL.
        storage_options: Options for the fsspec filesystem of the scheme (credentials,
            endpoint, client arguments); for ``http(s)``, those of fsspec's
            ``HTTPFileSystem`` (``headers``, ``client_kwargs``).
        validators: The version the file must have (when reopened in another process).

    Raises:
        RemoteSupportMissingError: fsspec, or the package of the scheme, is missing.
    """
    require_fsspec(url)
    options = dict(storage_options or {})
    if _scheme(url) in ("http", "https"):
        from mlarray._remote._http import HttpTransport

        return HttpTransport(url, options, validators)
    from mlarray._remote._objects import ObjectTransport

    return ObjectTransport(url, options, validators)


class ProcessLocal:
    """A value made again in each process: sessions and event loops do not survive a fork."""

    def __init__(self) -> None:
        self._pid = -1
        self._value: Any = None

    def get(self, make: Any) -> Any:
        """The value of this process, made by ``make()`` the first time it is asked for."""
        if self._pid != os.getpid():
            self._value, self._pid = make(), os.getpid()
        return self._value
