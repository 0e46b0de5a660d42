"""The :class:`MLArray` container: an N-D array with standardized metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray._array_facts import clear_storage, fit_patch_to_labels, keep_array_facts
from mlarray._backing import NO_ARRAY, Backing
from mlarray._coerce import as_ndarray, coerce_meta
from mlarray._constructors import Constructors
from mlarray._edit import close_at_exit, close_quietly
from mlarray._file_backing import FileBacking
from mlarray._file_constructors import FileConstructors
from mlarray._labels import check_label_store
from mlarray._limits import check_storable
from mlarray._local_file import LocalFile
from mlarray._memory import NumpyBacking, in_memory, new_array, of_values, unpickled
from mlarray._paths import (
    check_mla_path,
)
from mlarray._spatial_properties import SpatialProperties, apply_explicit
from mlarray._staging import atomic_write
from mlarray._storage import StorageSpec
from mlarray.errors import ArgumentTypeError, MLArrayFileError, ReadOnlyFieldError
from mlarray.meta import AxisLabel, Meta
from mlarray_meta.meta import meta_from_file

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["MLArray"]

PathLike = str | os.PathLike[str]


class MLArray(Constructors, FileConstructors, SpatialProperties):
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
            self.__dict__.update(
                type(self).load(array, dparams=dparams, compressed=compressed).__dict__
            )
            if meta is not None:  # the fields that meta sets win, the file fills the others
                explicit = coerce_meta(meta)
                keep_array_facts(explicit, self.meta)  # the file's shape and layout stay
                self._meta = explicit
        else:
            self._init_state(coerce_meta(meta), spec)
        geometry = {"spacing": spacing, "origin": origin, "direction": direction, "affine": affine}
        apply_explicit(self.meta.spatial, **geometry, axis_labels=axis_labels)
        if copy is not None:
            if not isinstance(copy, MLArray):
                raise ArgumentTypeError(
                    f"copy: expected an MLArray, got {type(copy).__name__}", path="copy"
                )
            # Explicit arguments win; MetaSpatial.copy_from keeps their geometry form.
            self.meta.copy_from(copy.meta)
        if array is not None and not isinstance(array, (str, os.PathLike)):
            self._set_array(as_ndarray(array))

    # ------------------------------------------------------------------ set-up
    def _init_state(self, meta: Meta, spec: StorageSpec, backing: Backing = NO_ARRAY) -> None:
        """Set every instance attribute."""
        self._meta = meta
        self._backing = backing  # the array, and what state it is in (see _backing.py)
        self.mode: str | None = None
        self.mmap_mode: str | None = None
        self._spec = spec  # the storage arguments, for arrays made from now on

    @classmethod
    def _of(cls, meta: Meta, spec: StorageSpec, backing: Backing) -> MLArray:
        """An instance holding ``meta`` and ``backing`` (skips argument handling)."""
        image = cls.__new__(cls)
        image._init_state(meta, spec, backing)
        return image

    def _set_array(self, values: np.ndarray[Any, Any]) -> None:
        """Attach ``values``, stored as the storage arguments say."""
        made = new_array(
            self.meta, self._spec, values.shape, values.dtype, of_values(values), values=values
        )
        self._backing = in_memory(*made)

    # ------------------------------------------------------------ save and close
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
        backing = self._backing
        if backing.dtype is not None:
            check_storable(backing.dtype)
        with backing.whole_reads():
            if self.meta.is_seg.value is True and backing.array is not None:
                check_label_store(backing.array, str(path))
            atomic_write(path, lambda target: backing.save(target, self.meta, self._spec.dparams))
        if isinstance(backing, LocalFile) and _same_file(backing, path):
            self._backing = backing = backing.reopened(path)  # read what was just written
            if backing.edits:
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
        backing = self._backing
        try:
            backing.store_edit(self.meta)
        except MLArrayFileError:
            self._release()  # the file is unchanged; this handle cannot go on
            raise
        self._release()
        backing.check_closed(self.meta)

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
        backing = getattr(self, "_backing", None)
        if backing is not None and backing.edits:
            close_quietly(self)

    def _release(self) -> None:
        """Let go of the file: drop the array, discard any edit not stored."""
        self._backing.release()
        self._backing = NO_ARRAY

    # ----------------------------------------------------------- representations
    def to_numpy(self) -> np.ndarray[Any, Any]:
        """Return the underlying data as a NumPy array.

        Returns:
            A view of the data when it is held uncompressed, else a decompressed copy.

        Raises:
            TypeError: If no array data is loaded.
        """
        return self._backing.to_numpy()

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
        array = self._backing.to_numpy()
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
        backing = self._backing
        array = backing.to_numpy()
        plan = backing.plan(self.meta.blosc2.patch_size, self._spec.dparams)  # to compress on save
        self._detach()
        self._backing = NumpyBacking(array, plan)
        clear_storage(self.meta)

    def _detach(self) -> None:
        """Become an in-memory object: let go of the file (an edit not stored is discarded)."""
        self._release()
        self.mode, self.mmap_mode = None, None

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
        location = self._backing.location
        return None if location is None else str(location)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the underlying array, or None if no array is loaded."""
        return self._backing.shape

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """Dtype of the underlying array, or None if no array is loaded."""
        return self._backing.dtype

    # ------------------------------------------------------------- array access
    def __getitem__(self, key: Any) -> Any:
        return self._backing.read(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            self._backing = self._backing.write(key, value)
        except MLArrayFileError:
            if self._backing.edits:
                self._release()  # the file is unchanged; this handle cannot go on
            raise

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> Any:
        """NumPy's array protocol: the data as an ndarray.

        Args:
            dtype: Convert to this dtype.
            copy: As in NumPy 2: True always returns a new array, None copies only
                when needed, False never copies.

        Raises:
            ValueError: If ``copy`` is False but the data is held compressed or a
                dtype conversion is asked for (a copy cannot be avoided).
        """
        array = self._backing.to_numpy()
        fresh = array is not self._backing.array  # decompressed just now: already a copy
        converts = dtype is not None and np.dtype(dtype) != array.dtype
        if copy is False and (fresh or converts):
            raise ValueError(
                f"{self!r}: the data cannot be returned without a copy (it is held "
                f"compressed or needs a dtype conversion); use copy=None"
            )
        if converts:
            return array.astype(dtype)
        return array.copy() if copy and not fresh else array

    def __len__(self) -> int:
        shape = self._backing.require("take len()").shape
        if not shape:
            raise TypeError("len() of a 0-d MLArray")
        return int(shape[0])

    def __iter__(self) -> Iterator[Any]:
        for index in range(self._backing.require("iterate").shape[0]):
            yield self[index]

    def read_patches(
        self,
        starts: Sequence[Sequence[int]],
        size: int | Sequence[int],
        *,
        out: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, Any]:
        """Read many patches of one size in one call, e.g. a dataloader batch.

        Each patch decodes straight into its row of the result, so with a reused
        ``out`` nothing is allocated per batch.

        Args:
            starts: One start per patch: an index per array axis, or one per spatial
                axis (non-spatial axes such as channels are then read whole).
            size: The patch size: an int for every spatial axis, one value per
                spatial axis, or one value per array axis.
            out: Optional C-contiguous array of shape ``(len(starts), *patch)`` and
                the array's dtype to fill; a new one is allocated when None.

        Returns:
            The patches, stacked along a new first axis.

        Raises:
            TypeError: If no array data is loaded, or ``out`` does not fit.
            ValueError: If a patch has the wrong number of indices or leaves the array.
            ChecksumError: The file was opened with ``verify=True`` and a chunk a patch
                touches does not match its checksum (nothing is returned).
        """
        mask = self.meta.spatial.spatial_axis_mask
        return self._backing.read_patches(starts, size, mask, out)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        """Pickle support, for dataloader workers started with ``spawn``.

        A file opened read-only (or copy-on-write, before any write) pickles as its
        path and open arguments and is opened again by the receiving process, which
        then maps the file itself (a remote file: opens its own session); an
        in-memory array (or a copy-on-write one written to) pickles its data.

        Raises:
            MLArrayFileError: For a file opened for writing: a second process writing
                the same file in place would corrupt it.
        """
        state = {"meta": self.meta.to_mapping(), "spec": self._spec}
        return {**state, **self._backing.pickled()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        meta = meta_from_file(state["meta"], source="an unpickled MLArray", warn=False)
        spec = state["spec"]
        if "file" in state:
            opened = type(self).open(
                state["file"],
                mode=state["mode"],
                mmap_mode=state["mmap_mode"],
                dparams=spec.dparams,
                verify=state["verify"],
                **state["remote"],
            )
            self.__dict__.update(opened.__dict__)
            assert isinstance(self._backing, FileBacking)
            self._meta = self._backing.meta = meta  # the metadata as the sender had it
            return
        self._init_state(meta, spec, unpickled(state, spec.dparams))

    def __repr__(self) -> str:
        return self._backing.describe()


def _same_file(backing: LocalFile, path: Path) -> bool:
    assert isinstance(backing.location, Path)
    try:
        return backing.location.resolve() == path.resolve()
    except OSError:
        return False
