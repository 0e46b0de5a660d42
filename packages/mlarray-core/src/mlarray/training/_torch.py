"""The one place that imports PyTorch (optional: ``pip install "mlarray-core[torch]"``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlarray.errors import MLArrayError

__all__ = ["TorchMissingError", "batch_tensor", "require_torch"]


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


def batch_tensor(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
    """An uninitialised tensor for a batch; in shared memory inside a DataLoader worker.

    A worker's batch travels to the main process through shared memory: a tensor
    allocated there from the start is sent as a handle, where any other would be
    copied into shared memory first.
    """
    torch = require_torch("PatchDataset(tensors=True)")
    tensor = torch.from_numpy(np.empty(shape, dtype))
    if torch.utils.data.get_worker_info() is not None:
        tensor = torch.empty(shape, dtype=tensor.dtype).share_memory_()
    return tensor
