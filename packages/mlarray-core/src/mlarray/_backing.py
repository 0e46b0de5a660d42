"""What an :class:`~mlarray.MLArray` holds its array in: one backing per storage kind.

An MLArray is its metadata plus one :class:`Backing`; the backing's type is the
state the MLArray is in, and its methods are how that state reads, writes, saves,
closes and pickles. The kinds: :class:`NoArray` here (metadata only, or closed);
NumPy and Blosc2 arrays in memory in :mod:`mlarray._memory`; local files in
:mod:`mlarray._local_file` and remote ones in :mod:`mlarray._remote._backing`,
both built on :class:`~mlarray._file_backing.FileBacking` (the header read at
``open``, the array attached on first use, the chunk checks of ``verify=True``).
``docs/architecture.md`` tabulates state, backing type and module (tests pin it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray._array_facts import record_storage
from mlarray._coerce import broadcast_to_selection
from mlarray._file_metadata import write_file_metadata
from mlarray._integrity import chunk_checksums
from mlarray._patches import patch_boxes, read_patches
from mlarray._storage import StoragePlan
from mlarray.errors import FileFormatError, MLArrayError, NoArrayError
from mlarray.meta import Meta

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlarray._integrity import ChunkVerifier
    from mlarray._prefetch import Prefetcher
    from mlarray._remote import Url

__all__ = ["NO_ARRAY", "Backing", "NoArray"]


class Backing(ABC):
    """The array of an MLArray and how it is read, written, saved, closed and pickled.

    Subclasses give :attr:`array`, :meth:`write` and what differs for their kind;
    reads here go to :attr:`array`, checked by :attr:`verifier` when there is one,
    announced to :attr:`prefetcher` when there is one.

    Attributes:
        shape: The array's shape (fixed for a backing's life); None without array.
        dtype: The array's dtype; None without array.
        location: The file the array comes from (a path or URL); None in memory.
        verifier: The checks of chunks read (``open(verify=True)``), or None.
        prefetcher: Asks the kernel for the chunks of a memory-mapped file that a
            read will touch, or None.
    """

    shape: tuple[int, ...] | None = None
    dtype: np.dtype[Any] | None = None
    location: Path | Url | None = None
    verifier: ChunkVerifier | None = None
    prefetcher: Prefetcher | None = None

    @property
    @abstractmethod
    def array(self) -> Any:
        """The NumPy, Blosc2 or remote array reads go to; None when there is none."""

    @property
    def edits(self) -> bool:
        """Whether an edit is open, to be stored at ``close()``."""
        return False

    def require(self, action: str) -> Any:
        """The array, for ``action``.

        Raises:
            NoArrayError: There is no array.
        """
        array = self.array
        if array is None:
            raise NoArrayError(f"cannot {action}: this MLArray holds no array data")
        return array

    def describe(self) -> str:
        """The ``repr`` of an MLArray with this backing."""
        shape = self.shape
        if shape is None:
            return "MLArray(no array)"
        where = "" if self.location is None else f", file={str(self.location)!r}"
        return f"MLArray(shape={shape}, dtype={self.dtype}{where})"

    def undecodable(self, exc: RuntimeError) -> FileFormatError:
        """The error for a read that blosc2 could not decompress (a damaged chunk)."""
        if self.location is None:  # in memory: no file to blame or to verify
            return FileFormatError(
                f"{self.describe()}: a chunk of the compressed data cannot be decompressed ({exc})"
            )
        return FileFormatError(
            f"{self.describe()}: a chunk cannot be decompressed, the file is damaged ({exc}); "
            "run 'mlarray verify' on it"
        )

    # ----------------------------------------------------------------- reads
    def read(self, key: Any) -> Any:
        """``array[key]``, its chunks checked first when reads are verified.

        Raises:
            NoArrayError: There is no array.
            FileFormatError: A chunk cannot be decompressed.
            ChecksumError: A chunk read does not match its checksum.
        """
        array = self.require("read")
        if self.prefetcher is not None:
            self.prefetcher.key(key)
        if self.verifier is not None:
            self.verifier.check_key(key)
        try:
            return array[key]
        except MLArrayError:
            raise  # ours (a remote file that cannot be read, ...): it names its cause
        except RuntimeError as exc:  # blosc2's only sign of a chunk it cannot decompress
            raise self.undecodable(exc) from exc

    def read_patches(
        self,
        starts: Sequence[Sequence[int]],
        size: int | Sequence[int],
        mask: list[bool] | None,
        out: np.ndarray[Any, Any] | None,
    ) -> np.ndarray[Any, Any]:
        """The patches of :meth:`~mlarray.MLArray.read_patches` (``mask``: the spatial axes)."""
        array = self.require("read patches")
        shape = tuple(array.shape)
        patch, boxes = patch_boxes(starts, size, shape, mask or [True] * len(shape))
        if self.prefetcher is not None:
            self.prefetcher.boxes(boxes)
        if self.verifier is not None:
            for begin, stop in boxes:
                self.verifier.check_key(tuple(map(slice, begin, stop)))
        try:
            return read_patches(array, boxes, patch, out)
        except MLArrayError:
            raise
        except RuntimeError as exc:
            raise self.undecodable(exc) from exc

    def to_numpy(self) -> np.ndarray[Any, Any]:
        """The whole array, decompressed (a view for NumPy-backed data)."""
        array = self.require("decompress")
        if isinstance(array, np.ndarray):
            return array
        with self.whole_reads():
            return self._decompress_all(array)

    def whole_reads(self) -> AbstractContextManager[None]:
        """A block that reads the whole array (a prefetcher lets the kernel read ahead)."""
        return nullcontext() if self.prefetcher is None else self.prefetcher.whole()

    def _decompress_all(self, array: Any) -> np.ndarray[Any, Any]:
        """The whole of ``array`` (a Blosc2 array) as NumPy, its chunks checked first."""
        if self.verifier is not None:
            self.verifier.check_all()
        try:
            return np.asarray(array[...])
        except MLArrayError:
            raise
        except RuntimeError as exc:
            raise self.undecodable(exc) from exc

    # ---------------------------------------------------------------- writes
    @abstractmethod
    def write(self, key: Any, value: Any) -> Backing:
        """Write ``value`` at ``key``; returns the backing that holds the array from now on.

        Raises:
            NoArrayError: There is no array.
            ReadOnlyError: The array is read-only.
            MLArrayFileError: Writing an edit failed (its file is unchanged).
        """

    def prepared(self, key: Any, value: Any) -> tuple[Any, Any]:
        """The array and ``value`` broadcast to ``array[key]``, for a write."""
        array = self.require("write")
        return array, broadcast_to_selection(array, key, value)

    # ---------------------------------------------------------- save and close
    def plan(self, patch_size: Sequence[float] | None, dparams: dict[str, Any]) -> StoragePlan:
        """How the array is (or will be) compressed, asked for with ``patch_size``."""
        return StoragePlan.from_store(self.require("plan"), patch_size, dparams)

    def write_array(self, path: Path) -> None:
        """Write the array as a new Blosc2 file at ``path`` (metadata comes after)."""
        self.require("save").save(str(path), mode="w")

    def save(self, path: Path, meta: Meta, dparams: dict[str, Any]) -> None:
        """Write the complete ``.mla`` file (array, then ``meta``) at ``path``."""
        self.write_array(path)
        written = blosc2.open(str(path), mode="a", dparams=dparams)
        if self.array is not None:
            # meta.blosc2 describes the bytes written, also for NumPy-backed data
            # (whose record so far held only the requested parameters).
            record_storage(meta, self.plan(meta.blosc2.patch_size, dparams), written)
        write_file_metadata(written, meta, integrity=chunk_checksums(written))

    def store_edit(self, meta: Meta) -> None:
        """Store an open edit with ``meta`` (``close()``); nothing to do for other kinds."""
        return  # nothing to store, release or refuse in this kind

    def release(self) -> None:
        """Let go of the array; an edit not stored is discarded."""
        return  # nothing to store, release or refuse in this kind

    def check_closed(self, meta: Meta) -> None:
        """Refuse what ``close()`` cannot keep (edits of read-only metadata)."""
        return  # nothing to store, release or refuse in this kind

    def pickled(self) -> dict[str, Any]:
        """The state that :func:`~mlarray._memory.unpickled` (or ``open``) rebuilds."""
        return {"data": None, "plan": None}


class NoArray(Backing):
    """No array: metadata only, or a file closed."""

    @property
    def array(self) -> None:
        """None: there is no array."""
        return None

    def write(self, key: Any, value: Any) -> Backing:
        """Refuse: there is nothing to write to.

        Raises:
            NoArrayError: Always.
        """
        raise NoArrayError("cannot write: this MLArray holds no array data")

    def write_array(self, path: Path) -> None:
        """Write an empty Blosc2 array, as 0.0.54 does for metadata only."""
        blosc2.empty((0,), dtype=np.float64, urlpath=str(path), mode="w")


NO_ARRAY = NoArray()
