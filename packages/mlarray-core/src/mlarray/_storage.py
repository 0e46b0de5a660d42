"""How an array is stored: its storage plan (chunk/block/patch sizes, Blosc2 parameters)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._autotune import StorageChoice, automatic_choice, keep_record
from mlarray._params import AutomaticPlan, CompressionPlan, params_to_json
from mlarray.chunking import MLARRAY_DEFAULT_PATCH_SIZE, resolve_layout
from mlarray.errors import ArgumentTypeError, LayoutError, MLArrayError
from mlarray.meta import Meta, MetaBlosc2
from mlarray_meta._base import managed_writes

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_CHUNKS",
    "StoragePlan",
    "check_storable",
    "creation_errors",
    "fit_patch_to_labels",
    "plan_storage",
    "record_storage",
    "requested_patch",
]

MAX_CHUNK_BYTES = 2**31 - 1 - 32
"""Largest chunk blosc2 compresses: its buffer size limit (``BLOSC2_MAX_BUFFERSIZE``)."""
MAX_CHUNKS = MAX_CHUNK_BYTES // 8
"""Most chunks one array may have: their index (8 bytes each) is stored as one chunk."""


@dataclasses.dataclass(frozen=True)
class StoragePlan:
    """How one array is stored: its layout and its Blosc2 parameters.

    Attributes:
        chunk_size: Chunk shape, or None to let Blosc2 choose.
        block_size: Block shape, or None to let Blosc2 choose.
        patch_size: The patch size the caller asked for, one value per spatial axis
            and not clipped to the array (``meta.blosc2.patch_size``, as 0.0.54
            records it), or None when chunks and blocks were given or left to Blosc2.
        cparams: Blosc2 compression parameters.
        dparams: Blosc2 decompression parameters.
        choice: The automatic storage choice that gave chunks, blocks and
            cparams (recorded in the file by :func:`record_storage`), or None.
    """

    chunk_size: tuple[int, ...] | None
    block_size: tuple[int, ...] | None
    patch_size: tuple[int, ...] | None
    cparams: dict[str, Any]
    dparams: dict[str, Any]
    choice: StorageChoice | None = None

    @property
    def codec(self) -> str:
        """The codec's name (e.g. ``"LZ4"``)."""
        codec = self.cparams.get("codec", blosc2.Codec.ZSTD)
        return str(getattr(codec, "name", codec))

    def storage_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for blosc2's array constructors."""
        kwargs: dict[str, Any] = {"cparams": self.cparams, "dparams": self.dparams}
        if self.chunk_size is not None:
            kwargs["chunks"] = self.chunk_size
        if self.block_size is not None:
            kwargs["blocks"] = self.block_size
        return kwargs

    def compress(self, array: np.ndarray[Any, Any], *, urlpath: Path | None = None) -> Any:
        """Compress ``array`` into a Blosc2 NDArray, in memory or at ``urlpath``."""
        kwargs = self.storage_kwargs()
        if urlpath is not None:
            kwargs.update(urlpath=str(urlpath), mode="w")
        return blosc2.asarray(np.ascontiguousarray(array), **kwargs)

    @classmethod
    def from_store(cls, store: Any, meta: Meta, dparams: dict[str, Any]) -> StoragePlan:
        """Describe the storage of an existing Blosc2 NDArray."""
        patch = meta.blosc2.patch_size
        return cls(
            chunk_size=tuple(store.chunks),
            block_size=tuple(store.blocks),
            patch_size=None if patch is None else tuple(patch),
            cparams=_cparams_dict(store.schunk.cparams),
            dparams=dparams,
        )


def _cparams_dict(cparams: Any) -> dict[str, Any]:
    return {f.name: getattr(cparams, f.name) for f in dataclasses.fields(cparams)}


def check_storable(dtype: np.dtype[Any]) -> None:
    """Refuse dtypes a ``.mla`` file does not store: Python objects, structured records.

    Raises:
        ArgumentTypeError: ``dtype`` holds objects, fields or sub-arrays.
    """
    if dtype.hasobject:
        raise ArgumentTypeError(
            f"dtype {dtype}: arrays of Python objects cannot be stored; use a numeric dtype",
            path="dtype",
        )
    if dtype.names is not None or dtype.subdtype is not None:
        raise ArgumentTypeError(
            f"dtype {dtype}: structured dtypes (fields or sub-arrays) cannot be stored in a "
            ".mla file; store each field as an array of its own",
            path="dtype",
        )


