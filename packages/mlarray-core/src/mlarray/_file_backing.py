"""What every file backing of an :class:`~mlarray.MLArray` shares: header first, array later.

``open`` reads only the header; the array is attached on the first access of the
data (:attr:`FileBacking.array`), so that a dataloader touching metadata (or many
files) pays nothing more. Attaching checks the frame, checks that the header's
metadata describes the array (:func:`fit_meta_to_array`) and, with
``verify=True``, starts the chunk checks. The kinds of file are subclasses:
local read-only, copy-on-write and writable files in :mod:`mlarray._local_file`,
remote files in :mod:`mlarray._remote._backing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlarray._array_facts import record_header_facts, record_shape, record_storage
from mlarray._backing import Backing
from mlarray._file_metadata import MetadataSnapshot
from mlarray._frame_check import parse_dtype
from mlarray._integrity import ChunkVerifier
from mlarray._storage import StoragePlan
from mlarray.errors import FileFormatError, ReadOnlyError
from mlarray.meta import Meta

if TYPE_CHECKING:
    from mlarray._opened import OpenedFile
    from mlarray._remote import CacheArgument, RemoteFile, Url

__all__ = ["FileBacking", "OpenOptions", "fit_meta_to_array"]


class OpenOptions(NamedTuple):
    """The arguments of ``MLArray.open`` (or ``create``) that say how a file is read.

    Attributes:
        mode: The ``mode`` (named in messages, passed on by pickling).
        mmap_mode: The ``mmap_mode``.
        dparams: The Blosc2 decompression parameters reads use.
        verify: Reads check chunks against their checksums.
        storage_options: For a URL: the options of its fsspec filesystem.
        cache: For a URL: the block cache, or a folder for one.
    """

    mode: str | None
    mmap_mode: str | None
    dparams: dict[str, Any]
    verify: bool = False
    storage_options: dict[str, Any] | None = None
    cache: CacheArgument = None


class FileBacking(Backing):
    """A file whose header was read; its array is attached on first use. Read-only here.

    Args:
        location: The file's path, or its URL.
        opened: The file held open; None for a file being created.
        meta: The metadata the MLArray keeps of it (the header's, at ``open``).
        options: How it was opened.
    """

    def __init__(
        self,
        location: Path | Url,
        opened: OpenedFile | RemoteFile | None,
        *,
        meta: Meta,
        options: OpenOptions,
    ) -> None:
        self.location: Path | Url = location
        self.opened = opened
        self.meta = meta
        self.options = options
        self._array: Any = None
        self._pending = opened is not None  # the header is read, the array not attached
        if opened is not None and meta._has_array.value:
            self.shape = tuple(opened.header.shape)
            self.dtype = parse_dtype(opened.header.dtype)
        self._plan: StoragePlan | None = None
        # What the header said, to tell user edits from it at close (cheaper than
        # decoding the header again).
        self._as_read = MetadataSnapshot(meta) if opened is not None else None

    def record_header_facts(self) -> None:
        """Complete the header's metadata: the shape (files of other tools), the ``dparams``."""
        assert self.opened is not None
        record_header_facts(self.meta, self.opened.header.shape, self.options.dparams)

    @property
    def array(self) -> Any:
        """The array of the file, attached (frame checked) on first use."""
        if self._pending:
            self._attach()
        return self._array

    def _attach(self) -> None:
        """Check the frame, then attach the array if the header says there is one.

        Raises:
            FileFormatError: The chunk index or a chunk header is damaged, or the
                metadata's shape is not the array's.
        """
        self._pending = False
        assert self.opened is not None
        shape, dtype = self.shape, self.dtype
        self.shape = self.dtype = None  # until attached: no array if this fails
        store = self.opened.array(self.options.dparams)
        if not self.meta._has_array.value:
            return
        self._plan = fit_meta_to_array(self.location, self.meta, store, self.options.dparams)
        self._array = store
        self.shape, self.dtype = shape, dtype
        if self.options.verify:
            self.verifier = ChunkVerifier.for_file(self.location, store, self.opened.header.mapping)

    def plan(self, patch_size: Sequence[float] | None, dparams: dict[str, Any]) -> StoragePlan:
        """How the file's array is compressed (read from it once)."""
        if self._plan is None:
            self._plan = super().plan(patch_size, dparams)
        return self._plan

    def write(self, key: Any, value: Any) -> Backing:
        """Refuse: the file was opened read-only.

        Raises:
            ReadOnlyError: Always (after NoArrayError when there is no array).
        """
        self.require("write")
        raise ReadOnlyError(
            f"{self.location}: opened read-only (mode={self.options.mode!r}, "
            f"mmap_mode={self.options.mmap_mode!r}); open with mmap_mode='r+' to write"
        )

    def check_closed(self, meta: Meta) -> None:
        """Refuse metadata edits of a read-only file at close: they cannot be stored.

        Raises:
            ReadOnlyError: ``meta`` differs from the header of the read-only file.
        """
        if self._as_read is not None and self._as_read.edited(meta):
            raise ReadOnlyError(
                f"{self.location}: the metadata was edited, but the file was opened "
                "read-only, so the edits are lost; open it with mmap_mode='r+' to "
                "edit it in place, or save() it"
            )

    def pickled(self) -> dict[str, Any]:
        """The path and open arguments; the receiving process opens the file itself."""
        if self.shape is None:
            return super().pickled()
        return {
            "file": str(self.location),
            "mode": self.options.mode,
            "mmap_mode": self.options.mmap_mode,
            "verify": self.options.verify,
            "remote": {},
        }


def fit_meta_to_array(
    location: Path | Url,
    meta: Meta,
    store: Any,
    dparams: dict[str, Any],
) -> StoragePlan | None:
    """Check that the header's ``meta`` describes ``store``, the array read from ``location``.

    The shape is filled in when missing; a layout or ``dparams`` other than the
    recorded ones (a file of another tool) are recorded as in use.

    Returns:
        The plan read from ``store`` to record it, or None when the record was right.

    Raises:
        FileFormatError: The metadata's shape is not the array's.
    """
    shape = list(store.shape)
    if meta.spatial.shape is not None and meta.spatial.shape != shape:
        raise FileFormatError(
            f"{location}: metadata says shape {list(meta.spatial.shape)} but the array has "
            f"shape {shape}"
        )
    if meta.spatial.shape is None:
        record_shape(meta, shape)
    recorded = (meta.blosc2.chunk_size, meta.blosc2.block_size, meta.blosc2.dparams)
    if recorded == (list(store.chunks), list(store.blocks), dparams):
        return None
    plan = StoragePlan.from_store(store, meta.blosc2.patch_size, dparams)
    record_storage(meta, plan, store)
    return plan
