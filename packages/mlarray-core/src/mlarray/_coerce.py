"""Conversion of user arguments into what MLArray stores: metadata, arrays, values."""

from __future__ import annotations

import copy
from typing import Any

import blosc2
import numpy as np

from mlarray.errors import ArgumentTypeError, MetaValidationError
from mlarray.meta import Meta

__all__ = ["as_ndarray", "broadcast_to_selection", "coerce_meta"]


def coerce_meta(meta: Meta | dict[str, Any] | None) -> Meta:
    """Return a private Meta from None, a Meta (deep-copied) or a dict (``meta.source``).

    Raises:
        MetaValidationError: If ``meta`` is of another type (the API promises ValueError).
    """
    if meta is None:
        return Meta()
    if isinstance(meta, Meta):
        return copy.deepcopy(meta)
    if isinstance(meta, dict):
        return Meta.from_mapping({"source": meta})
    raise MetaValidationError(f"meta: expected None, a dict or a Meta, got {type(meta).__name__}")


def as_ndarray(array: Any) -> np.ndarray[Any, Any]:
    """Return ``array`` as a NumPy array with at least one axis."""
    if isinstance(array, (str, bytes, dict)):
        raise ArgumentTypeError(
            f"array: expected a NumPy array or a path, got {type(array).__name__}", path="array"
        )
    if isinstance(array, blosc2.NDArray):
        array = array[...]
    result = np.asarray(array)
    if result.ndim == 0:
        raise ArgumentTypeError("array: expected at least one axis, got a 0-d value", path="array")
    if result.dtype == object:
        raise ArgumentTypeError(
            "array: object arrays cannot be stored; use a numeric dtype", path="array"
        )
    return result


def broadcast_to_selection(store: Any, key: Any, value: Any) -> Any:
    """Broadcast ``value`` to the shape of ``store[key]``, as NumPy assignment does.

    Blosc2 arrays accept only a scalar or a value holding exactly the selected
    number of elements; NumPy broadcasts any compatible value (a row to a plane).

    Raises:
        ValueError: If ``value`` cannot be broadcast to the selection.
    """
    if isinstance(store, np.ndarray) or np.isscalar(value):
        return value
    array = np.asarray(value)
    selected = np.broadcast_to(np.empty((), dtype=np.bool_), store.shape)[key].shape
    if array.shape == selected:
        return array
    return np.ascontiguousarray(np.broadcast_to(array, selected))
