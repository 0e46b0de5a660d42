"""Local ``.mla`` files as MLArray backings: read-only, copy-on-write, or edited.

:func:`open_local` picks the kind from the open modes:

* ``mmap_mode='r'`` (or ``mode='r'`` without mmap): :class:`ReadOnlyFile`,
  writes are refused;
* ``mmap_mode='c'``: :class:`CopyOnWriteFile`, the first write copies the array
  into memory and the file is never changed;
* ``mmap_mode='r+'`` (or ``mode='a'`` without mmap), and :func:`create_file`:
  :class:`EditedFile`, an edit stored at ``close()`` (see :mod:`mlarray._edit`).

The file is held open from the header on (:mod:`mlarray._opened`), so header and
data come from one file even when a ``save`` replaces the path meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mlarray._array_facts import fit_patch_to_labels
from mlarray._backing import Backing
from mlarray._edit import EditSession
from mlarray._file_backing import FileBacking, OpenOptions
from mlarray._integrity import touched_chunks
from mlarray._memory import new_array
from mlarray._opened import MappedFile, open_file
from mlarray._paths import check_mla_path, check_writable
from mlarray._storage import StoragePlan, StorageSpec
from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray.meta import Meta

__all__ = [
    "CopyOnWriteFile",
    "EditedFile",
    "LocalFile",
    "ReadOnlyFile",
    "create_file",
    "open_local",
]


class LocalFile(FileBacking):
    """A local file held open (:mod:`mlarray._opened`)."""

    def _attach(self) -> None:
        """Attach the array; a mapped file's reads go through a prefetcher from now on."""
        super()._attach()
        if self._array is not None and isinstance(self.opened, MappedFile):
            self.prefetcher = self.opened.prefetcher(self._array)

    def reopened(self, path: Path) -> LocalFile:
        """The same kind of backing on the file just saved over this one (an edit goes on)."""
        mapped = self.edits or self.options.mmap_mode is not None
        self.release()
        opened = open_file(path, mapped=mapped)
        return type(self)(self.location, opened, meta=self.meta, options=self.options)


class ReadOnlyFile(LocalFile):
    """A local file opened read-only: reads only; edited metadata is refused at close."""


class CopyOnWriteFile(LocalFile):
    """A local file mapped copy-on-write: writes go to a copy in memory, never to the file."""

    _copy: Any = None  # the array written to, once there was a write

    @property
    def array(self) -> Any:
        """The copy once written to, else the file's array."""
        return super().array if self._copy is None else self._copy

    def write(self, key: Any, value: Any) -> Backing:
        """Write into the copy (made at the first write; chunk checks stop then)."""
        array, value = self.prepared(key, value)
        if self._copy is None:
            with self.whole_reads():
                self._copy = array = array.copy()  # the mapping is read-only
            self.verifier = self.prefetcher = None  # reads go to the copy from now on
        array[key] = value
        return self

    def check_closed(self, meta: Meta) -> None:
        """Nothing to refuse: edits of a copy-on-write handle are its own."""

    def pickled(self) -> dict[str, Any]:
        """The path until written to; then the data (the copy exists in this process only)."""
        if self._copy is None:
            return super().pickled()
        return {"data": self._copy.to_cframe(), "plan": self._plan}


