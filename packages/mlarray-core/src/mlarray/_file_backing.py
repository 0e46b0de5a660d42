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
import os
from pathlib import Path
from typing import Any

from mlarray._edit import EditSession
from mlarray._file_metadata import metadata_edited
from mlarray._integrity import ChunkVerifier, touched_chunks
from mlarray._opened import MappedFile, OpenedFile, open_file
from mlarray._paths import OPEN_MMAP_MODES, OPEN_MODES, check_mla_path, check_mode, check_writable
from mlarray._remote import CacheArgument, RemoteFile, Url, is_url, open_remote
from mlarray._storage_record import fit_patch_to_labels
from mlarray.errors import MLArrayError, MLArrayFileError, ReadOnlyError
from mlarray.meta import Meta
from mlarray_meta._base import managed_writes

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

    @classmethod
    def open(
        cls,
        filepath: str | os.PathLike[str],
        *,
        mode: str,
        mmap_mode: str | None,
        dparams: dict[str, Any],
        verify: bool,
        storage_options: dict[str, Any] | None,
        cache: CacheArgument,
    ) -> FileBacking:
        """Open a local file or a URL as :meth:`~mlarray.MLArray.open` documents.

        Only the header is read; its ``meta`` gets the shape and the ``dparams``
        that reads will use. A writable mode starts the edit (``session``).
        """
        check_mode(mode, OPEN_MODES, "mode", "opening")
        check_mode(mmap_mode, OPEN_MMAP_MODES, "mmap_mode", "opening")
        writable = mmap_mode == "r+" or (mmap_mode is None and mode == "a")
        opened: OpenedFile | RemoteFile
        path: Path | Url
        if is_url(filepath):  # the one place where remote files come in
            opened = open_remote(
                filepath,
                mode=mode,
                mmap_mode=mmap_mode,
                storage_options=storage_options,
                cache=cache,
            )
            path = opened.path
        else:
            path = check_mla_path(filepath, must_exist=True)
            if storage_options is not None or cache is not None:
                raise MLArrayFileError(
                    f"{path}: storage_options and cache apply to URLs, not to local files"
                )
            if writable:
                check_writable(path)
            opened = open_file(path, mapped=writable or mmap_mode is not None)
        header = opened.header
        meta = header.meta
        if meta._has_array.value:
            with managed_writes():
                if meta.spatial.shape is None:  # files written by other tools
                    meta.spatial.shape = list(header.shape)
                if meta.blosc2.dparams != dparams:  # record what reads will use
                    meta.blosc2.dparams = dparams
        read_only = mmap_mode == "r" or (mmap_mode is None and mode == "r")
        file = cls(path, read_only, opened, pending=True, verify=verify)
        if writable:
            file.start_edit(meta)
        return file

    def reopened(self, path: Path, *, mapped: bool, meta: Meta) -> FileBacking:
        """The backing of the file just saved over this one (an edit goes on in it)."""
        writable = self.session is not None
        self.end_edit()
        opened = open_file(path, mapped=writable or mapped)
        file = FileBacking(self.path, self.read_only, opened, pending=True, verify=self.verify)
        if writable:
            file.start_edit(meta)
        return file

    def start_edit(self, meta: Meta) -> None:
        """Make this backing the edit of its file, whose metadata is ``meta``."""
        assert isinstance(self.path, Path)  # remote files are never written
        assert isinstance(self.opened, MappedFile)
        self.session = EditSession.of(self.path, self.opened, meta)

    def store_edit(self, meta: Meta, dparams: dict[str, Any]) -> None:
        """Store the edit, if it changes the file (see :meth:`~mlarray.MLArray.close`).

        Raises:
            MetaValidationError: ``meta`` cannot be stored (nothing is written).
            MLArrayFileError: Writing failed; the file is unchanged.
        """
        session = self.session
        if session is None or not session.owned or not session.changes(meta):
            return
        fit_patch_to_labels(meta)
        if session.started or session.metadata_changed(meta):
            meta.validate()  # raises: fix the metadata and close again
        elif not _storable(meta):
            # Only the checksums an older file lacks are new. A file whose own
            # entry holds values read leniently keeps that entry as it is.
            return
        self.verifier = None
        session.commit(meta, dparams)

    def write(self, key: Any, value: Any, dparams: dict[str, Any]) -> Any:
        """Write ``value`` at ``key`` into the edit's working copy of the file.

        Returns:
            The array written to, which reads from now on must use.

        Raises:
            MLArrayFileError: Writing failed (disk full ...); the file is unchanged.
        """
        session = self.session
        assert session is not None
        self.verifier = None  # the chunks written no longer match the record
        store = session.working_copy(dparams)
        with session.writing("writing to the array"):
            store[key] = value
        session.mark_written(touched_chunks(store.shape, store.chunks, key))
        return store

    def check_unedited(self, meta: Meta) -> None:
        """Refuse metadata edits of a read-only file at close: they cannot be stored.

        Raises:
            ReadOnlyError: ``meta`` differs from the header of the read-only file.
        """
        opened = self.opened
        if self.read_only and opened is not None and metadata_edited(opened.header, meta):
            raise ReadOnlyError(
                f"{self.path}: the metadata was edited, but the file was opened "
                "read-only, so the edits are lost; open it with mmap_mode='r+' to "
                "edit it in place, or save() it"
            )

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


def _storable(meta: Meta) -> bool:
    """Whether ``meta`` passes the checks of a write."""
    try:
        meta.validate()
    except MLArrayError:
        return False
    return True
