"""The :class:`MLArray` container: an N-D array with standardized metadata."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray import _geometry_access as geo
from mlarray import chunking
from mlarray._access import ArrayAccess
from mlarray._coerce import as_ndarray, broadcast_to_selection, coerce_meta
from mlarray._constructors import Constructors, as_shape
from mlarray._geometry_access import GeometryProperties
from mlarray._header import write_file_metadata
from mlarray._integrity import ChunkVerifier, chunk_checksums
from mlarray._labels import check_label_store
from mlarray._layout import ArrayLayout, fit_patch_to_labels, plan_layout, record_layout
from mlarray._params import compression_plan, decompression_params
from mlarray._pickling import Picklable
from mlarray._storage import (
    CREATE_MMAP_MODES,
    CREATE_MODES,
    OPEN_MMAP_MODES,
    OPEN_MODES,
    OpenedHeader,
    atomic_write,
    blosc2_errors,
    check_mla_path,
    check_mode,
    create_file_array,
    file_identity,
    load_checked,
    open_checked,
    open_file_array,
    read_header_once,
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
            preset name: ``"fast"`` (the default: LZ4 with shuffle, LZ4HC for
            one-byte data) or ``"compact"`` (smaller files, slower reads).
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
        self._pending: _PendingOpen | None = None
        self._layout: ArrayLayout | None = None
        self._read_only = False
        self._persistent = False
        self._checksums_current = False
        self._verifier: ChunkVerifier | None = None
        self._verify_reads = False  # open(verify=True): what pickled handles ask for too
        self._frame_borrowed = False
        self._path_identity: tuple[int, ...] | None = None
        self._stored_meta: dict[str, Any] | None = None  # as in the file opened for writing
        self._file_path: Path | None = None  # the file attached, see ``filepath``
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
    ) -> None:
        """Plan the layout of a new array and attach what ``produce`` makes.

        ``produce(layout)`` returns a Blosc2 NDArray built with the layout;
        ``produce(None)`` returns a NumPy array (``compressed=False``).
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
        )
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
    ) -> MLArray:
        """Open an existing MLArray file with memory mapping.

        Chunks are read and decompressed on demand; nothing is loaded up front.

        Args:
            filepath: Target file path. Must end with ".mla".
            mode: 'r' (default, read-only) or 'a' (read/write), used when
                ``mmap_mode`` is None.
            mmap_mode: 'r' (default, read-only), 'r+' (read/write, changes go to
                the file), 'c' (copy-on-write: changes stay in memory) or None
                (standard I/O with ``mode``). Overrides ``mode`` if set.
            dparams: Blosc2 decompression parameters. If None, defaults to
                {'nthreads': 1}.
            verify: Check each chunk against the checksum stored at save time the
                first time a read touches it (files without checksums are read
                unchecked). Writes switch the checks off.

        Returns:
            The opened MLArray. Call :meth:`close` to persist metadata edits made
            in a writable mode.

        Raises:
            RuntimeError: If the file extension is invalid, the file is missing or
                mode/mmap_mode is invalid for opening.
            ValueError: If the file is not a valid ``.mla`` file (FileFormatError),
                or, with ``verify``, its checksum record is unusable or a read
                touches a damaged chunk (ChecksumError, naming the chunk and region).
        """
        path = check_mla_path(filepath, must_exist=True)
        check_mode(mode, OPEN_MODES, "mode", "opening")
        check_mode(mmap_mode, OPEN_MMAP_MODES, "mmap_mode", "opening")
        opened = read_header_once(path)
        header = opened.header
        image = cls._from_file(header.meta, decompression_params(dparams))
        image._file_path, image.mode, image.mmap_mode = path, mode, mmap_mode
        image._read_only = mmap_mode == "r" or (mmap_mode is None and mode == "r")
        image._persistent = mmap_mode == "r+" or (mmap_mode is None and mode == "a")
        mapping = header.mapping
        image._checksums_current = mapping.integrity is not None and not mapping.metadata_problem
        image._pending = _PendingOpen(opened)
        image._verify_reads = verify
        meta = header.meta
        if image._persistent:
            image._stored_meta = meta.to_mapping()
        if meta._has_array.value:
            with managed_writes():
                if meta.spatial.shape is None:  # files written by other tools
                    meta.spatial.shape = list(header.shape)
                if meta.blosc2.dparams != image._dparams:  # record what reads will use
                    meta.blosc2.dparams = image._dparams
        return image

    @property
    def _store(self) -> Any:
        """The Blosc2 or NumPy array; a file from :meth:`open` is attached on first use."""
        if self._pending is not None:
            self._attach_pending()
        if self._path_identity is not None:
            self._check_not_replaced()
        return self._store_value

    @_store.setter
    def _store(self, value: Any) -> None:
        self._pending = None
        self._path_identity = None
        self._store_value = value

    def _check_not_replaced(self) -> None:
        """Refuse to read a file opened without memory mapping once it was replaced.

        Blosc2 reads such a file through its path, with the chunk index it read
        when it opened the file: after a save replaced the file, that would read
        the new file's bytes at the old offsets.

        Raises:
            MLArrayFileError: The file at the path is no longer the one opened.
        """
        assert self._file_path is not None
        if file_identity(self._file_path) != self._path_identity:
            raise MLArrayFileError(
                f"{self._file_path}: the file was replaced or changed since it was opened; "
                "with mmap_mode=None reads go through the path, so open it again (with "
                "mmap_mode='r' a reader keeps reading the file it opened)"
            )

    def _attach_pending(self) -> None:
        """Check the frame and let blosc2 open the file that :meth:`open` read the header of.

        Deferred to the first access of the data, so that opening only reads the
        header: a dataloader touching metadata (or many files) pays nothing more.
        """
        pending, self._pending = self._pending, None
        assert pending is not None
        assert self._file_path is not None
        assert self.mode is not None
        header, store, identity = open_checked(
            self._file_path,
            mode=self.mode,
            mmap_mode=self.mmap_mode,
            dparams=self._dparams,
            opened=pending.opened,
        )
        if header is not pending.opened.header:
            # Replaced (e.g. saved over) between open and this first read: attach the
            # file as it is now, metadata included, so data and metadata agree.
            if self._persistent:
                raise MLArrayFileError(
                    f"{self._file_path}: the file was replaced since it was opened for "
                    "writing; open it again"
                )
            self._meta = header.meta
        self._attach_file(self._file_path, store)
        if self._read_only and self.mmap_mode is None:
            self._path_identity = identity
        if self._verify_reads and self._store_value is not None:
            self._verifier = ChunkVerifier.for_file(self._file_path, store, header.mapping)

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

        The file is written at ``filepath`` at once (with its metadata), so it is
        a valid ``.mla`` file even if :meth:`close` is never called; writes
        through ``image[...] = ...`` go to the file.

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
                preset name: ``"fast"`` (the default: LZ4 with shuffle, LZ4HC for
                one-byte data) or ``"compact"`` (smaller files, slower reads).
            dparams: Blosc2 decompression parameters (default one thread).

        Returns:
            The new, writable MLArray.

        Raises:
            RuntimeError: If the file extension is invalid or if mode/mmap_mode is
                invalid for creation.
        """
        path = check_mla_path(filepath, must_exist=False)
        check_mode(mode, CREATE_MODES, "mode", "creating")
        check_mode(mmap_mode, CREATE_MMAP_MODES, "mmap_mode", "creating")
        image = cls(meta=meta, cparams=cparams, dparams=dparams)
        shape_tuple, np_dtype = as_shape(shape), np.dtype(dtype)

        def produce(layout: ArrayLayout | None) -> Any:
            assert layout is not None  # compressed=True always passes the layout
            storage = layout.storage_kwargs()
            return create_file_array(
                path, shape_tuple, np_dtype, mmap_mode=mmap_mode, storage=storage
            )

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
        image._persistent = True
        image._flush_metadata(integrity=None)
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

    def _attach_file(self, path: Path, store: Any) -> None:
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
        previous file untouched.

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
        if self.meta.is_seg.value is True and self._store is not None:
            check_label_store(self._store, str(path))
        atomic_write(path, self._write_file)
        if self._file_path is not None and _same_file(self._file_path, path):
            self._reopen(path)

    def _write_file(self, path: Path) -> None:
        """Write the complete ``.mla`` file (array, then metadata) at ``path``."""
        with blosc2_errors(path, "writing", writing=True):
            if self._store is None:
                blosc2.empty((0,), dtype=np.float64, urlpath=str(path), mode="w")
            elif isinstance(self._store, np.ndarray):
                self._storage_layout().compress(self._store, urlpath=path)
            else:
                self._store.save(str(path), mode="w")
            written = open_file_array(path, mode="a", mmap_mode=None, dparams=self._dparams)
            if self._store is not None:
                # meta.blosc2 describes the bytes written, also for NumPy-backed data
                # (whose record so far held only the requested parameters).
                record_layout(self.meta, self._storage_layout(), written)
            write_file_metadata(written, self.meta, integrity=chunk_checksums(written))
            del written

    def _reopen(self, path: Path) -> None:
        """Point a file-backed array at the file just written over its own path."""
        if self._store is None:
            return
        mode = "a" if self._persistent else "r"
        mmap_mode = "r+" if self.mmap_mode == "w+" else self.mmap_mode
        self._store = open_file_array(path, mode=mode, mmap_mode=mmap_mode, dparams=self._dparams)
        self.mode, self.mmap_mode = mode, mmap_mode
        self._checksums_current = True
        self._verifier = None

    def close(self) -> None:
        """Flush metadata and close the underlying store.

        Metadata edits made through a writable open (``mmap_mode='r+'``, or
        ``mode='a'`` without mmap, or :meth:`create`) are written to the file,
        with fresh per-chunk checksums (for a metadata-only file, into its empty
        placeholder array). A file opened for writing but left unchanged (same
        metadata, no writes to the array, checksums present) is not touched. After
        closing, the MLArray instance no longer has an attached array.
        """
        if self._file_path is not None and self._persistent and self._must_rewrite():
            fit_patch_to_labels(self.meta)
            self.meta.validate()
            if self._store is None:
                self._store = open_file_array(
                    self._file_path, mode="a", mmap_mode=None, dparams=self._dparams
                )
            self._flush_metadata(integrity=chunk_checksums(self._store))
            self._checksums_current = True
        self._store = None
        self._verifier = None
        self._file_path = None

    def _must_rewrite(self) -> bool:
        """Whether :meth:`close` writes the metadata.

        Not when nothing changed, nor when the metadata of a file written by
        ``mlarray`` 0.0.54 is unchanged but holds values mlarray does not write (see
        :class:`MetaCompatibilityWarning`): the file keeps its own entry then.
        """
        if self._unchanged():
            return False
        if self.meta.to_mapping() == self._stored_meta:
            try:
                self.meta.validate()
            except MLArrayError:
                return False
        return True

    def _unchanged(self) -> bool:
        """Whether a file opened for writing still holds exactly what this handle has.

        Rewriting its metadata then would only cost a pass over every chunk (the
        checksums) and expose the file to a crash in the middle of the rewrite.
        """
        return self._checksums_current and self.meta.to_mapping() == self._stored_meta

    def _flush_metadata(self, *, integrity: dict[str, Any] | None) -> None:
        assert self._file_path is not None
        with blosc2_errors(self._file_path, "writing metadata", writing=True):
            write_file_metadata(self._store, self.meta, integrity=integrity)

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
        self._file_path, self.mode, self.mmap_mode = None, None, None
        self._read_only = self._persistent = self._checksums_current = False
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
            return self._pending.shape
        store = self._store_value
        return None if store is None else tuple(store.shape)

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """Dtype of the underlying array, or None if no array is loaded."""
        if self._pending is not None:
            return self._pending.dtype
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
        if self._frame_borrowed:
            # load() lends the array the bytes it read; writes need a frame of its own.
            self._store = store = store.copy()
            self._frame_borrowed = False
        if self._persistent and self._checksums_current:
            # The stored checksums are about to go stale: drop them until close().
            self._flush_metadata(integrity=None)
            self._checksums_current = False
        self._verifier = None  # the chunks written no longer match the record
        store[key] = broadcast_to_selection(store, key, value)

    def __repr__(self) -> str:
        if self.shape is None:
            return "MLArray(no array)"
        where = f", file={str(self._file_path)!r}" if self._file_path is not None else ""
        return f"MLArray(shape={self.shape}, dtype={self.dtype}{where})"


@dataclass(frozen=True)
class _PendingOpen:
    """A file :meth:`MLArray.open` read the header of, attached on first data access."""

    opened: OpenedHeader

    @property
    def shape(self) -> tuple[int, ...] | None:
        header = self.opened.header
        return tuple(header.shape) if header.meta._has_array.value else None

    @property
    def dtype(self) -> np.dtype[Any] | None:
        header = self.opened.header
        return np.dtype(header.dtype) if header.meta._has_array.value else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
