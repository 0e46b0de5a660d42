"""The :class:`MLArray` container: an N-D array with standardized metadata."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray import _geometry_access as geo
from mlarray import chunking
from mlarray._access import ArrayAccess
from mlarray._coerce import as_ndarray, broadcast_to_selection, coerce_meta
from mlarray._constructors import Constructors, as_shape
from mlarray._edit import EditSession, close_at_exit, close_quietly
from mlarray._frame_check import parse_dtype
from mlarray._geometry_access import GeometryProperties
from mlarray._header import write_file_metadata
from mlarray._integrity import ChunkVerifier, chunk_checksums, touched_chunks
from mlarray._labels import check_label_store
from mlarray._layout import (
    ArrayLayout,
    check_storable,
    creation_errors,
    fit_patch_to_labels,
    plan_layout,
    record_layout,
)
from mlarray._opened import MappedFile, OpenedFile, open_file
from mlarray._params import compression_plan, decompression_params
from mlarray._pickling import Picklable
from mlarray._remote import CacheArgument, RemoteFile, Url, is_url, open_remote
from mlarray._staging import atomic_write
from mlarray._storage import (
    CREATE_MMAP_MODES,
    CREATE_MODES,
    OPEN_MMAP_MODES,
    OPEN_MODES,
    check_mla_path,
    check_mode,
    check_writable,
    load_checked,
    metadata_edited,
)
from mlarray.errors import (
    FileFormatError,
    MetaTypeError,
    MLArrayError,
    MLArrayFileError,
    ReadOnlyError,
    ReadOnlyFieldError,
)
from mlarray.meta import AxisLabel, Meta
from mlarray_meta._base import managed_writes

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["MLArray"]

PathLike = str | os.PathLike[str]


class MLArray(Constructors, GeometryProperties, ArrayAccess, Picklable):
    """An N-dimensional image with geometry and metadata, stored as a ``.mla`` file.

    The MLArray file format (".mla") is a Blosc2-compressed container with
    standardized metadata support for N-dimensional medical images.

    Args:
        array: Input data or file path. Use a numpy ndarray for in-memory arrays,
            or a string/Path to load a ".mla" file. If None, an empty MLArray
            instance is created (metadata only).
        spacing: Spacing per spatial axis (e.g., [sx, sy, sz]).
        origin: Origin per spatial axis.
        direction: Direction cosine matrix of shape (n, n) for n spatial axes.
        affine: Homogeneous affine matrix of shape (n + 1, n + 1); never together
            with spacing/origin/direction.
        meta: Free-form metadata dictionary (stored as ``meta.source``) or a Meta
            instance.
        axis_labels: Per-axis labels or roles. Length must match ndims. If None,
            the array is treated as purely spatial.
        copy: Another MLArray to copy metadata from: arguments given explicitly
            win, ``copy`` fills every field that was not given.
        patch_size: Patch size hint for chunk/block optimization. Use "default"
            for 192 per spatial axis, None to use chunk_size/block_size or let
            Blosc2 choose.
        chunk_size: Explicit chunk size (only with ``patch_size=None``).
        block_size: Explicit block size (only with ``patch_size=None``).
        cparams: Blosc2 compression parameters (a dict or ``blosc2.CParams``), or a
            preset name: ``"fast"`` (LZ4 with shuffle, LZ4HC for one-byte data) or
            ``"compact"`` (smaller files, slower reads). If None, arrays of 8 MiB
            or more get codec, filter and layout chosen for their values (read
            fastest at most 0.0.54's file size, recorded in the file); smaller
            ones the ``"fast"`` preset.
        dparams: Blosc2 decompression parameters (default one thread).
        compressed: Keep the data Blosc2-compressed in memory (True) or as a NumPy
            array (False). Saving always writes a compressed file.

    Raises:
        TypeError: If ``array`` is not an array, a path or None.
        ValueError: If metadata is invalid or ``affine`` is mixed with
            spacing/origin/direction.
        RuntimeError: If patch/chunk/block arguments are inconsistent, or the
            path is not a readable ``.mla`` file.
    """

    def __init__(
        self,
        array: ArrayLike | PathLike | None = None,
        spacing: ArrayLike | None = None,
        origin: ArrayLike | None = None,
        direction: ArrayLike | None = None,
        affine: ArrayLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        axis_labels: list[str | AxisLabel] | None = None,
        copy: MLArray | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: int | list[int] | tuple[int, ...] | None = None,
        block_size: int | list[int] | tuple[int, ...] | None = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> None:
        if isinstance(array, (str, os.PathLike)):
            self._init_state(Meta(), cparams, dparams)
            self._adopt(type(self).load(array, dparams=dparams, compressed=compressed))
            self._apply_arguments(meta, spacing, origin, direction, affine, axis_labels, copy)
            return
        self._init_state(coerce_meta(meta), cparams, dparams)
        self._apply_arguments(None, spacing, origin, direction, affine, axis_labels, copy)
        if array is not None:
            self._set_array(
                as_ndarray(array),
                patch_size=patch_size,
                chunk_size=chunk_size,
                block_size=block_size,
                compressed=compressed,
            )

    # ------------------------------------------------------------------ set-up
    def _init_state(self, meta: Meta, cparams: Any, dparams: Any) -> None:
        """Set every instance attribute: an in-memory MLArray without array data."""
        self._meta = meta
        self._store_value: Any = None
        self._pending: OpenedFile | RemoteFile | None = None  # attached on first data access
        self._opened: OpenedFile | RemoteFile | None = None  # the file a read-only handle reads
        self._session: EditSession | None = None  # the edit of a writable handle
        self._layout: ArrayLayout | None = None
        self._read_only = False
        self._verifier: ChunkVerifier | None = None
        self._verify_reads = False  # open(verify=True): what pickled handles ask for too
        self._frame_borrowed = False
        self._file_path: Path | Url | None = None  # the file attached, see ``filepath``
        self.mode: str | None = None
        self.mmap_mode: str | None = None
        self._cparams_arg = cparams
        self._dparams = decompression_params(dparams)

    @classmethod
    def _from_file(cls, meta: Meta, dparams: Any) -> MLArray:
        """A blank instance for :meth:`open`/:meth:`load` (skips argument handling)."""
        image = cls.__new__(cls)
        image._init_state(meta, None, dparams)
        return image

    def _adopt(self, other: MLArray) -> None:
        """Take over the array, metadata and file state of ``other``."""
        self.__dict__.update(other.__dict__)

    def _apply_arguments(
        self,
        meta: Meta | dict[str, Any] | None,
        spacing: ArrayLike | None,
        origin: ArrayLike | None,
        direction: ArrayLike | None,
        affine: ArrayLike | None,
        axis_labels: list[str | AxisLabel] | None,
        copy: MLArray | None,
    ) -> None:
        """Apply explicit metadata arguments, then fill the rest from ``copy``.

        ``meta`` is given only when ``self.meta`` was loaded from a file: the fields
        that ``meta`` sets win, the file fills the others (as ``copy`` does).
        """
        if meta is not None:
            explicit = coerce_meta(meta)
            with managed_writes():  # the file's shape and layout describe its array
                explicit.copy_from(self.meta)
            self._meta = explicit
        geo.apply_explicit(
            self.meta.spatial,
            spacing=spacing,
            origin=origin,
            direction=direction,
            affine=affine,
            axis_labels=axis_labels,
        )
        if copy is not None:
            if not isinstance(copy, MLArray):
                raise MetaTypeError(f"copy: expected an MLArray, got {type(copy).__name__}")
            # Explicit arguments win; MetaSpatial.copy_from keeps their geometry form.
            self.meta.copy_from(copy.meta)

    def _set_array(
        self,
        array: np.ndarray[Any, Any],
        *,
        patch_size: Any,
        chunk_size: Any,
        block_size: Any,
        compressed: bool,
    ) -> None:
        """Attach ``array`` (compressing it unless ``compressed`` is False)."""
        self._attach_new(
            array.shape,
            array.dtype,
            lambda layout: array if layout is None else layout.compress(array),
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            compressed=compressed,
            values=array,
        )

    def _attach_new(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        produce: Callable[[ArrayLayout | None], Any],
        *,
        patch_size: Any,
        chunk_size: Any,
        block_size: Any,
        compressed: bool,
        values: np.ndarray[Any, Any] | None = None,
    ) -> None:
        """Plan the layout of a new array and attach what ``produce`` makes.

        ``produce(layout)`` returns a Blosc2 NDArray built with the layout;
        ``produce(None)`` returns a NumPy array (``compressed=False``). The
        array's ``values``, when known, let the storage be chosen for them.
        """
        with managed_writes():
            self.meta.spatial.shape = list(shape)
            self.meta._has_array.set(True)
        self._layout = plan_layout(
            self.meta,
            shape,
            dtype,
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            compression=compression_plan(self._cparams_arg, dtype),
            dparams=self._dparams,
            values=values,
        )
        with creation_errors(shape, dtype, self._layout if compressed else None):
            self._store = produce(self._layout if compressed else None)
        self._frame_borrowed = False
        record_layout(self.meta, self._layout, self._store)

    # ----------------------------------------------------------------- file I/O
    @classmethod
    def open(
        cls,
        filepath: PathLike,
        mode: str = "r",
        mmap_mode: str | None = "r",
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        *,
        verify: bool = False,
        storage_options: dict[str, Any] | None = None,
        cache: CacheArgument = None,
    ) -> MLArray:
        """Open an existing MLArray file with memory mapping.

        Chunks are read and decompressed on demand; nothing is loaded up front. The
        file is opened once: header and data always come from the same file, even
        when a ``save`` replaces it meanwhile.

        A URL (``https://``, ``s3://``, ``gs://`` or any fsspec URL; needs
        ``pip install "mlarray-core[remote]"``) opens a remote file read-only: the
        header is read with one or two range requests, then each read fetches only
        the blocks it touches (see ``docs/remote.md``).

        Args:
            filepath: Target file path (must end with ".mla"), or the URL of one.
            mode: 'r' (default, read-only) or 'a' (read/write), used when
                ``mmap_mode`` is None.
            mmap_mode: 'r' (default, read-only), 'r+' (read/write), 'c'
                (copy-on-write: changes stay in memory) or None (standard I/O with
                ``mode``). Overrides ``mode`` if set. Writable opens are
                transactions: the file changes only at :meth:`close`.
            dparams: Blosc2 decompression parameters. If None, defaults to
                {'nthreads': 1}.
            verify: Check each chunk against the checksum stored at save time the
                first time a read touches it (files without checksums are read
                unchecked). Writes switch the checks off. A remote file's chunks are
                then fetched whole.
            storage_options: For a URL: options of the fsspec filesystem of its scheme
                (credentials, endpoint, HTTP headers).
            cache: For a URL: a :class:`~mlarray.BlockCache` (or a folder for one)
                keeping the fetched blocks on local disk, shared between processes.

        Returns:
            The opened MLArray. Call :meth:`close` (or use it in a ``with`` block)
            to store the edits made in a writable mode.

        Raises:
            RuntimeError: If the file extension is invalid, the file is missing or
                mode/mmap_mode is invalid for opening, or (writable modes) the file
                or its folder is not writable; for a URL, if a writable mode is asked
                for (ReadOnlyError) or the file cannot be read (RemoteFileError).
            ImportError: A URL needs fsspec (or its scheme's package), not installed.
            ValueError: If the file is not a valid ``.mla`` file (FileFormatError),
                or, with ``verify``, its checksum record is unusable or a read
                touches a damaged chunk (ChecksumError, naming the chunk and region).
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
        image = cls._from_file(header.meta, decompression_params(dparams))
        image._file_path, image.mode, image.mmap_mode = path, mode, mmap_mode
        image._read_only = mmap_mode == "r" or (mmap_mode is None and mode == "r")
        image._pending = image._opened = opened
        image._verify_reads = verify
        meta = header.meta
        if meta._has_array.value:
            with managed_writes():
                if meta.spatial.shape is None:  # files written by other tools
                    meta.spatial.shape = list(header.shape)
                if meta.blosc2.dparams != image._dparams:  # record what reads will use
                    meta.blosc2.dparams = image._dparams
        if writable:
            assert isinstance(opened, MappedFile)
            image._start_session(opened)
        return image

    def _start_session(self, base: MappedFile) -> None:
        """Make this handle the edit of ``base`` (see :class:`~mlarray._edit.EditSession`)."""
        assert isinstance(self._file_path, Path)  # remote files are never written
        self._session = EditSession.of(self._file_path, base, self.meta)
        close_at_exit(self)

    @property
    def _store(self) -> Any:
        """The Blosc2 or NumPy array; a file from :meth:`open` is attached on first use."""
        if self._pending is not None:
            self._attach_pending()
        return self._store_value

    @_store.setter
    def _store(self, value: Any) -> None:
        self._pending = None
        self._store_value = value

    def _attach_pending(self) -> None:
        """Check the frame and give blosc2 the file that :meth:`open` read the header of.

        Deferred to the first access of the data, so that opening only reads the
        header: a dataloader touching metadata (or many files) pays nothing more.
        """
        pending, self._pending = self._pending, None
        assert pending is not None
        assert self._file_path is not None
        store = pending.array(self._dparams)
        self._attach_file(self._file_path, store)
        self._frame_borrowed = isinstance(pending, MappedFile)
        if self._verify_reads and self._store_value is not None:
            self._verifier = ChunkVerifier.for_file(self._file_path, store, pending.header.mapping)

    @classmethod
    def create(
        cls,
        filepath: PathLike,
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        dtype: DTypeLike,
        meta: Meta | dict[str, Any] | None = None,
        mode: str = "w",
        mmap_mode: str | None = "w+",
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: int | list[int] | tuple[int, ...] | None = None,
        block_size: int | list[int] | tuple[int, ...] | None = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
    ) -> MLArray:
        """Create a new MLArray file with memory mapping.

        The file is built next to ``filepath`` and put in place, complete, by
        :meth:`close` (or the end of a ``with`` block, or garbage collection and
        interpreter exit when ``close`` is never called). Until then a file already
        at ``filepath`` stays as it was; a crash or a full disk never leaves a
        partial file there. Writes go through standard I/O even with
        ``mmap_mode='w+'``, so that a full disk raises an error instead of killing
        the process with ``SIGBUS``.

        Args:
            filepath: Target file path. Must end with ".mla".
            shape: Shape of the array to create, non-spatial axes included.
            dtype: Numpy dtype for the new array.
            meta: Optional metadata; a dict is stored as ``meta.source``.
            mode: Must be 'w' (default): create or overwrite.
            mmap_mode: 'w+' (default) or None. Overrides mode if set.
            patch_size: Patch size hint (int or one value per spatial axis);
                "default" means 192.
            chunk_size: Explicit chunk size (only with ``patch_size=None``).
            block_size: Explicit block size (only with ``patch_size=None``).
            cparams: Blosc2 compression parameters (a dict or ``blosc2.CParams``), or a
                preset name: ``"fast"`` (the default here, as the values are not
                known yet: LZ4 with shuffle, LZ4HC for one-byte data) or
                ``"compact"`` (smaller files, slower reads).
            dparams: Blosc2 decompression parameters (default one thread).

        Returns:
            The new, writable MLArray.

        Raises:
            RuntimeError: If the file extension is invalid, mode/mmap_mode is
                invalid for creation, or the file cannot be written (its folder is
                missing or not writable, the disk is full: MLArrayFileError).
        """
        path = check_mla_path(filepath, must_exist=False)
        check_mode(mode, CREATE_MODES, "mode", "creating")
        check_mode(mmap_mode, CREATE_MMAP_MODES, "mmap_mode", "creating")
        image = cls(meta=meta, cparams=cparams, dparams=dparams)
        shape_tuple, np_dtype = as_shape(shape), np.dtype(dtype)

        def produce(layout: ArrayLayout | None) -> Any:
            assert layout is not None  # compressed=True always passes the layout
            image._session, store = EditSession.create(
                path, shape_tuple, np_dtype, layout.storage_kwargs()
            )
            return store

        image._attach_new(
            shape_tuple,
            np_dtype,
            produce,
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            compressed=True,
        )
        image._file_path, image.mode, image.mmap_mode = path, mode, mmap_mode
        close_at_exit(image)
        return image

    @classmethod
    def load(
        cls,
        filepath: PathLike,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
        *,
        verify: bool = False,
    ) -> MLArray:
        """Load a MLArray file as a whole without memory mapping.

        Args:
            filepath: Path to the MLArray file to be loaded. The filepath needs to
                have the extension ".mla".
            dparams: Blosc2 decompression parameters used when loading/accessing
                compressed chunks. If None, defaults to {'nthreads': 1}.
            compressed: Keep the data compressed in memory (True) or decompress it
                into a NumPy array (False).
            verify: Check every chunk against the checksum stored at save time
                (files without checksums are loaded unchecked).

        Returns:
            An in-memory MLArray, detached from the file.

        Raises:
            RuntimeError: If the file extension is not ".mla" or the file is missing.
            ValueError: If the file is not a valid ``.mla`` file (FileFormatError),
                or, with ``verify``, a chunk does not match its checksum
                (ChecksumError, naming the chunk and region).
        """
        path = check_mla_path(filepath, must_exist=True)
        dparams = decompression_params(dparams)
        header, store = load_checked(path, dparams=dparams)
        image = cls._from_file(header.meta, dparams)
        image._attach_file(path, store)
        image._file_path = None
        image._frame_borrowed = True
        if verify and image._store is not None:
            verifier = ChunkVerifier.for_file(path, store, header.mapping)
            if verifier is not None:
                verifier.check_all()
        if compressed is False and image._store is not None:
            image._storage_layout()  # how to compress it again on save
            image._store = image._decompressed()
        return image

    def _attach_file(self, path: Path | Url, store: Any) -> None:
        """Attach a store read from ``path``, whose header gave ``self.meta``."""
        meta = self.meta
        self._file_path = path
        if not meta._has_array.value:
            self._store = None
            return
        shape = list(store.shape)
        if meta.spatial.shape is not None and meta.spatial.shape != shape:
            raise FileFormatError(
                f"{path}: metadata says shape {list(meta.spatial.shape)} but the array has "
                f"shape {shape}"
            )
        self._store = store
        if meta.spatial.shape is None:
            with managed_writes():
                meta.spatial.shape = shape
        blosc2_meta = meta.blosc2
        recorded = (blosc2_meta.chunk_size, blosc2_meta.block_size, blosc2_meta.dparams)
        actual = (list(store.chunks), list(store.blocks), self._dparams)
        if recorded != actual:
            # Other dparams, or a file written by another tool: record what is in use.
            record_layout(meta, self._storage_layout(), store)

    def _storage_layout(self) -> ArrayLayout:
        """How the array is (or will be) compressed; read from the store when unknown."""
        if self._layout is None:
            self._layout = ArrayLayout.from_store(self._store, self.meta, self._dparams)
        return self._layout

    def save(self, filepath: PathLike) -> None:
        """Save the array to a MLArray file, atomically.

        The file is written to a temporary file in the same folder and renamed
        over ``filepath`` only when complete: a crash or a full disk leaves any
        previous file untouched. Saving a writable handle over its own file
        completes its edit (as :meth:`close` would) and keeps it open.

        Args:
            filepath: Path to save the file. Must end with ".mla".

        Raises:
            RuntimeError: If the file extension is not ".mla" or writing fails.
            ValueError: If the metadata is invalid or not JSON-serializable, or
                ``meta.is_seg`` is True and the array holds values that are not
                labels (fractional, negative or not finite).
        """
        path = check_mla_path(filepath, must_exist=False)
        fit_patch_to_labels(self.meta)
        self.meta.validate()
        if self.dtype is not None:
            check_storable(self.dtype)
        if self.meta.is_seg.value is True and self._store is not None:
            check_label_store(self._store, str(path))
        atomic_write(path, self._write_file)
        if self._file_path is not None and _same_file(self._file_path, path):
            self._reopen(path)

    def _write_file(self, path: Path) -> None:
        """Write the complete ``.mla`` file (array, then metadata) at ``path``."""
        if self._store is None:
            blosc2.empty((0,), dtype=np.float64, urlpath=str(path), mode="w")
        elif isinstance(self._store, np.ndarray):
            self._storage_layout().compress(self._store, urlpath=path)
        else:
            self._store.save(str(path), mode="w")
        written = blosc2.open(str(path), mode="a", dparams=self._dparams)
        if self._store is not None:
            # meta.blosc2 describes the bytes written, also for NumPy-backed data
            # (whose record so far held only the requested parameters).
            record_layout(self.meta, self._storage_layout(), written)
        write_file_metadata(written, self.meta, integrity=chunk_checksums(written))

    def _reopen(self, path: Path) -> None:
        """Read the file just written over this handle's own file from now on."""
        writable = self._session is not None
        if self._session is not None:
            self._session.discard()
            self._session = None
        opened = open_file(path, mapped=writable or self.mmap_mode is not None)
        self._pending = self._opened = opened
        self._store_value = self._verifier = None
        self._frame_borrowed = False
        if writable:
            assert isinstance(opened, MappedFile)
            self.mode = "a" if self.mode == "w" else self.mode
            self.mmap_mode = "r+" if self.mmap_mode == "w+" else self.mmap_mode
            self._start_session(opened)

    def close(self) -> None:
        """Flush metadata and close the underlying store.

        A writable handle (``mmap_mode='r+'``, ``mode='a'`` without mmap, or
        :meth:`create`) stores its edit now, in one step: the metadata, the data
        written and fresh checksums for the chunks written go into a copy of the
        file, which then replaces it. Until then the file is unchanged; a crash
        before or during ``close()`` leaves it as it was. A handle with nothing to
        store (same metadata, no writes) leaves the file untouched. After closing,
        the MLArray instance no longer has an attached array.

        Raises:
            ReadOnlyError: The metadata of a handle opened read-only was edited (the
                edits cannot be stored; open with ``mmap_mode='r+'``, or ``save``).
            MLArrayFileError: Storing the edit failed (disk full, or another writer
                replaced the file meanwhile); the file is unchanged.
            MetaValidationError: The metadata cannot be stored; the handle stays
                open, so that it can be fixed and closed again.
        """
        session = self._session
        if session is not None and session.owned and session.changes(self.meta):
            fit_patch_to_labels(self.meta)
            if session.started or session.metadata_changed(self.meta):
                self.meta.validate()  # raises: fix the metadata and close again
                self._commit(session)
            elif _storable(self.meta):
                # Only the checksums an older file lacks are new. A file whose own
                # entry holds values read leniently keeps that entry as it is.
                self._commit(session)
        opened = self._opened if self._read_only else None
        edited = opened is not None and metadata_edited(opened.header, self.meta)
        path = self._file_path
        self._release()
        if edited:
            raise ReadOnlyError(
                f"{path}: the metadata was edited, but the file was opened "
                "read-only, so the edits are lost; open it with mmap_mode='r+' to edit "
                "it in place, or save() it"
            )

    def _commit(self, session: EditSession) -> None:
        """Store the edit of ``session``; a failed write ends the handle's use of the file."""
        self._verifier = None
        try:
            session.commit(self.meta, self._dparams)
        except MLArrayFileError:
            self._release()
            raise

    def __enter__(self) -> MLArray:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        """Close; when the block raised, discard the edits instead (the file is unchanged)."""
        if exc is None:
            self.close()
        else:
            self._release()

    def __del__(self) -> None:
        """An open edit is stored when the handle goes away, as files are flushed."""
        if getattr(self, "_session", None) is not None:
            close_quietly(self)

    def _release(self) -> None:
        """Let go of the file: drop the array, discard any edit not stored."""
        if self._session is not None:
            self._session.discard()
            self._session = None
        self._store = None
        self._verifier = None
        self._opened = None
        self._file_path = None

    # ----------------------------------------------------------- representations
    def to_numpy(self) -> np.ndarray[Any, Any]:
        """Return the underlying data as a NumPy array.

        Returns:
            A view of the data when it is held uncompressed, else a decompressed copy.

        Raises:
            TypeError: If no array data is loaded.
        """
        return self._decompressed()

    def compress(
        self,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: int | list[int] | tuple[int, ...] | None = None,
        block_size: int | list[int] | tuple[int, ...] | None = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
    ) -> None:
        """Compress this MLArray in-place using the Blosc2 backend.

        The instance is detached from any previously opened file state and becomes
        an in-memory object. Persist changes by calling save().

        Args:
            patch_size: Patch size hint; "default" means 192 per spatial axis.
            chunk_size: Explicit chunk size (only with ``patch_size=None``).
            block_size: Explicit block size (only with ``patch_size=None``).
            cparams: Blosc2 compression parameters.
            dparams: Blosc2 decompression parameters.

        Raises:
            TypeError: If no array data is loaded.
        """
        array = self._decompressed()
        self._cparams_arg = cparams
        self._dparams = decompression_params(dparams)
        self._detach()
        self._set_array(
            array,
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            compressed=True,
        )

    def decompress(self) -> None:
        """Decompress this MLArray in-place to a NumPy-backed array.

        The instance is detached from any previously opened file state and becomes
        an in-memory object. Persist changes by calling save(). meta.blosc2
        metadata is cleared.

        Raises:
            TypeError: If no array data is loaded.
        """
        array = self._decompressed()
        self._storage_layout()  # how to compress it again on save
        self._detach()
        self._store = array
        with managed_writes():
            self.meta.blosc2.reset()

    def _detach(self) -> None:
        if self._session is not None:
            self._session.discard()
            self._session = None
        self._file_path, self.mode, self.mmap_mode = None, None, None
        self._opened = None
        self._read_only = False
        self._verifier = None

    @classmethod
    def comp_blosc2_params(
        cls,
        image_size: chunking.IntSequence,
        patch_size: chunking.IntSequence,
        spatial_axis_mask: chunking.BoolSequence | None = None,
        bytes_per_pixel: int = 4,
        l1_cache_size_per_core_in_bytes: int = 32768,
        l3_cache_size_per_core_in_bytes: int = 1441792,
        safety_factor: float = 0.8,
    ) -> tuple[list[int], list[int]]:
        """Compute a recommended chunk and block size for saving arrays with Blosc2.

        The same function as :func:`mlarray.chunking.comp_blosc2_params`; see there
        for the heuristic, the arguments and the errors.

        Returns:
            The chunk size and the block size, one entry per axis of ``image_size``.
        """
        return chunking.comp_blosc2_params(
            image_size,
            patch_size,
            spatial_axis_mask,
            bytes_per_pixel,
            l1_cache_size_per_core_in_bytes,
            l3_cache_size_per_core_in_bytes,
            safety_factor,
        )

    # --------------------------------------------------------------- properties
    @property
    def meta(self) -> Meta:
        """The metadata; its sections are assignable, the container itself is not."""
        return self._meta

    @meta.setter
    def meta(self, value: object) -> None:
        raise ReadOnlyFieldError(
            f"MLArray.meta cannot be replaced (got {type(value).__name__}): it describes "
            "this array; assign its sections instead (image.meta.spatial = ..., "
            "image.meta.source = ...) or merge with image.meta.copy_from(other, overwrite=True)"
        )

    @property
    def filepath(self) -> str | None:
        """Path of the file this array is attached to, as a string; None when in memory."""
        return None if self._file_path is None else str(self._file_path)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the underlying array, or None if no array is loaded."""
        if self._pending is not None:
            header = self._pending.header
            return tuple(header.shape) if header.meta._has_array.value else None
        store = self._store_value
        return None if store is None else tuple(store.shape)

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """Dtype of the underlying array, or None if no array is loaded."""
        if self._pending is not None:
            header = self._pending.header
            return parse_dtype(header.dtype) if header.meta._has_array.value else None
        store = self._store_value
        return None if store is None else np.dtype(store.dtype)

    @property
    def ndim(self) -> int | None:
        """Number of spatial and non-spatial dimensions, or None if not determinable.

        The array's when there is one; for metadata only, from the axis labels or
        the length of the geometry (see :attr:`MetaSpatial.ndim`); None once a
        file's array is closed, as in mlarray 0.0.54.
        """
        shape = self.shape
        if shape is not None:
            return len(shape)
        return None if self.meta._has_array.value else self.meta.spatial.ndim  # closed: None

    @property
    def spatial_ndim(self) -> int | None:
        """Number of spatial dimensions, or None if not determinable."""
        ndim = self.ndim
        mask = self.meta.spatial.spatial_axis_mask
        return ndim if ndim is None or mask is None else sum(mask)

    def __setitem__(self, key: Any, value: Any) -> None:
        store = self._require_array("write")
        if self._read_only:
            raise ReadOnlyError(
                f"{self._file_path}: opened read-only (mode={self.mode!r}, "
                f"mmap_mode={self.mmap_mode!r}); open with mmap_mode='r+' to write"
            )
        value = broadcast_to_selection(store, key, value)
        self._verifier = None  # the chunks written no longer match the record
        session = self._session
        if session is None:
            if self._frame_borrowed:
                # The array reads bytes it does not own (a mapped file, a loaded file):
                # writes need a frame of its own (copy-on-write for mmap_mode='c').
                self._store = store = store.copy()
                self._frame_borrowed = False
            store[key] = value
            return
        try:
            store = session.working_copy(self._dparams)
            if store is not self._store_value:
                self._store, self._frame_borrowed = store, False
            with session.writing("writing to the array"):
                store[key] = value
        except MLArrayFileError:
            self._release()  # the file is unchanged; this handle cannot go on
            raise
        session.mark_written(touched_chunks(store.shape, store.chunks, key))

    def __repr__(self) -> str:
        if self.shape is None:
            return "MLArray(no array)"
        where = f", file={str(self._file_path)!r}" if self._file_path is not None else ""
        return f"MLArray(shape={self.shape}, dtype={self.dtype}{where})"


def _storable(meta: Meta) -> bool:
    """Whether ``meta`` passes the checks of a write."""
    try:
        meta.validate()
    except MLArrayError:
        return False
    return True


def _same_file(a: Path | Url, b: Path) -> bool:
    if isinstance(a, Url):
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
