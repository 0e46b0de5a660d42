"""The public surface of mlarray.training is pinned."""

from __future__ import annotations

import ast
from pathlib import Path

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


def imported_modules(path: Path) -> list[str]:
    """The modules a source file imports (``from X import ...`` and ``import X``)."""
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
    return modules


def test_private_core_imports_are_in_one_module() -> None:
    """Only ``training/_core.py`` imports core's private modules (one place to follow them)."""
    folder = Path(mlarray.training.__file__).parent
    outside = {
        path.name: private
        for path in sorted(folder.glob("*.py"))
        if path.name != "_core.py"
        and (private := [m for m in imported_modules(path) if m.startswith("mlarray._")])
    }
    assert outside == {}
    assert any(m.startswith("mlarray._") for m in imported_modules(folder / "_core.py"))