def _check_limits(shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]) -> None:
    chunk_bytes = math.prod(chunks) * dtype.itemsize
    if chunk_bytes > MAX_CHUNK_BYTES:
        raise LayoutError(
            f"chunks {list(chunks)} of {dtype} take {chunk_bytes} bytes each; blosc2 compresses "
            f"at most {MAX_CHUNK_BYTES} bytes (2 GiB) per chunk: use smaller chunks"
        )
    count = math.prod(-(-side // chunk) for side, chunk in zip(shape, chunks, strict=True))
    if count > MAX_CHUNKS:
        raise LayoutError(
            f"shape {list(shape)} in chunks of {list(chunks)} makes {count} chunks; blosc2 "
            f"stores at most {MAX_CHUNKS} per array (their index, 8 bytes per chunk, is one "
            "chunk of at most 2 GiB): use larger chunks (chunk_size) or a smaller array"
        )


@contextmanager
def creation_errors(
    shape: tuple[int, ...], dtype: np.dtype[Any], plan: StoragePlan | None
) -> Iterator[None]:
    """Turn blosc2's failure to build an array into a :class:`LayoutError` saying which."""
    try:
        yield
    except MLArrayError:
        raise
    except (RuntimeError, ValueError, MemoryError) as exc:
        how = "" if plan is None else f", chunks {plan.chunk_size}, codec {plan.codec}"
        raise LayoutError(
            f"blosc2 cannot build an array of shape {list(shape)}, dtype {dtype}{how}: "
            f"{type(exc).__name__}: {exc} (is the codec available for this data?)"
        ) from exc


def plan_storage(
    meta: Meta,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    *,
    patch_size: Any,
    chunk_size: Any,
    block_size: Any,
    compression: CompressionPlan | AutomaticPlan,
    dparams: dict[str, Any],
    values: np.ndarray[Any, Any] | None = None,
) -> StoragePlan:
    """Plan the storage of a new array from the user's storage arguments.

    With an :class:`AutomaticPlan` and the array's ``values``, a layout driven by
    a patch size is tuned to them (:func:`mlarray._autotune.automatic_choice`):
    codec, level, filter and block shape chosen per array. Without values, or for
    other layouts, the plan's fallback applies.

    Without axis labels, a 4D array's first axis counts as non-spatial for the
    optimiser (channels or time first, as nnU-Net stores them). An empty array
    (a zero-length axis) left to Blosc2 gets one chunk of side ``max(1, side)``.
    The patch size recorded is the one asked for (see :func:`requested_patch`).

    Raises:
        ArgumentTypeError: If ``dtype`` cannot be stored (see :func:`check_storable`).
        LayoutError: If patch/chunk/block arguments are inconsistent, or make chunks
            or a chunk count beyond blosc2's limits (RuntimeError).
        NotImplementedError: If an explicit patch size is given for a number of
            spatial axes the optimiser does not support (UnsupportedLayoutError).
    """
    check_storable(dtype)
    fixed = compression.fallback if isinstance(compression, AutomaticPlan) else compression
    labelled = meta.spatial.axis_labels is not None
    mask = meta.spatial.spatial_axis_mask if labelled else None
    try:
        resolved = resolve_layout(
            shape,
            dtype.itemsize,
            patch_size=patch_size,
            chunk_size=chunk_size,
            block_size=block_size,
            spatial_axis_mask=mask,
            block_budget=fixed.block_budget,
        )
    except NotImplementedError:
        if patch_size != "default":
            raise
        # The default patch is a hint, not a demand: arrays the optimiser does not
        # cover (1D, 5D+, several non-spatial axes) get Blosc2's own layout.
        resolved = resolve_layout(shape, dtype.itemsize, patch_size=None)
    if 0 in shape and resolved.chunk_size is None:
        # Blosc2 would choose zero-sized chunks for an empty array, which the layout
        # metadata (and readers of the file) refuse: one chunk spans the other axes.
        unit = tuple(max(1, side) for side in shape)
        resolved = dataclasses.replace(resolved, chunk_size=unit, block_size=unit)
    if resolved.chunk_size is not None:
        _check_limits(shape, dtype, resolved.chunk_size)
    plan = StoragePlan(
        chunk_size=resolved.chunk_size,
        block_size=resolved.block_size,
        patch_size=requested_patch(
            patch_size,
            chunk_size,
            block_size,
            spatial_axes=sum(meta.spatial.spatial_axis_mask or ()),
        ),
        cparams=fixed.cparams,
        dparams=dparams,
    )
    if isinstance(compression, AutomaticPlan) and values is not None:
        choice = automatic_choice(
            values,
            patch=resolved.patch_size,
            mask=mask,
            requested_patch=plan.patch_size,
            meta_mask=meta.spatial.spatial_axis_mask if labelled else None,
        )
        if choice is not None and _within_limits(
            shape, dtype, choice.chosen.candidate.layout.chunks
        ):
            chosen = choice.chosen.candidate
            cparams = chosen.cparams(dtype.itemsize) | {"nthreads": fixed.cparams["nthreads"]}
            return dataclasses.replace(
                plan,
                chunk_size=chosen.layout.chunks,
                block_size=chosen.layout.blocks,
                cparams=cparams,
                choice=choice,
            )
    return plan


def _within_limits(shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]) -> bool:
    """Whether blosc2 can store ``shape`` in chunks of ``chunks`` (see ``_check_limits``)."""
    try:
        _check_limits(shape, dtype, chunks)
    except LayoutError:
        return False
    return True


def requested_patch(
    patch_size: Any, chunk_size: Any, block_size: Any, *, spatial_axes: int
) -> tuple[int, ...] | None:
    """The patch size asked for, as ``mlarray`` 0.0.54 records it in ``meta.blosc2``.

    ``'default'`` is 192 and an int is that side, for every spatial axis of the
    metadata (all axes when there are no labels); a sequence is kept as given. The
    value is not clipped to the array. None when the layout comes from explicit
    chunk/block sizes or from Blosc2 (``patch_size=None``).

    Args:
        patch_size: The ``patch_size`` argument, already checked by
            :func:`~mlarray.chunking.resolve_layout`.
        chunk_size: The ``chunk_size`` argument.
        block_size: The ``block_size`` argument.
        spatial_axes: Number of spatial axes in the metadata.
    """
    default = isinstance(patch_size, str) and patch_size == "default"
    if patch_size is None or (default and (chunk_size is not None or block_size is not None)):
        return None
    if default:
        return (MLARRAY_DEFAULT_PATCH_SIZE,) * spatial_axes
    if isinstance(patch_size, Sequence | np.ndarray):
        return tuple(int(side) for side in patch_size)
    return (int(patch_size),) * spatial_axes


def record_storage(meta: Meta, plan: StoragePlan, store: Any) -> None:
    """Write the storage actually used by ``store`` into ``meta.blosc2``.

    A Blosc2 ``store`` also gets the record of the automatic choice, when the
    layout came from one, stored so that the standard library reads it.
    """
    compressed = isinstance(store, blosc2.NDArray)
    if compressed:
        keep_record(store, plan.choice)
    chunks = tuple(store.chunks) if compressed else plan.chunk_size
    blocks = tuple(store.blocks) if compressed else plan.block_size
    cparams = _cparams_dict(store.schunk.cparams) if compressed else plan.cparams
    patch = _fitted_patch(plan.patch_size, meta)
    with managed_writes():
        meta.blosc2 = MetaBlosc2(
            chunk_size=None if chunks is None else list(chunks),
            block_size=None if blocks is None else list(blocks),
            patch_size=None if patch is None else list(patch),
            cparams=params_to_json(cparams, compression=True),
            dparams=params_to_json(plan.dparams, compression=False),
        )


def fit_patch_to_labels(meta: Meta) -> None:
    """Fit ``meta.blosc2.patch_size`` to the spatial axes after the axes were relabelled."""
    patch = meta.blosc2.patch_size
    fitted = _fitted_patch(None if patch is None else tuple(patch), meta)
    if fitted != (None if patch is None else tuple(patch)):
        with managed_writes():
            meta.blosc2.patch_size = None if fitted is None else list(fitted)


def _fitted_patch(patch: tuple[int, ...] | None, meta: Meta) -> tuple[int, ...] | None:
    """``patch`` with one value per spatial axis of ``meta`` (0.0.54 refuses other files).

    When the axes were relabelled since the layout was chosen, an isotropic request
    (the default, or an int) is spread over the new spatial axes; any other is dropped.
    """
    mask = meta.spatial.spatial_axis_mask
    if patch is None or mask is None or len(patch) == sum(mask):
        return patch
    return (patch[0],) * sum(mask) if patch and len(set(patch)) == 1 else None
