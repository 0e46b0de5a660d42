"""Array-creation classmethods of :class:`~mlarray.MLArray` (``zeros``, ``arange``...).

Compressed arrays are built by blosc2 chunk by chunk, so creating a large array
never holds it uncompressed in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import blosc2
import numpy as np

from mlarray import chunking
from mlarray._coerce import coerce_meta
from mlarray._memory import in_memory, new_array, of_values
from mlarray._storage import StorageSpec
from mlarray.errors import ArgumentTypeError, ArgumentValueError

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import DTypeLike

    from mlarray._backing import Backing
    from mlarray._storage import StoragePlan
    from mlarray.meta import Meta

__all__ = ["Constructors", "as_shape"]

M = TypeVar("M", bound="Constructors")
Sizes = int | list[int] | tuple[int, ...] | None


def as_shape(shape: Any) -> tuple[int, ...]:
    """Return ``shape`` (an int or a sequence) as a tuple of non-negative ints."""
    values = (shape,) if isinstance(shape, (int, np.integer)) else tuple(np.asarray(shape).ravel())
    if any(not float(v).is_integer() or v < 0 for v in values):
        raise ArgumentValueError(
            f"shape: expected non-negative integers, got {list(values)}", path="shape"
        )
    return tuple(int(v) for v in values)


def _like_source(x: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is None or dtype is None:
        raise ArgumentTypeError(
            f"x: expected an MLArray or an array-like with shape and dtype, got {type(x).__name__}",
            path="x",
        )
    return tuple(shape), np.dtype(dtype)


def _reshaped(values: np.ndarray[Any, Any], shape: Any, c_order: bool, what: str) -> Any:
    if shape is None:
        return values
    target = as_shape(shape)
    if int(np.prod(target)) != values.size:
        raise ArgumentValueError(
            f"shape: {list(target)} holds {int(np.prod(target))} values but {what} "
            f"gives {values.size}",
            path="shape",
        )
    return values.reshape(target, order="C" if c_order else "F")


class Constructors:
    """The array-creation classmethods of MLArray; they reach it only through ``_of``."""

    if TYPE_CHECKING:  # MLArray._of

        @classmethod
        def _of(cls: type[M], meta: Meta, spec: StorageSpec, backing: Backing) -> M: ...

    @classmethod
    def _filled(
        cls: type[M], shape: Any, dtype: DTypeLike, fill: Any, meta: Any, spec: StorageSpec
    ) -> M:
        """Build an array of ``shape`` filled with ``fill`` (None: uninitialised)."""
        shape_tuple, np_dtype = as_shape(shape), np.dtype(dtype)

        def produce(plan: StoragePlan | None) -> Any:
            if plan is None:
                if fill is None:
                    return np.empty(shape_tuple, dtype=np_dtype)
                return np.full(shape_tuple, fill, dtype=np_dtype)
            if fill is None:
                return blosc2.empty(shape_tuple, dtype=np_dtype, **plan.storage_kwargs())
            return blosc2.full(shape_tuple, fill, dtype=np_dtype, **plan.storage_kwargs())

        return cls._made(meta, spec, shape_tuple, np_dtype, produce)

    @classmethod
    def _from_values(cls: type[M], values: np.ndarray[Any, Any], meta: Any, spec: StorageSpec) -> M:
        produce = of_values(values)
        return cls._made(meta, spec, values.shape, values.dtype, produce, values=values)

    @classmethod
    def _made(
        cls: type[M],
        meta: Meta | dict[str, Any] | None,
        spec: StorageSpec,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        produce: Callable[[StoragePlan | None], Any],
        values: np.ndarray[Any, Any] | None = None,
    ) -> M:
        """A new in-memory array made by ``produce`` (see :func:`~mlarray._memory.new_array`)."""
        metadata = coerce_meta(meta)
        made = new_array(metadata, spec, shape, dtype, produce, values=values)
        return cls._of(metadata, spec, in_memory(*made))

    @classmethod
    def empty(
        cls: type[M],
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        dtype: DTypeLike,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray with uninitialized values.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            shape: Shape of the output array.
            dtype: Numpy dtype for the output array.
            meta: Optional metadata; a dict is stored as ``meta.source``.

        Returns:
            A newly created in-memory MLArray instance.
        """
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, dtype, None, meta, spec)

    @classmethod
    def zeros(
        cls: type[M],
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        dtype: DTypeLike,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray filled with zeros.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            shape: Shape of the output array.
            dtype: Numpy dtype for the output array.
            meta: Optional metadata attached to the created MLArray.

        Returns:
            A newly created in-memory MLArray instance.
        """
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, dtype, 0, meta, spec)

    @classmethod
    def ones(
        cls: type[M],
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray filled with ones.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            shape: Shape of the output array.
            dtype: Numpy dtype for the output array. If None, uses
                ``blosc2.DEFAULT_FLOAT``.
            meta: Optional metadata attached to the created MLArray.

        Returns:
            A newly created in-memory MLArray instance.
        """
        dtype = blosc2.DEFAULT_FLOAT if dtype is None else dtype
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, dtype, 1, meta, spec)

    @classmethod
    def full(
        cls: type[M],
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        fill_value: bytes | int | float | bool,
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray filled with ``fill_value``.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            shape: Shape of the output array.
            fill_value: Fill value used for all elements in the output.
            dtype: Numpy dtype for the output array. If None, inferred from
                ``fill_value``.
            meta: Optional metadata attached to the created MLArray.

        Returns:
            A newly created in-memory MLArray instance.
        """
        dtype = np.asarray(fill_value).dtype if dtype is None else dtype
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, dtype, fill_value, meta, spec)

    @classmethod
    def arange(
        cls: type[M],
        start: int | float,
        stop: int | float | None = None,
        step: int | float | None = 1,
        dtype: DTypeLike | None = None,
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any] | None = None,
        c_order: bool = True,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = None,
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray with evenly spaced values.

        Behavior mirrors :func:`blosc2.arange` while also applying MLArray metadata
        and chunk/block optimization settings.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            start: Start of interval. If stop is None, this value is treated as
                stop and start becomes 0.
            stop: End of interval (exclusive).
            step: Spacing between values.
            dtype: Output dtype. If None, inferred from start/stop/step.
            shape: Target output shape. If None, the result is one-dimensional.
            c_order: Fill the shape in C order (row-major) if True, else Fortran order.
            meta: Optional metadata attached to the created MLArray.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            ValueError: If shape is inconsistent with start/stop/step.
        """
        if stop is None:
            start, stop = 0, start
        values = np.arange(start, stop, 1 if step is None else step, dtype=dtype)
        values = _reshaped(values, shape, c_order, "arange(start, stop, step)")
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._from_values(values, meta, spec)

    @classmethod
    def linspace(
        cls: type[M],
        start: int | float | complex,
        stop: int | float | complex,
        num: int | None = None,
        dtype: DTypeLike | None = None,
        endpoint: bool = True,
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any] | None = None,
        c_order: bool = True,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = None,
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray with evenly spaced samples.

        Behavior mirrors :func:`blosc2.linspace` while also applying MLArray
        metadata and chunk/block optimization settings.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            start: Start value of the sequence.
            stop: End value of the sequence.
            num: Number of samples. Required when shape is None.
            dtype: Output dtype. If None, inferred from start and stop.
            endpoint: Whether stop is included.
            shape: Target output shape. If None, inferred from num.
            c_order: Fill the shape in C order (row-major) if True, else Fortran order.
            meta: Optional metadata attached to the created MLArray.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            ValueError: If neither shape nor num is specified, or if the provided
                shape and num are inconsistent.
        """
        if num is None and shape is None:
            raise ArgumentValueError("linspace: give num or shape (neither was given)", path="num")
        if num is None:
            num = int(np.prod(as_shape(shape)))
        values = np.linspace(start, stop, num=num, endpoint=endpoint, dtype=dtype)
        values = _reshaped(values, shape, c_order, f"num={num}")
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._from_values(values, meta, spec)

    @classmethod
    def asarray(
        cls: type[M],
        array: np.ndarray[Any, Any],
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Convert a NumPy array into an in-memory Blosc2-backed MLArray.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            array: Input array to convert to MLArray.
            meta: Optional metadata; a dict is stored as ``meta.source``.

        Returns:
            A newly created MLArray instance.

        Raises:
            TypeError: If array is not a NumPy ndarray.
            ValueError: If meta is not None, dict, or Meta.
            RuntimeError: If patch/chunk/block arguments are inconsistent.
            NotImplementedError: If automatic patch optimization is not implemented
                for the provided dimensionality.
        """
        if not isinstance(array, np.ndarray):
            raise ArgumentTypeError(
                f"array: expected a NumPy ndarray, got {type(array).__name__}", path="array"
            )
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._from_values(array, meta, spec)

    @classmethod
    def _like(
        cls: type[M], x: Any, dtype: DTypeLike | None, meta: Any
    ) -> tuple[tuple[int, ...], np.dtype[Any], Any]:
        shape, source_dtype = _like_source(x)
        if meta is None and isinstance(x, cls):
            meta = getattr(x, "meta", None)
        return shape, source_dtype if dtype is None else np.dtype(dtype), meta

    @classmethod
    def empty_like(
        cls: type[M],
        x: Any,
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray with the same shape as x.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            x: Source object: an MLArray or any array-like exposing shape and dtype.
            dtype: Output dtype. If None, inferred from x.
            meta: Optional metadata. If x is an MLArray and meta is None, metadata
                is copied from x.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            TypeError: If x is not an MLArray and has no shape/dtype.
        """
        shape, np_dtype, meta = cls._like(x, dtype, meta)
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, np_dtype, None, meta, spec)

    @classmethod
    def zeros_like(
        cls: type[M],
        x: Any,
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray of zeros with the same shape as x.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            x: Source object: an MLArray or any array-like exposing shape and dtype.
            dtype: Output dtype. If None, inferred from x.
            meta: Optional metadata. If x is an MLArray and meta is None, metadata
                is copied from x.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            TypeError: If x is not an MLArray and has no shape/dtype.
        """
        shape, np_dtype, meta = cls._like(x, dtype, meta)
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, np_dtype, 0, meta, spec)

    @classmethod
    def ones_like(
        cls: type[M],
        x: Any,
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray of ones with the same shape as x.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            x: Source object: an MLArray or any array-like exposing shape and dtype.
            dtype: Output dtype. If None, inferred from x.
            meta: Optional metadata. If x is an MLArray and meta is None, metadata
                is copied from x.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            TypeError: If x is not an MLArray and has no shape/dtype.
        """
        shape, np_dtype, meta = cls._like(x, dtype, meta)
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, np_dtype, 1, meta, spec)

    @classmethod
    def full_like(
        cls: type[M],
        x: Any,
        fill_value: bool | int | float | complex,
        dtype: DTypeLike | None = None,
        meta: Meta | dict[str, Any] | None = None,
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: Sizes = None,
        block_size: Sizes = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
    ) -> M:
        """Create an in-memory MLArray filled with fill_value and shape of x.

        The storage arguments (``patch_size``, ``chunk_size``, ``block_size``,
        ``cparams``, ``dparams``, ``compressed``) are those of :class:`~mlarray.MLArray`.

        Args:
            x: Source object: an MLArray or any array-like exposing shape and dtype.
            fill_value: Fill value used for all elements in the output.
            dtype: Output dtype. If None, inferred from x.
            meta: Optional metadata. If x is an MLArray and meta is None, metadata
                is copied from x.

        Returns:
            A newly created in-memory MLArray instance.

        Raises:
            TypeError: If x is not an MLArray and has no shape/dtype.
        """
        shape, np_dtype, meta = cls._like(x, dtype, meta)
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams, compressed)
        return cls._filled(shape, np_dtype, fill_value, meta, spec)

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
