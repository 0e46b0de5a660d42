"""The storage of an array as ``meta.blosc2`` records it, as the 0.0.54 package does."""

from __future__ import annotations

from typing import Any

import blosc2

from mlarray._autotune import keep_record
from mlarray._params import params_to_json
from mlarray._storage import StoragePlan, cparams_dict
from mlarray.meta import Meta, MetaBlosc2
from mlarray_meta._base import managed_writes

__all__ = ["fit_patch_to_labels", "record_storage"]


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
