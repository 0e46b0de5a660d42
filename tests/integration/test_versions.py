"""The lockstep-version check of tools/check_versions.py catches disagreements."""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.check_versions import PACKAGES, find_problems

ROOT = Path(__file__).resolve().parents[2]


def _copy_metadata(tmp_path: Path) -> Path:
    """Copy each package's pyproject.toml and _version.py into a fake repository."""
    for dist, module in PACKAGES.items():
        for relative in ("pyproject.toml", f"src/{module}/_version.py"):
            target = tmp_path / "packages" / dist / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "packages" / dist / relative, target)
    return tmp_path


def test_the_repository_is_consistent() -> None:
    assert find_problems(ROOT) == []


def test_a_differing_version_is_reported(tmp_path: Path) -> None:
    root = _copy_metadata(tmp_path)
    version_file = root / "packages" / "mlarray-io" / "src" / "mlarray_io" / "_version.py"
    version_file.write_text('__version__ = "9.9.9"\n', encoding="utf-8")
    problems = find_problems(root)
    assert any("versions differ" in problem and "9.9.9" in problem for problem in problems)


def test_a_loose_sibling_pin_is_reported(tmp_path: Path) -> None:
    root = _copy_metadata(tmp_path)
    pyproject = root / "packages" / "mlarray-core" / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"mlarray-meta==', '"mlarray-meta>='), encoding="utf-8")
    problems = find_problems(root)
    assert len(problems) == 1
    assert "mlarray-meta>=" in problems[0]
    assert "must be 'mlarray-meta==" in problems[0]