class EditedFile(LocalFile):
    """A local file opened for writing (or being created): an edit stored at ``close()``.

    Reads go to the file as opened until the first write, then to the edit's
    working copy (:meth:`~mlarray._edit.EditSession.working_copy`).
    """

    def __init__(
        self, location: Path, opened: MappedFile, *, meta: Meta, options: OpenOptions
    ) -> None:
        super().__init__(location, opened, meta=meta, options=options)
        self.session: EditSession | None = EditSession.of(location, opened, meta)

    @classmethod
    def creating(
        cls,
        path: Path,
        session: EditSession,
        store: Any,
        plan: StoragePlan,
        *,
        meta: Meta,
        options: OpenOptions,
    ) -> EditedFile:
        """The backing of a file being created: ``session`` made ``store`` as ``plan`` says."""
        backing = cls.__new__(cls)
        FileBacking.__init__(backing, path, None, meta=meta, options=options)
        backing.session, backing._array, backing._plan = session, store, plan
        backing.shape, backing.dtype = tuple(store.shape), np.dtype(store.dtype)
        return backing

    @property
    def edits(self) -> bool:
        """Whether the edit is still open."""
        return self.session is not None

    def write(self, key: Any, value: Any) -> Backing:
        """Write into the edit's working copy and mark the chunks written.

        Raises:
            MLArrayFileError: Writing failed (disk full ...); the file is unchanged.
        """
        _, value = self.prepared(key, value)
        session = self.session
        assert session is not None
        self.verifier = self.prefetcher = None  # reads go to the working copy from now on
        store = session.working_copy(self.options.dparams)
        with session.writing("writing to the array"):
            store[key] = value
        session.mark_written(touched_chunks(store.shape, store.chunks, key))
        self._array = store
        return self

    def working_copy(self) -> Any:
        """The Blosc2 array of the edit's working copy (made on first use)."""
        assert self.session is not None
        return self.session.working_copy(self.options.dparams)

    def store_edit(self, meta: Meta) -> None:
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
        session.commit(meta, self.options.dparams)

    def release(self) -> None:
        """Discard the edit not stored, if any."""
        if self.session is not None:
            self.session.discard()
            self.session = None

    def check_closed(self, meta: Meta) -> None:
        """Nothing to refuse: the edit was stored."""

    def pickled(self) -> dict[str, Any]:
        """Refuse: a second process writing the same file in place would corrupt it.

        Raises:
            MLArrayFileError: Unless there is no array.
        """
        if self.shape is None:
            return super().pickled()
        raise MLArrayFileError(
            f"{self.location}: an MLArray opened for writing cannot be pickled; "
            "open the file read-only in each worker process"
        )


def open_local(filepath: str | os.PathLike[str], options: OpenOptions) -> LocalFile:
    """Open a local file as :meth:`~mlarray.MLArray.open` documents; only the header is read.

    Raises:
        MLArrayFileError: The file is missing, unreadable, or (writable modes) not
            writable; ``storage_options`` or ``cache`` were given (URLs only).
        FileFormatError: The header is not that of a ``.mla`` file.
    """
    path = check_mla_path(filepath, must_exist=True)
    if options.storage_options is not None or options.cache is not None:
        raise MLArrayFileError(
            f"{path}: storage_options and cache apply to URLs, not to local files"
        )
    mode, mmap_mode = options.mode, options.mmap_mode
    writable = mmap_mode == "r+" or (mmap_mode is None and mode == "a")
    if writable:
        check_writable(path)
    opened = open_file(path, mapped=writable or mmap_mode is not None)
    kind = EditedFile if writable else CopyOnWriteFile if mmap_mode == "c" else ReadOnlyFile
    # (EditedFile needs a MappedFile: writable files are mapped above.)
    backing: LocalFile = kind(path, opened, meta=opened.header.meta, options=options)  # type: ignore[arg-type]
    backing.record_header_facts()
    return backing


def create_file(
    path: Path,
    meta: Meta,
    spec: StorageSpec,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    options: OpenOptions,
) -> EditedFile:
    """Start the creation of a new file at ``path``, put in place at ``close()``.

    Raises:
        MLArrayFileError: The folder is missing or not writable, or the disk is full.
    """
    sessions: list[EditSession] = []

    def produce(plan: StoragePlan | None) -> Any:
        assert plan is not None  # compressed=True always passes the plan
        session, store = EditSession.create(path, shape, dtype, plan.storage_kwargs())
        sessions.append(session)
        return store

    store, plan = new_array(meta, spec, shape, dtype, produce)
    return EditedFile.creating(path, sessions[0], store, plan, meta=meta, options=options)


def _storable(meta: Meta) -> bool:
    """Whether ``meta`` passes the checks of a write."""
    try:
        meta.validate()
    except MLArrayError:
        return False
    return True
