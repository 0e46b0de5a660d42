"""Functions that dataloader-like worker processes run on a remote MLArray (importable by name)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlarray import MLArray

PATCH = 16


def read_patch(image: MLArray, start: list[int]) -> np.ndarray[Any, Any]:
    """Read one patch in this process (its own session with the server)."""
    return image.read_patches([start], PATCH)[0]
