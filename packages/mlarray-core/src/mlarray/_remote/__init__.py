"""Remote ``.mla`` files: read over HTTP(S), S3, GCS or any fsspec URL, block by block.

``MLArray.open(url)`` reads the header with one or two range requests and then
only the blocks each read touches. fsspec is imported on first use
(``pip install "mlarray-core[remote]"``); nothing here imports it at import time.
"""

from __future__ import annotations

from mlarray._remote._cache import DEFAULT_CACHE_BYTES, BlockCache
from mlarray._remote._file import CacheArgument, RemoteFile, Url, open_remote
from mlarray._remote._fsspec import RemoteSupportMissingError
from mlarray_meta._remote import is_url

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "BlockCache",
    "CacheArgument",
    "RemoteFile",
    "RemoteSupportMissingError",
    "Url",
    "is_url",
    "open_remote",
]
