"""The public surface of mlarray.training is pinned."""

from __future__ import annotations

import mlarray.training

PUBLIC_ALL = [
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


def test_public_names() -> None:
    assert mlarray.training.__all__ == PUBLIC_ALL
    assert sorted(PUBLIC_ALL) == PUBLIC_ALL
    for name in PUBLIC_ALL:
        assert getattr(mlarray.training, name) is not None


def test_training_is_not_imported_by_mlarray() -> None:
    """``import mlarray`` stays lean: training loads on demand, torch never by itself."""
    import subprocess
    import sys

    code = "import sys, mlarray; print('mlarray.training' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    code = "import sys, mlarray.training; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
