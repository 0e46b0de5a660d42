"""Edits of a ``.mla`` file as transactions: the file changes only at ``close()``.

An :class:`EditSession` spans a writable open (``mmap_mode='r+'``, ``mode='a'``)
or a :meth:`~mlarray.MLArray.create` up to ``close()``. The file itself is never
written in place: the first write to the array (or ``close()`` after metadata
edits) copies the file next to it (a :class:`~mlarray._staging.StagedFile`),
blosc2 writes into that copy, and ``close()`` records the metadata and the
checksums in it and renames it over the file. A crash at any moment, a full disk
or a failed write leaves the file as it was before the edit; after ``close()`` it
holds the edit, metadata and data together. This covers every vlmeta entry,
since the whole frame is replaced at once.

Measured alternatives (docs/reliability.md): an undo journal of the bytes blosc2
overwrites cannot work, because blosc2 rewrites chunk data in the middle of the
file on some updates; memory-mapped writes into the copy would turn a full disk
into ``SIGBUS``, so blosc2 writes it with standard I/O.
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import blosc2
import numpy as np

from mlarray._file_metadata import write_file_metadata
from mlarray._frame_check import parse_dtype
from mlarray._integrity import updated_checksums
from mlarray._limits import check_storable
from mlarray._opened import MappedFile
from mlarray._staging import StagedFile, write_failure
from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray.meta import Meta

__all__ = ["EditSession", "close_at_exit", "close_quietly"]

FAILED = "the file was not changed and this handle is closed"


class _Closable(Protocol):
    def close(self) -> None: ...


_PENDING: weakref.WeakSet[Any] = weakref.WeakSet()


def close_at_exit(handle: _Closable) -> None:
    """Have ``handle.close()`` called at interpreter exit if it is still open then.

    An edit that was never closed is completed like ``close()`` would (as files
    are flushed at exit); one that a crash interrupts is not.
    """
    _PENDING.add(handle)


def close_quietly(handle: _Closable) -> None:
    """Close ``handle`` where nobody can catch an error (garbage collection, exit).

    A failure is printed as one line on stderr.
    """
    try:
        handle.close()
    except MLArrayError as exc:
        print(f"mlarray: error: {exc}", file=sys.stderr)


@atexit.register
def _close_pending() -> None:
    for handle in list(_PENDING):
        close_quietly(handle)


class EditSession:
    """The transaction behind a writable :class:`~mlarray.MLArray`.

    Args:
        target: The user's file.
        base: The file as opened (read through until the first write), or None for
            a file being created.
        record: The base's checksum record when it is sound (it then carries over
            for the chunks the edit does not touch), else None.
        stored_meta: The base's metadata as ``Meta.to_mapping()``, None if the base
            needs its metadata rewritten anyway (older format, metadata problem).
    """

    def __init__(
        self,
        target: Path,
        base: MappedFile | None,
        *,
        record: dict[str, Any] | None,
        stored_meta: dict[str, Any] | None,
        sound: bool = True,
    ) -> None:
        self.target = target
        self._base = base
        self._record = record
        self._stored_meta = stored_meta
        self._sound = sound
        self._identity = None if base is None else base.identity
        self._owner = os.getpid()
        self._staged: StagedFile | None = None
        self._store: Any = None
        self._dirty: set[int] | None = set()  # chunks written; None: all of them

    @classmethod
    def of(cls, target: Path, base: MappedFile, meta: Meta) -> EditSession:
        """The edit of ``base`` opened for writing, whose metadata reads as ``meta``.

        A base with a sound checksum record and no metadata problem is left
        untouched when the edit changes nothing; others are rewritten by
        :meth:`commit` (a file of ``mlarray`` 0.0.54 then gains checksums).

        Raises:
            MetaTypeError: The file holds a dtype mlarray does not write (structured).
        """
        mapping = base.header.mapping
        check_storable(parse_dtype(mapping.dtype))  # what mlarray writes, it writes strictly
        sound = mapping.metadata_problem is None and mapping.integrity is not None
        return cls(
            target,
            base,
            record=mapping.integrity if sound else None,
            stored_meta=meta.to_mapping(),
            sound=sound,
        )

    @classmethod
    def create(
        cls, target: Path, shape: tuple[int, ...], dtype: np.dtype[Any], storage: dict[str, Any]
    ) -> tuple[EditSession, Any]:
        """Start the creation of a new file; returns the session and its empty array.

        Raises:
            MLArrayFileError: The folder is missing or not writable, or the disk is full.
        """
        session = cls(target, None, record=None, stored_meta=None)
        session._dirty = None
        session._staged = staged = StagedFile(target)
        with session.writing("creating the file"):
            session._store = blosc2.empty(
                shape, dtype=dtype, urlpath=str(staged.path), mode="w", **storage
            )
        return session, session._store

    @property
    def owned(self) -> bool:
        """Whether this process started the session (a forked child must not store it)."""
        return os.getpid() == self._owner

    @property
    def started(self) -> bool:
        """Whether the working copy exists (the array was written, or is being created)."""
        return self._staged is not None

    @contextmanager
    def writing(self, action: str) -> Iterator[None]:
        """Turn a failed write inside the block into an error naming the user's file.

        Blosc2's state after a failed write cannot be trusted: the working copy is
        discarded (the file is unchanged) and the session is over. Errors of the
        mlarray hierarchy (e.g. metadata that cannot be stored) pass unchanged.

        Raises:
            MLArrayFileError: The write failed; it says why (``No space left on
                device`` and the like) and that the file was not changed.
        """
        try:
            yield
        except MLArrayError:
            raise
        except (OSError, RuntimeError) as exc:
            written = self._staged.path if self._staged is not None else self.target
            failure = write_failure(self.target, written, action, exc, outcome=FAILED)
            self.discard()
            raise failure from exc

    def _staged_copy(self) -> StagedFile:
        """The working copy, made from the base on first use."""
        if self._staged is None:
            assert self._base is not None
            self._base.check()  # blosc2 will open the copy: its frame must be sound
            self._staged = staged = StagedFile(self.target)
            with self.writing("copying the file for the edit"):
                fd = os.open(staged.path, os.O_WRONLY)
                try:
                    self._base.copy_into(fd)
                finally:
                    os.close(fd)
        return self._staged

    def working_copy(self, dparams: dict[str, Any]) -> Any:
        """The Blosc2 array of the working copy (standard I/O, never memory-mapped).

        Raises:
            MLArrayFileError: The copy cannot be made (disk full, folder not writable);
                the session is over.
        """
        if self._store is None:
            staged = self._staged_copy()
            with self.writing("opening the copy for the edit"):
                self._store = blosc2.open(str(staged.path), mode="a", dparams=dparams)
        return self._store

    def mark_written(self, chunks: Iterable[int]) -> None:
        """Record that the chunks ``chunks`` (indices) were written."""
        if self._dirty is not None:
            self._dirty.update(chunks)

    def changes(self, meta: Meta) -> bool:
        """Whether :meth:`commit` has anything to write."""
        return self.started or not self._sound or self.metadata_changed(meta)

    def metadata_changed(self, meta: Meta) -> bool:
        """Whether ``meta`` differs from the metadata the file held when opened."""
        return self._stored_meta is None or meta.to_mapping() != self._stored_meta

    def commit(self, meta: Meta, dparams: dict[str, Any]) -> None:
        """Record ``meta`` and fresh checksums in the working copy and put it in place.

        Chunks the edit did not write keep the checksums the file had, so damage to
        them stays detectable.

        Raises:
            MetaValidationError: ``meta`` cannot be stored (the session stays open).
            MLArrayFileError: Writing failed, or another writer replaced the file
                since it was opened; the file is unchanged and the session over.
        """
        path = self._staged_copy().path
        self._store = None
        with self.writing("writing the metadata"):
            # A fresh handle on the copy: the one writes went through may be part of
            # a reference cycle the garbage collector is tearing down (close() from
            # __del__), where blosc2 objects lose their weak references.
            store = blosc2.open(str(path), mode="a", dparams=dparams)
            integrity = updated_checksums(store, self._record, self._dirty)
            write_file_metadata(store, meta, integrity=integrity)
            del store
        staged, self._staged = self._staged, None
        assert staged is not None
        if self._identity is not None and _identity(self.target) != self._identity:
            staged.discard()
            raise MLArrayFileError(
                f"{self.target}: another writer replaced or removed the file since it was "
                "opened for writing; this handle's edits were not saved"
            )
        staged.commit()

    def discard(self) -> None:
        """End the session without changing the file."""
        self._store = None
        if self._staged is not None:
            self._staged.discard()
            self._staged = None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino
