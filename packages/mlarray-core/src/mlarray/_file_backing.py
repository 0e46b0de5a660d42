"""The file behind an :class:`~mlarray.MLArray`: where it is, how it is open, what reads check.

An MLArray without a file holds its array in memory (NumPy or Blosc2). One with
a file holds a :class:`FileBacking`, whose kind its fields tell:

* read-only or copy-on-write (``open`` with ``mmap_mode`` 'r' or 'c', or
  ``mode='r'``): ``opened`` is the local file held open, ``session`` is None;
* writable (``open`` with ``mmap_mode='r+'`` or ``mode='a'``, and ``create``):
  ``session`` is the edit stored at ``close()`` (see :mod:`mlarray._edit`);
* remote (``open(url)``): ``opened`` is a :class:`~mlarray._remote.RemoteFile`,
  always read-only.

Until the first access of the data only the header is read (``pending``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mlarray._edit import EditSession
from mlarray._integrity import ChunkVerifier
from mlarray._opened import MappedFile, OpenedFile
from mlarray._remote import RemoteFile, Url

__all__ = ["FileBacking"]


@dataclasses.dataclass(eq=False)
class FileBacking:
    """The file an MLArray reads (and, with a ``session``, edits).

    Attributes:
        path: The file's path, or its URL.
        read_only: Writes to the array are refused.
        opened: The file held open (header read); None for a file being created.
        session: The edit of a writable handle, stored at ``close()``.
        pending: The header is read, the array not attached yet.
        verify: Reads check chunks against their checksums (``open(verify=True)``).
        verifier: The checks, once the array is attached (None: nothing to check).
    """

    path: Path | Url
    read_only: bool
    opened: OpenedFile | RemoteFile | None = None
    session: EditSession | None = None
    pending: bool = False
    verify: bool = False
    verifier: ChunkVerifier | None = None

    @property
    def remote(self) -> bool:
        """Whether the file is read over the network."""
        return isinstance(self.opened, RemoteFile)

    @property
    def mapped(self) -> bool:
        """Whether the array reads a mapping of the file (bytes it does not own)."""
        return isinstance(self.opened, MappedFile)

    def attach(self, dparams: dict[str, Any]) -> Any:
        """Check the frame and return the array of the file whose header was read.

        Raises:
            FileFormatError: The chunk index or a chunk header is damaged.
        """
        assert self.opened is not None
        self.pending = False
        return self.opened.array(dparams)

    def start_checks(self, store: Any) -> None:
        """Check the chunks that reads of ``store`` touch, if asked to and possible."""
        if self.verify and self.opened is not None:
            self.verifier = ChunkVerifier.for_file(self.path, store, self.opened.header.mapping)

    def end_edit(self) -> None:
        """Discard the edit not stored, if any."""
        if self.session is not None:
            self.session.discard()
            self.session = None
