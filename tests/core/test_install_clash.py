"""Both ``mlarray-core`` and the old ``mlarray`` distribution installed: a clear import error.

The old distribution is made visible to ``importlib.metadata`` by a real
``.dist-info`` folder on ``sys.path`` of a fresh interpreter, as pip would leave it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlarray import __version__


def _python(code: str, site: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def old_mlarray_installed(tmp_path: Path) -> Path:
    info = tmp_path / "mlarray-0.0.54.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mlarray\nVersion: 0.0.54\n")
    return tmp_path


@pytest.mark.parametrize("module", ["mlarray", "mlarray_io"])
def test_importing_with_both_distributions_fails_with_the_fix(
    old_mlarray_installed: Path, module: str
) -> None:
    result = _python(f"import {module}", old_mlarray_installed)
    assert result.returncode != 0
    message = result.stderr[result.stderr.index("DistributionConflictError") :]
    assert f"both mlarray-core {__version__} and mlarray 0.0.54 are installed" in message
    assert "python -m pip uninstall --yes mlarray\n" in message
    fix = f"python -m pip install --force-reinstall --no-deps mlarray-core=={__version__}"
    assert fix in message


def test_the_error_is_an_import_error_of_our_hierarchy(old_mlarray_installed: Path) -> None:
    code = """
try:
    import mlarray
except ImportError as exc:
    from mlarray_meta.errors import DistributionConflictError, MLArrayError
    assert isinstance(exc, DistributionConflictError) and isinstance(exc, MLArrayError)
    print("refused")
"""
    result = _python(code, old_mlarray_installed)
    assert result.stdout.strip() == "refused", result.stderr


def test_a_single_distribution_imports(tmp_path: Path) -> None:
    result = _python("import mlarray, mlarray_io; print(mlarray.__version__)", None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == __version__
