"""The facts of the stored array in its metadata: the one module of core that writes them.

Shape (``meta.spatial.shape``), payload presence (``meta._has_array``) and
storage (``meta.blosc2``, as the 0.0.54 package records it) describe the array,
not the user's metadata: they are read-only views of one frozen record,
:class:`~mlarray_meta._facts.ArrayFacts`, and users get ``ReadOnlyFieldError``
when they write them. The backings and constructors record them through the
functions here, each a new record given to ``Meta._set_facts``; apart from the
format version, recorded when a file is written (:mod:`mlarray._file_metadata`),
no other module of core sets a Meta's facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import blosc2

from mlarray._autotune import keep_record
from mlarray._params import params_to_json
from mlarray._storage import StoragePlan, cparams_dict
from mlarray.meta import Meta

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
    meta._set_facts(replace(meta._facts, shape=tuple(shape), has_array=True))


def record_shape(meta: Meta, shape: Sequence[int]) -> None:
    """Record the shape of the array read from a file whose metadata has none."""
    meta._set_facts(replace(meta._facts, shape=tuple(shape)))


def record_header_facts(meta: Meta, shape: Sequence[int], dparams: dict[str, Any]) -> None:
    """Complete a header's metadata: the shape (files of other tools), the ``dparams`` in use."""
    if not meta._has_array.value:
        return
    if meta.spatial.shape is not None and meta.blosc2.dparams == dparams:
        return  # already recorded (most files): opening stays as cheap as reading the header
    facts = meta._facts  # record what reads will use
    known = facts.shape if facts.shape is not None else tuple(shape)
    meta._set_facts(replace(facts, shape=known, dparams=dparams))


def keep_array_facts(explicit: Meta, loaded: Meta) -> None:
    """Fill ``explicit`` from ``loaded``, whose array facts describe the array kept."""
    explicit.copy_from(loaded)
    explicit._set_facts(explicit._facts.filled_from(loaded._facts))


def clear_storage(meta: Meta) -> None:
    """Forget the storage record (an array decompressed into NumPy)."""
    meta._set_facts(
        replace(
            meta._facts,
            chunk_size=None,
            block_size=None,
            patch_size=None,
            cparams=None,
            dparams=None,
        )
    )


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
    meta._set_facts(
        replace(
            meta._facts,
            chunk_size=None if chunks is None else tuple(chunks),
            block_size=None if blocks is None else tuple(blocks),
            patch_size=_fitted_patch(plan.patch_size, meta),
            cparams=params_to_json(cparams, compression=True),
            dparams=params_to_json(plan.dparams, compression=False),
        )
    )


def fit_patch_to_labels(meta: Meta) -> None:
    """Fit ``meta.blosc2.patch_size`` to the spatial axes after the axes were relabelled."""
    facts = meta._facts
    fitted = _fitted_patch(facts.patch_size, meta)
    if fitted != facts.patch_size:
        meta._set_facts(replace(facts, patch_size=fitted))


def _fitted_patch(
    patch: tuple[int | float, ...] | None, meta: Meta
) -> tuple[int | float, ...] | None:
    """``patch`` with one value per spatial axis of ``meta`` (0.0.54 refuses other files).

    When the axes were relabelled since the layout was chosen, an isotropic request
    (the default, or an int) is spread over the new spatial axes; any other is dropped.
    """
    mask = meta.spatial.spatial_axis_mask
    if patch is None or mask is None or len(patch) == sum(mask):
        return patch
    return (patch[0],) * sum(mask) if patch and len(set(patch)) == 1 else None
