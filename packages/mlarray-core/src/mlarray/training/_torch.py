"""The one place that imports PyTorch (optional: ``pip install "mlarray-core[torch]"``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlarray.errors import MLArrayError

__all__ = ["TorchMissingError", "as_tensors", "require_torch"]


class TorchMissingError(MLArrayError, ImportError):
    """PyTorch is needed for what was asked but is not installed."""


def require_torch(purpose: str) -> Any:
    """Import and return the ``torch`` module.

    Args:
        purpose: What needs it, for the message.

    Raises:
        TorchMissingError: PyTorch is not installed; the message names the command.
    """
    try:
        import torch
    except ImportError as exc:
        raise TorchMissingError(
            f'{purpose} needs PyTorch, which is not installed: pip install "mlarray-core[torch]"'
        ) from exc
    return torch


def as_tensors(arrays: dict[str, Any]) -> dict[str, Any]:
    """The NumPy arrays of ``arrays`` as tensors sharing their memory (other values kept)."""
    torch = require_torch("tensors=True")
    return {
        key: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
        for key, value in arrays.items()
    }
