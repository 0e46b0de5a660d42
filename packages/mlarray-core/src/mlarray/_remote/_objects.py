"""Range reads of object stores and other fsspec filesystems (``s3://``, ``gs://``, ...).

The file's size and version come from one metadata request (``fs.info``); the
ranges are fetched concurrently with ``fs.cat_ranges``. On S3 every read is made
conditional on the version first seen (``IfMatch`` on the entity tag), so a file
replaced meanwhile fails its next read instead of mixing two versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any, Final

from mlarray._remote._fsspec import ProcessLocal, require_fsspec, transport_errors
from mlarray.errors import RemoteFileChangedError, RemoteFileError
from mlarray_meta._remote import Validators, VersionedRanges

__all__ = ["ObjectTransport"]

_STREAM_PIECE: Final = 8 << 20
_ETAG_KEYS: Final = ("ETag", "etag", "md5Hash", "generation")
_MODIFIED_KEYS: Final = ("LastModified", "last_modified", "mtime", "updated", "created")


def _s3_pin(fs: Any, validators: Validators) -> None:
    """S3: make every request conditional on the entity tag first seen (``IfMatch``)."""
    if validators.etag is not None:
        fs.s3_additional_kwargs = {**fs.s3_additional_kwargs, "IfMatch": validators.etag}


# How each scheme makes its reads conditional on one version of the file.
_PINS: Final[dict[str, Callable[[Any, Validators], None]]] = {"s3": _s3_pin, "s3a": _s3_pin}


def _version_of(info: dict[str, Any]) -> Validators:
    def first(keys: Sequence[str]) -> str | None:
        found = next((info[key] for key in keys if info.get(key) is not None), None)
        return None if found is None else str(found)

    return Validators(etag=first(_ETAG_KEYS), modified=first(_MODIFIED_KEYS), size=info["size"])


class ObjectTransport(VersionedRanges):
    """Range reads through the fsspec filesystem of the URL's scheme.

    See :class:`~mlarray._remote._fsspec.Transport`.

    Args:
        url: The file's URL.
        storage_options: Options of the scheme's fsspec filesystem.
        validators: The version the file must have, or None to take the first one seen.
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any], validators: Validators | None
    ) -> None:
        super().__init__(url, validators)
        self._options = storage_options
        self._scheme = url.split("://", 1)[0].lower()
        self._fs = ProcessLocal()

    def __reduce__(self) -> tuple[Any, ...]:
        return ObjectTransport, (self.url, self._options, self._validators)

    @property
    def validators(self) -> Validators:
        self._filesystem()
        assert self._validators is not None
        return self._validators

    def _filesystem(self) -> tuple[Any, str]:
        return self._fs.get(self._connect)  # type: ignore[no-any-return]

    def _connect(self) -> tuple[Any, str]:
        fsspec = require_fsspec(self.url)
        with transport_errors(self.url, "opening"):
            fs, path = fsspec.core.url_to_fs(self.url, skip_instance_cache=True, **self._options)
            info = fs.info(path)
        if info.get("type", "file") != "file":
            raise RemoteFileError(f"{self.url}: is a {info.get('type')}, expected a .mla file")
        self.accept(_version_of(info))
        assert self._validators is not None
        pin = _PINS.get(self._scheme)
        if pin is not None:
            pin(fs, self._validators)
        return fs, path

    def read_tail(self, count: int) -> tuple[bytes, int]:
        size = self.validators.size
        start = max(0, size - count)
        return self.read(start, size - start), size

    def read(self, offset: int, count: int) -> bytes:
        return self.read_many([(offset, count)])[0]

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        fs, path = self._filesystem()
        with self._reading("reading"):
            found = fs.cat_ranges(
                [path] * len(spans),
                [offset for offset, _ in spans],
                [offset + count for offset, count in spans],
                on_error="raise",
            )
        for (offset, count), data in zip(spans, found, strict=True):
            if len(data) != count:
                raise _short_read(self.url, offset, count, len(data))
        return list(found)

    def download(self, sink: IO[bytes]) -> int:
        fs, path = self._filesystem()
        done = 0
        with self._reading("downloading"), fs.open(path, "rb", block_size=_STREAM_PIECE) as file:
            while piece := file.read(_STREAM_PIECE):
                sink.write(piece)
                done += len(piece)
        if done != self.validators.size:
            raise _short_read(self.url, 0, self.validators.size, done)
        return done

    def _reading(self, action: str) -> AbstractContextManager[None]:
        return _conditional_reads(self.url, action)


def _short_read(url: str, offset: int, count: int, found: int) -> RemoteFileChangedError:
    """A read returned another number of bytes than the file had when it was opened."""
    return RemoteFileChangedError(
        f"{url}: expected {count} bytes at offset {offset}, received {found}: the file "
        "changed on the server while it was being read; open it again"
    )


@contextmanager
def _conditional_reads(url: str, action: str) -> Iterator[None]:
    """:func:`transport_errors`, with a failed read condition (HTTP 412) reported as a change."""
    with transport_errors(url, action):
        try:
            yield
        except Exception as exc:
            if _precondition_failed(exc):
                raise RemoteFileChangedError(
                    f"{url}: the file changed on the server while it was being read (its "
                    "entity tag no longer matches); open it again to read the new version"
                ) from None
            raise


def _precondition_failed(exc: BaseException) -> bool:
    """Whether a client error says a conditional request failed (HTTP 412)."""
    text = f"{exc!r} {getattr(exc, 'args', '')}"
    return "PreconditionFailed" in text or "412" in text or "pre-conditions" in text
