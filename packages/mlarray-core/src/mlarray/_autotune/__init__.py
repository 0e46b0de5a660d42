"""Per-array choice of codec, filter and layout, made when an array is compressed.

Without ``cparams`` or a preset, an array is stored with the candidate predicted
to read patches fastest among those at least as compact as the ``mlarray``
0.0.54 package's default (:mod:`._choice`). Ratios come from compressing a few
sample blocks spread over the array at positions fixed by its shape
(:mod:`._sampling`), read times from a model calibrated offline (:mod:`._cost`):
nothing depends on a clock, so the same array always gets the same storage. The
choice and the figures behind it are recorded in the file (:mod:`._record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlarray._autotune._choice import Candidate, StorageChoice, Trial, choose_storage
from mlarray._autotune._record import RECORD_KEY, keep_record, record_json, write_record
from mlarray.chunking import spatial_mask

__all__ = [
    "MIN_TUNED_BYTES",
    "RECORD_KEY",
    "Candidate",
    "StorageChoice",
    "Trial",
    "automatic_choice",
    "choose_storage",
    "keep_record",
    "record_json",
    "write_record",
]

MIN_TUNED_BYTES = 8 * 1024 * 1024
"""Smaller arrays keep the ``fast`` preset: sampling (at least four blocks per setting)
would cost more than 10% of compressing them."""
TUNED_KINDS = frozenset("biuf")
"""NumPy dtype kinds tuned: booleans, integers, floats."""


def automatic_choice(
    values: np.ndarray[Any, Any],
    *,
    patch: Sequence[int] | None,
    mask: Sequence[bool] | None,
    requested_patch: Sequence[float] | None,
    meta_mask: Sequence[bool] | None,
) -> StorageChoice | None:
    """The choice for ``values`` in a layout driven by a patch size; None when not tuned.

    Arrays below :data:`MIN_TUNED_BYTES`, of other dtypes than booleans, integers
    and floats, or laid out without a patch size (explicit chunks, Blosc2's own
    layout) are not tuned.

    Args:
        values: The array.
        patch: The patch over the spatial axes, clipped to the array (None: no patch).
        mask: The spatial axes as the layout took them (None: its default).
        requested_patch: The patch asked for, per spatial axis of the metadata.
        meta_mask: The metadata's spatial axes (None: all axes, as 0.0.54 assumes).
    """
    if (
        patch is None
        or requested_patch is None
        or values.nbytes < MIN_TUNED_BYTES
        or values.dtype.kind not in TUNED_KINDS
    ):
        return None
    return choose_storage(
        values,
        patch=patch,
        mask=spatial_mask(values.ndim, mask),
        legacy_patch=requested_patch,
        legacy_mask=meta_mask if meta_mask is not None else [True] * values.ndim,
    )
