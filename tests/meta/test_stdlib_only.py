"""mlarray_meta needs nothing beyond the standard library: the zero-dependency promise."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import mlarray_meta

PACKAGE_DIR = Path(mlarray_meta.__file__).parent
SUBMODULES = sorted(
    f"mlarray_meta.{info.name}" for info in pkgutil.iter_modules([str(PACKAGE_DIR)])
)

# Runs in a fresh interpreter: records what importing the package (and every submodule)
# adds to sys.modules, so modules loaded at start-up (site, .pth hooks) do not count.
PROBE = """
import importlib, json, sys
before = set(sys.modules)
for name in ["mlarray_meta", *json.loads(sys.argv[1])]:
    importlib.import_module(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


def is_allowed(module: str) -> bool:
    return top_level(module) in sys.stdlib_module_names or top_level(module) == "mlarray_meta"


def test_the_package_has_the_expected_schema_modules() -> None:
    for name in ["_base", "_checks", "_json", "errors", "meta", "sections", "spatial"]:
        assert f"mlarray_meta.{name}" in SUBMODULES


def test_importing_the_package_loads_only_standard_library_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(SUBMODULES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE_DIR.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "mlarray_meta" in loaded
    assert set(SUBMODULES) <= set(loaded)
    foreign = [module for module in loaded if not is_allowed(module)]
    assert foreign == [], f"mlarray_meta imported non-stdlib modules: {foreign}"
    assert "numpy" not in loaded
    assert "blosc2" not in loaded


def test_no_source_file_imports_a_third_party_module() -> None:
    # Also catches imports inside functions, which a plain import would not execute.
    offenders: list[str] = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {name}" for name in names if not is_allowed(name)]
    assert offenders == []


def test_the_distribution_declares_no_dependencies() -> None:
    pyproject = PACKAGE_DIR.parents[1] / "pyproject.toml"
    if pyproject.is_file():  # running from the source tree
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        assert project["dependencies"] == []
    else:  # running against an installed wheel
        from importlib.metadata import requires

        assert requires("mlarray-meta") in (None, [])
