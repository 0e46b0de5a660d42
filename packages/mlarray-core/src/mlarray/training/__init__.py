"""Training on ``.mla`` files: foreground index, cases, patch sampler and dataset.

NumPy only; PyTorch is optional (``pip install "mlarray-core[torch]"``) and imported
only when tensors are asked for.
"""

from __future__ import annotations

from mlarray._index_store import ForegroundIndex, LabelIndex
from mlarray.training._index import IndexStatus, build_index, index_status, load_index

__all__ = [
    "ForegroundIndex",
    "IndexStatus",
    "LabelIndex",
    "build_index",
    "index_status",
    "load_index",
]
