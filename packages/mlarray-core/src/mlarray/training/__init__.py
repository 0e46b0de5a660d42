"""Training on ``.mla`` files: foreground index, cases, patch sampler and dataset.

NumPy only; PyTorch is optional (``pip install "mlarray-core[torch]"``) and imported
only when tensors are asked for.
"""

from __future__ import annotations

from mlarray.training._cases import Case, nnunet_cases
from mlarray.training._core import ForegroundIndex, LabelIndex
from mlarray.training._dataset import EpochKeys, PatchDataset
from mlarray.training._index import IndexStatus, build_index, index_status, load_index
from mlarray.training._oversampling import (
    BatchTailOversampling,
    NoOversampling,
    Oversampling,
    ProbabilisticOversampling,
)
from mlarray.training._reader import IndexNotStoredWarning
from mlarray.training._sampler import NoForegroundWarning, PatchRequest, PatchSampler
from mlarray.training._torch import TorchMissingError

__all__ = [
    "BatchTailOversampling",
    "Case",
    "EpochKeys",
    "ForegroundIndex",
    "IndexNotStoredWarning",
    "IndexStatus",
    "LabelIndex",
    "NoForegroundWarning",
    "NoOversampling",
    "Oversampling",
    "PatchDataset",
    "PatchRequest",
    "PatchSampler",
    "ProbabilisticOversampling",
    "TorchMissingError",
    "build_index",
    "index_status",
    "load_index",
    "nnunet_cases",
]
