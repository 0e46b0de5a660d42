"""Shared test data for the schema tests: no third-party imports (no numpy here)."""

from __future__ import annotations

import copy
from typing import Any

# A 4D image with a channel axis, exactly as the ``mlarray`` 0.0.54 package writes it.
LEGACY_0054_MAPPING: dict[str, Any] = {
    "source": {"data": {"a": 1, "b": [1, 2]}},
    "extra": {"data": {}},
    "spatial": {
        "spacing": [1, 2, 3],
        "origin": [4, 5, 6],
        "direction": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        "affine": None,
        "shape": [2, 30, 40, 50],
        "axis_labels": ["channel", "spatial_z", "spatial_y", "spatial_x"],
        "coord_system": None,
        "axis_units": None,
        "_num_spatial_axes": 3,
        "_num_non_spatial_axes": 1,
    },
    "stats": {
        "min": None,
        "max": None,
        "mean": None,
        "median": None,
        "std": None,
        "percentile_min": None,
        "percentile_max": None,
        "percentile_mean": None,
        "percentile_median": None,
        "percentile_std": None,
        "percentile_min_key": None,
        "percentile_max_key": None,
    },
    "bbox": {"bboxes": [[[0, 1], [2, 3], [4, 5]]], "scores": None, "labels": None},
    "is_seg": {"is_seg": True},
    "blosc2": {
        "chunk_size": [1, 30, 40, 50],
        "block_size": [1, 22, 24, 24],
        "patch_size": [192, 192, 192],
        "cparams": {"codec": 2, "clevel": 8},
        "dparams": {"nthreads": 1},
    },
    "_has_array": {"has_array": True},
    "_image_meta_format": {"image_meta_format": None},
    "_mlarray_version": {"mlarray_version": "v0"},
}


def legacy_mapping() -> dict[str, Any]:
    """Return a fresh deep copy of :data:`LEGACY_0054_MAPPING`."""
    return copy.deepcopy(LEGACY_0054_MAPPING)


class FakeNumpy:
    """Quacks like a NumPy scalar or array: it has ``dtype``, ``tolist()`` and ``item()``.

    ``mlarray_meta`` must accept NumPy values by duck typing, without importing
    numpy; this stand-in proves it in a venv where numpy is not installed.
    """

    def __init__(self, data: Any, dtype: str = "float64") -> None:
        self._data = data
        self.dtype = dtype

    def tolist(self) -> Any:
        return copy.deepcopy(self._data)

    def item(self) -> Any:
        if isinstance(self._data, list):
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._data


class ToListOnly:
    """Has ``tolist`` but no ``dtype``: not NumPy-like, so it must not be unwrapped."""

    def tolist(self) -> list[int]:
        return [1, 2]
