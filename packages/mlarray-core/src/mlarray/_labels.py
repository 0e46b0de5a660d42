"""Label maps hold labels: integers >= 0 (checked when a label map is written)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlarray.errors import MetaValidationError

__all__ = ["check_label_store", "label_problem"]

_SLAB_ELEMENTS = 1 << 24
"""Elements checked at a time, so that checking a compressed array never loads all of it."""


def label_problem(values: np.ndarray[Any, Any]) -> str | None:
    """Why ``values`` are not labels (integers >= 0), or None when they are.

    Args:
        values: Voxel values of any dtype.

    Returns:
        A short description naming an offending value, or None.
    """
    kind = values.dtype.kind
    if kind in "bu" or values.size == 0:
        return None
    if kind not in "if":
        return f"{values.dtype} values"
    if kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            return f"the non-finite value {values[~finite].flat[0].item()!r}"
        fractional = values[values != np.floor(values)]
        if fractional.size:
            return f"the fractional value {fractional.flat[0].item()!r}"
    lowest = values.min()
    if lowest < 0:
        return f"the negative value {lowest.item()!r}"
    return None


def check_label_store(store: Any, where: str) -> None:
    """Refuse a label map whose values are not labels, reading it a slab at a time.

    Unsigned and boolean arrays are labels by their dtype and are not read.

    Args:
        store: A NumPy array or a Blosc2 NDArray (anything sliced along axis 0).
        where: The file or object, for the message.

    Raises:
        MetaValidationError: If a value is fractional, negative or not finite.
    """
    if np.dtype(store.dtype).kind in "bu" or store.ndim == 0 or store.shape[0] == 0:
        return
    step = max(1, _SLAB_ELEMENTS // max(1, int(np.prod(store.shape[1:]))))
    for start in range(0, store.shape[0], step):
        problem = label_problem(np.asarray(store[start : start + step]))
        if problem is not None:
            raise MetaValidationError(
                f"{where}: meta.is_seg is True but the array holds {problem}; a label map "
                "holds integer labels >= 0 (set meta.is_seg to False or None for other data)"
            )
