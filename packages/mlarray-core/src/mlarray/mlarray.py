"""The :class:`MLArray` container: an N-D array with standardized metadata."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray import chunking
from mlarray._access import ArrayAccess
from mlarray._coerce import as_ndarray, broadcast_to_selection, coerce_meta
from mlarray._constructors import Constructors, as_shape
from mlarray._edit import EditSession, close_at_exit, close_quietly
from mlarray._file_backing import FileBacking
from mlarray._file_metadata import write_file_metadata
from mlarray._frame_check import parse_dtype
from mlarray._integrity import ChunkVerifier, chunk_checksums
from mlarray._labels import check_label_store
from mlarray._limits import check_storable, creation_errors
from mlarray._opened import load_checked
from mlarray._paths import (
    CREATE_MMAP_MODES,
    CREATE_MODES,
    check_mla_path,
    check_mode,
)
from mlarray._pickling import Picklable
from mlarray._remote import CacheArgument, Url
from mlarray._spatial_properties import SpatialProperties, apply_explicit
from mlarray._staging import atomic_write
from mlarray._storage import StoragePlan, StorageSpec
from mlarray._storage_record import fit_patch_to_labels, record_storage
from mlarray.errors import (
    ArgumentTypeError,
    FileFormatError,
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


class MLArray(Constructors, SpatialProperties, ArrayAccess, Picklable):
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
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        if isinstance(array, (str, os.PathLike)):
            self._init_state(Meta(), spec)
            self._adopt(type(self).load(array, dparams=dparams, compressed=compressed))
            self._apply_arguments(meta, spacing, origin, direction, affine, axis_labels, copy)
            return
        self._init_state(coerce_meta(meta), spec)
        self._apply_arguments(None, spacing, origin, direction, affine, axis_labels, copy)
        if array is not None:
            self._set_array(as_ndarray(array))

    # ------------------------------------------------------------------ set-up
    def _init_state(self, meta: Meta, spec: StorageSpec) -> None:
        """Set every instance attribute: an in-memory MLArray without array data."""
        self._meta = meta
        self._store_value: Any = None  # NumPy, Blosc2 or remote array; None: none (yet)
        self._file: FileBacking | None = None  # the file the array comes from
        self._plan: StoragePlan | None = None
        self._frame_borrowed = False  # the Blosc2 array reads bytes it does not own
        self.mode: str | None = None
        self.mmap_mode: str | None = None
        self._spec = spec  # the storage arguments, for arrays made from now on

    @classmethod
    def _from_file(cls, meta: Meta, spec: StorageSpec) -> MLArray:
        """A blank instance for :meth:`open`/:meth:`load` (skips argument handling)."""
        image = cls.__new__(cls)
        image._init_state(meta, spec)
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
        apply_explicit(
            self.meta.spatial,
            spacing=spacing,
            origin=origin,
            direction=direction,
            affine=affine,
            axis_labels=axis_labels,
        )
        if copy is not None:
            if not isinstance(copy, MLArray):
                raise ArgumentTypeError(
                    f"copy: expected an MLArray, got {type(copy).__name__}", path="copy"
                )
            # Explicit arguments win; MetaSpatial.copy_from keeps their geometry form.
            self.meta.copy_from(copy.meta)

    def _set_array(self, array: np.ndarray[Any, Any]) -> None:
        """Attach ``array``, stored as the storage arguments say."""
        self._attach_new(
            array.shape,
            array.dtype,
            lambda plan: array if plan is None else plan.compress(array),
            values=array,
        )

    def _attach_new(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        produce: Callable[[StoragePlan | None], Any],
        *,
        values: np.ndarray[Any, Any] | None = None,
    ) -> None:
        """Plan the storage of a new array and attach what ``produce`` makes.

        ``produce(plan)`` returns a Blosc2 NDArray stored as planned;
        ``produce(None)`` returns a NumPy array (``compressed=False``). The
        array's ``values``, when known, let the storage be chosen for them.
        The storage arguments are those of ``self._spec``.
        """
        with managed_writes():
            self.meta.spatial.shape = list(shape)
            self.meta._has_array.set(True)
        plan = self._plan = self._spec.plan(self.meta, shape, dtype, values=values)
        compressed = self._spec.compressed
        how = f", chunks {plan.chunk_size}, codec {plan.codec}" if compressed else ""
        with creation_errors(shape, dtype, how):
            self._store = produce(plan if compressed else None)
        self._frame_borrowed = False
        record_storage(self.meta, self._plan, self._store)

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
        spec = StorageSpec.of(dparams=dparams)
        file = FileBacking.open(
            filepath,
            mode=mode,
            mmap_mode=mmap_mode,
            dparams=spec.dparams,
            verify=verify,
            storage_options=storage_options,
            cache=cache,
        )
        assert file.opened is not None
        image = cls._from_file(file.opened.header.meta, spec)
        image._file, image.mode, image.mmap_mode = file, mode, mmap_mode
        if file.session is not None:
            close_at_exit(image)
        return image

    @property
    def _store(self) -> Any:
        """The Blosc2 or NumPy array; a file from :meth:`open` is attached on first use.

        Deferred to the first access of the data, so that opening only reads the
        header: a dataloader touching metadata (or many files) pays nothing more.
        """
        file = self._file
        if file is not None and file.pending:
            self._store_value = None
            self._attach_file(file.path, file.attach(self._spec.dparams))
            self._frame_borrowed = file.mapped
            if self._store_value is not None:
                file.start_checks(self._store_value)
        return self._store_value

    @_store.setter
    def _store(self, value: Any) -> None:
        if self._file is not None:
            self._file.pending = False
        self._store_value = value

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
        image = cls(
            meta=meta,
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            cparams=cparams,
            dparams=dparams,
        )
        shape_tuple, np_dtype = as_shape(shape), np.dtype(dtype)

        file = FileBacking(path, read_only=False)

        def produce(plan: StoragePlan | None) -> Any:
            assert plan is not None  # compressed=True always passes the plan
            file.session, store = EditSession.create(
                path, shape_tuple, np_dtype, plan.storage_kwargs()
            )
            return store

        image._attach_new(shape_tuple, np_dtype, produce)
        image._file, image.mode, image.mmap_mode = file, mode, mmap_mode
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
        spec = StorageSpec.of(dparams=dparams)
        header, store = load_checked(path, dparams=spec.dparams)
        image = cls._from_file(header.meta, spec)
        image._attach_file(path, store)
        image._frame_borrowed = True
        if verify and image._store is not None:
            verifier = ChunkVerifier.for_file(path, store, header.mapping)
            if verifier is not None:
                verifier.check_all()
        if compressed is False and image._store is not None:
            image._storage_plan()  # how to compress it again on save
            image._store = image._decompressed()
        return image

    def _attach_file(self, path: Path | Url, store: Any) -> None:
        """Attach a store read from ``path``, whose header gave ``self.meta``."""
        meta = self.meta
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
        actual = (list(store.chunks), list(store.blocks), self._spec.dparams)
        if recorded != actual:
            # Other dparams, or a file written by another tool: record what is in use.
            record_storage(meta, self._storage_plan(), store)

    def _storage_plan(self) -> StoragePlan:
        """How the array is (or will be) compressed; read from the store when unknown."""
        if self._plan is None:
            self._plan = StoragePlan.from_store(
                self._store, self.meta.blosc2.patch_size, self._spec.dparams
            )
        return self._plan

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
        if self._file is not None and _same_file(self._file.path, path):
            self._reopen(path)

    def _write_file(self, path: Path) -> None:
        """Write the complete ``.mla`` file (array, then metadata) at ``path``."""
        if self._store is None:
            blosc2.empty((0,), dtype=np.float64, urlpath=str(path), mode="w")
        elif isinstance(self._store, np.ndarray):
            self._storage_plan().compress(self._store, urlpath=path)
        else:
            self._store.save(str(path), mode="w")
        written = blosc2.open(str(path), mode="a", dparams=self._spec.dparams)
        if self._store is not None:
            # meta.blosc2 describes the bytes written, also for NumPy-backed data
            # (whose record so far held only the requested parameters).
            record_storage(self.meta, self._storage_plan(), written)
        write_file_metadata(written, self.meta, integrity=chunk_checksums(written))

    def _reopen(self, path: Path) -> None:
        """Read the file just written over this handle's own file from now on."""
        assert self._file is not None
        mapped = self.mmap_mode is not None
        self._file = file = self._file.reopened(path, mapped=mapped, meta=self.meta)
        self._store_value = None
        self._frame_borrowed = False
        if file.session is not None:
            self.mode = "a" if self.mode == "w" else self.mode
            self.mmap_mode = "r+" if self.mmap_mode == "w+" else self.mmap_mode
            close_at_exit(self)

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
        file = self._file
        if file is None:
            self._release()
            return
        try:
            file.store_edit(self.meta, self._spec.dparams)
        except MLArrayFileError:
            self._release()  # the file is unchanged; this handle cannot go on
            raise
        self._release()
        file.check_unedited(self.meta)

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
        file = getattr(self, "_file", None)
        if file is not None and file.session is not None:
            close_quietly(self)

    def _release(self) -> None:
        """Let go of the file: drop the array, discard any edit not stored."""
        if self._file is not None:
            self._file.end_edit()
        self._file = None
        self._store_value = None

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
        self._spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams)
        self._detach()
        self._set_array(array)

    def decompress(self) -> None:
        """Decompress this MLArray in-place to a NumPy-backed array.

        The instance is detached from any previously opened file state and becomes
        an in-memory object. Persist changes by calling save(). meta.blosc2
        metadata is cleared.

        Raises:
            TypeError: If no array data is loaded.
        """
        array = self._decompressed()
        self._storage_plan()  # how to compress it again on save
        self._detach()
        self._store = array
        with managed_writes():
            self.meta.blosc2.reset()

    def _detach(self) -> None:
        if self._file is not None:
            self._file.end_edit()
        self._file, self.mode, self.mmap_mode = None, None, None

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
        return None if self._file is None else str(self._file.path)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the underlying array, or None if no array is loaded."""
        file = self._file
        if file is not None and file.pending:
            assert file.opened is not None
            header = file.opened.header
            return tuple(header.shape) if header.meta._has_array.value else None
        store = self._store_value
        return None if store is None else tuple(store.shape)

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """Dtype of the underlying array, or None if no array is loaded."""
        file = self._file
        if file is not None and file.pending:
            assert file.opened is not None
            header = file.opened.header
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
        file = self._file
        if file is not None and file.read_only:
            raise ReadOnlyError(
                f"{file.path}: opened read-only (mode={self.mode!r}, "
                f"mmap_mode={self.mmap_mode!r}); open with mmap_mode='r+' to write"
            )
        value = broadcast_to_selection(store, key, value)
        if file is not None and file.session is not None:
            try:
                written = file.write(key, value, self._spec.dparams)
            except MLArrayFileError:
                self._release()  # the file is unchanged; this handle cannot go on
                raise
            if written is not self._store_value:
                self._store, self._frame_borrowed = written, False
            return
        if file is not None:
            file.verifier = None  # the chunks written no longer match the record
        if self._frame_borrowed:
            # The array reads bytes it does not own (a mapped file, a loaded file):
            # writes need a frame of its own (copy-on-write for mmap_mode='c').
            self._store = store = store.copy()
            self._frame_borrowed = False
        store[key] = value

    def __repr__(self) -> str:
        if self.shape is None:
            return "MLArray(no array)"
        where = f", file={self.filepath!r}" if self._file is not None else ""
        return f"MLArray(shape={self.shape}, dtype={self.dtype}{where})"


def _same_file(a: Path | Url, b: Path) -> bool:
    if isinstance(a, Url):
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
