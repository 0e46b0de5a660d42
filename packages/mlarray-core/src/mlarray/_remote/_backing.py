"""A remote ``.mla`` file as an MLArray backing: read-only, fetched block by block.

:func:`open_remote_backing` reads the header (:func:`~mlarray._remote.open_remote`);
the array (:class:`~mlarray._remote._array.RemoteArray`) is attached on the first
access of the data, as for a local file. A pickled handle opens its own session
in the receiving process, with the same fsspec options and block cache.
"""

from __future__ import annotations

from typing import Any

from mlarray._file_backing import FileBacking, OpenOptions
from mlarray._remote._file import RemoteFile, open_remote

__all__ = ["RemoteBacking", "open_remote_backing"]


class RemoteBacking(FileBacking):
    """A remote file opened read-only (``MLArray.open(url)``)."""

    opened: RemoteFile

    def pickled(self) -> dict[str, Any]:
        """The URL and open arguments, with the fsspec options and the block cache."""
        state = super().pickled()
        if "file" in state:
            state["remote"] = self.opened.reopen_arguments()
        return state


def open_remote_backing(url: str, options: OpenOptions) -> RemoteBacking:
    """Open the file at ``url`` as :meth:`~mlarray.MLArray.open` documents; reads its header.

    Raises:
        ReadOnlyError: A writable mode was asked for (remote files are read-only).
        RemoteSupportMissingError: fsspec (or the scheme's package) is not installed.
        RemoteFileError: The file cannot be read (see ``docs/remote.md``).
        FileFormatError: It is not a valid ``.mla`` file.
    """
    assert options.mode is not None  # checked by MLArray.open
    opened = open_remote(
        url,
        mode=options.mode,
        mmap_mode=options.mmap_mode,
        storage_options=options.storage_options,
        cache=options.cache,
    )
    backing = RemoteBacking(opened.path, opened, meta=opened.header.meta, options=options)
    backing.record_header_facts()
    return backing
