"""Range requests over ``http(s)://`` on fsspec's ``aiohttp`` session, checked answer by answer.

fsspec's own HTTP reads hide what the server answered. Here each answer's status,
``Content-Range`` and validators are judged (by the same rules as
``mlarray_meta``'s standard-library reads): a server that ignores ``Range`` is
noticed before the body is downloaded, and a file replaced between two requests
is noticed at the next answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import IO, Any, Final

from mlarray._remote._fsspec import ProcessLocal, require_fsspec, transport_errors
from mlarray_meta._remote import Validators, VersionedRanges, judge_answer, status_error

__all__ = ["HttpTransport"]

_STREAM_PIECE: Final = 1 << 20


class HttpTransport(VersionedRanges):
    """Range requests for one HTTP(S) file (see :class:`~mlarray._remote._fsspec.Transport`).

    Args:
        url: The file's URL.
        storage_options: Options of fsspec's ``HTTPFileSystem`` (``headers``,
            ``client_kwargs``, ...).
        validators: The version the file must have, or None to take the first answer's.
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any], validators: Validators | None
    ) -> None:
        super().__init__(url, validators)
        self._options = storage_options
        self._fs = ProcessLocal()

    def __reduce__(self) -> tuple[Any, ...]:
        return HttpTransport, (self.url, self._options, self._validators)

    @property
    def validators(self) -> Validators:
        if self._validators is None:
            self.read_tail(0)
        assert self._validators is not None
        return self._validators

    def _run(self, coroutine: Any, action: str) -> Any:
        fsspec = require_fsspec(self.url)
        from fsspec.asyn import sync

        fs = self._fs.get(
            lambda: fsspec.filesystem("http", skip_instance_cache=True, **self._options)
        )
        with transport_errors(self.url, action):
            return sync(fs.loop, coroutine, fs)

    def read_tail(self, count: int) -> tuple[bytes, int]:
        if self.whole is None:
            data, size = self._run(lambda fs: self._get(fs, f"bytes=-{max(count, 1)}"), "reading")
            if self.whole is None:
                return data[len(data) - min(count, len(data)) :], size
        whole = self.whole
        assert whole is not None
        return whole[max(0, len(whole) - count) :], len(whole)

    def read(self, offset: int, count: int) -> bytes:
        return self.read_many([(offset, count)])[0]

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        if self.whole is None:

            async def fetch_all(fs: Any) -> list[tuple[bytes, int]]:
                specs = [f"bytes={offset}-{offset + count - 1}" for offset, count in spans]
                return list(await asyncio.gather(*(self._get(fs, spec) for spec in specs)))

            answers = self._run(fetch_all, "reading")
            if self.whole is None:
                return [data for data, _ in answers]
        whole = self.whole
        assert whole is not None
        return [whole[offset : offset + count] for offset, count in spans]

    def download(self, sink: IO[bytes]) -> int:
        async def stream(fs: Any) -> int:
            async with await self._request(fs, None) as response:
                if response.status != 200:
                    raise status_error(self.url, response.status, response.reason or "")
                size = response.content_length
                self.accept(Validators.from_headers(dict(response.headers), size or 0))
                done = 0
                async for piece in response.content.iter_chunked(_STREAM_PIECE):
                    sink.write(piece)
                    done += len(piece)
                return done

        if self.whole is not None:
            sink.write(self.whole)
            return len(self.whole)
        total: int = self._run(stream, "downloading")
        return total

    async def _request(self, fs: Any, spec: str | None) -> Any:
        session = await fs.set_session()
        options = dict(fs.kwargs)
        headers = {**options.pop("headers", {}), "Accept-Encoding": "identity"}
        if spec is not None:
            headers["Range"] = spec
        return session.get(fs.encode_url(self.url), headers=headers, **options)

    async def _get(self, fs: Any, spec: str) -> tuple[bytes, int]:
        """One range request: the body and the file size (a whole small file is held)."""
        async with await self._request(fs, spec) as response:
            answer = judge_answer(
                self.url, spec, response.status, response.reason or "", dict(response.headers)
            )
            self.accept(answer.validators)
            body = await response.read() if answer.stop > answer.start else b""
        body = answer.check_body(self.url, body)
        if answer.whole:
            self.hold_whole(body)
        return body, answer.validators.size
