"""The facts of the stored array in its metadata: the one module of core that writes them.

Shape (``meta.spatial.shape``), payload presence (``meta._has_array``) and
storage (``meta.blosc2``, as the 0.0.54 package records it) describe the array,
not the user's metadata: users get ``ReadOnlyFieldError`` when they write them.
The backings and constructors record them through the functions here; apart
from the format version, recorded when a file is written
(:mod:`mlarray._file_metadata`), no other module of core opens
:func:`~mlarray_meta._base.managed_writes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import blosc2

from mlarray._autotune import keep_record
from mlarray._params import params_to_json
from mlarray._storage import StoragePlan, cparams_dict
from mlarray.meta import Meta, MetaBlosc2
from mlarray_meta._base import managed_writes

__all__ = [
    "clear_storage",
    "fit_patch_to_labels",
    "keep_array_facts",
    "record_header_facts",
    "record_new_array",
    "record_shape",
    "record_storage",
]


def record_new_array(meta: Meta, shape: tuple[int, ...]) -> None:
    """Record that ``meta`` describes a new array of ``shape``."""
    with managed_writes():
        meta.spatial.shape = list(shape)
        meta._has_array.set(True)


def record_shape(meta: Meta, shape: Sequence[int]) -> None:
    """Record the shape of the array read from a file whose metadata has none."""
    with managed_writes():
        meta.spatial.shape = list(shape)


def record_header_facts(meta: Meta, shape: Sequence[int], dparams: dict[str, Any]) -> None:
    """Complete a header's metadata: the shape (files of other tools), the ``dparams`` in use."""
    if meta._has_array.value:
        with managed_writes():
            if meta.spatial.shape is None:
                meta.spatial.shape = list(shape)
            if meta.blosc2.dparams != dparams:  # record what reads will use
                meta.blosc2.dparams = dparams


def keep_array_facts(explicit: Meta, loaded: Meta) -> None:
    """Fill ``explicit`` from ``loaded``, whose array facts describe the array kept."""
    with managed_writes():
        explicit.copy_from(loaded)


def clear_storage(meta: Meta) -> None:
    """Forget the storage record (an array decompressed into NumPy)."""
    with managed_writes():
        meta.blosc2.reset()


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
    cparams = cparams_dict(store.schunk.cparams) if compressed else plan.cparams
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
