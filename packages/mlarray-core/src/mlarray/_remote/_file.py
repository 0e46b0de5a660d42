"""A remote ``.mla`` file held open: its header, and the array that reads its blocks.

:func:`open_remote` reads the header with one or two range requests (the end of
the file, where the metadata and usually the chunk index are, then its start);
the chunk index is read on the first access to the data, and the blocks of the
chunks each read touches after that. Header and data come from one version of
the file: every answer is checked against the version first seen.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import blosc2

from mlarray._file_metadata import header_of_frame
from mlarray._frame_check import check_frame_kind, chunk_offsets, parse_dtype
from mlarray._remote._array import RemoteArray
from mlarray._remote._cache import BlockCache, Pieces, version_key
from mlarray._remote._chunks import ChunkGrid
from mlarray._remote._fetch import ChunkFetcher
from mlarray._remote._fsspec import Transport, open_transport
from mlarray.errors import MetaTypeError, ReadOnlyError
from mlarray_meta._remote import read_remote_frame
from mlarray_meta.format import FrameInfo
from mlarray_meta.header import Header

__all__ = ["CacheArgument", "RemoteFile", "Url", "open_remote"]

CacheArgument = BlockCache | str | os.PathLike[str] | None


class Url(str):
    """The location of a remote file, where a local file's ``Path`` would be."""

    __slots__ = ()


class RemoteFile:
    """A remote ``.mla`` file whose header was read; :meth:`array` reads its data.

    Attributes:
        url: The file's URL.
        header: Its header.
        storage_options: The fsspec options it was opened with.
        cache: The block cache it uses, or None.
    """

    def __init__(
        self,
        url: str,
        transport: Transport,
        *,
        storage_options: dict[str, Any] | None,
        cache: BlockCache | None,
    ) -> None:
        self.url = url
        self.storage_options = storage_options
        self.cache = cache
        self._transport = transport
        frame, self._ranges = read_remote_frame(transport)
        check_frame_kind(url, frame)
        self.header: Header = header_of_frame(frame)

    @property
    def path(self) -> Url:
        """The URL, as the location named in errors."""
        return Url(self.url)

    def reopen_arguments(self) -> dict[str, Any]:
        """The keyword arguments that open this file again (in another process)."""
        return {"storage_options": self.storage_options, "cache": self.cache}

    def array(self, dparams: dict[str, Any]) -> RemoteArray:
        """Read the chunk index (usually already fetched with the trailer); return the array.

        Raises:
            FileFormatError: The chunk index is damaged.
            RemoteFileError: A request failed, or the file changed on the server.
        """
        frame = self.header.mapping.frame
        offsets = chunk_offsets(self.url, frame, self._ranges.read) if frame.nchunks else []
        dtype = parse_dtype(frame.dtype)
        grid = ChunkGrid(frame.shape, frame.chunks, frame.blocks, dtype.itemsize)
        validators = self._transport.validators
        disk = None if self.cache is None else self.cache.for_file(self.url, validators)
        if validators.etag is None and validators.modified is None:
            version = f"{id(self)}:{uuid.uuid4()}"  # nothing tells versions apart: this session's
        else:
            version = version_key(self.url, validators)
        fetcher = ChunkFetcher(
            self._transport,
            base=frame.header_length,
            offsets=offsets,
            cbytes=frame.cbytes,
            grid=grid,
            dtype=dtype,
            pieces=Pieces(version, disk),
            nthreads=int(dparams.get("nthreads", 1)),
        )
        return RemoteArray(fetcher, grid, dtype, offsets, _cparams(frame), self._transport)


def _cparams(frame: FrameInfo) -> Any:
    """The frame's compression parameters, as far as its header records them."""
    codec = getattr(blosc2.Codec, frame.codec.upper(), blosc2.Codec.ZSTD)
    blocksize = frame.blocksize or frame.chunksize
    return blosc2.CParams(
        codec=codec, clevel=frame.clevel, typesize=frame.typesize, blocksize=blocksize
    )


def _cache_of(cache: CacheArgument) -> BlockCache | None:
    if cache is None or isinstance(cache, BlockCache):
        return cache
    if isinstance(cache, str | os.PathLike):
        return BlockCache(cache)
    raise MetaTypeError(
        f"cache: expected a BlockCache, a folder or None, got {type(cache).__name__}"
    )


def open_remote(
    url: str,
    *,
    mode: str,
    mmap_mode: str | None,
    storage_options: dict[str, Any] | None,
    cache: CacheArgument,
) -> RemoteFile:
    """Open the remote file at ``url`` read-only and read its header.

    Raises:
        ReadOnlyError: A writable mode was asked for (remote files are read-only).
        RemoteSupportMissingError: fsspec (or the scheme's package) is not installed.
        RemoteFileError: The file cannot be read (see ``docs/remote.md``).
        FileFormatError: It is not a valid ``.mla`` file.
    """
    if mode != "r" or mmap_mode not in ("r", None):  # both were checked to be valid values
        raise ReadOnlyError(
            f"{url}: remote files are read-only (got mode={mode!r}, mmap_mode={mmap_mode!r}; "
            "use mode='r', mmap_mode='r'); download the file to edit it"
        )
    blocks = _cache_of(cache)
    transport = open_transport(url, storage_options)
    return RemoteFile(url, transport, storage_options=storage_options, cache=blocks)
