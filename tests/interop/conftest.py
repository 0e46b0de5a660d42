"""Fixtures of the interop tests: the interpreter that has ``mlarray`` 0.0.54 installed.

``nox -s interop`` creates that interpreter and names it in the environment variable
``MLARRAY_LEGACY_PYTHON``. Without it these tests fail: a skipped interop suite
would look green while proving nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

LEGACY_ENV = "MLARRAY_LEGACY_PYTHON"
LEGACY_VERSION = "0.0.54"
SCRIPTS = Path(__file__).resolve().parent

RunLegacy = Callable[..., Any]


def _run(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated mode, so PYTHONPATH (which may point at our own mlarray sources)
    # and the user site cannot shadow the mlarray 0.0.54 installed in that interpreter.
    return subprocess.run(
        [python, "-I", *args], capture_output=True, text=True, check=False, timeout=600
    )


@pytest.fixture(scope="session")
def legacy_python() -> str:
    """The interpreter with ``mlarray==0.0.54``; fails the test when it is not configured."""
    python = os.environ.get(LEGACY_ENV)
    if not python:
        pytest.fail(
            f"{LEGACY_ENV} is not set: it must name a Python interpreter that has "
            f"mlarray=={LEGACY_VERSION} installed (`nox -s interop` sets it up)"
        )
    if not Path(python).is_file():
        pytest.fail(f"{LEGACY_ENV}={python!r} is not an existing interpreter")
    probe = _run(python, "-c", "import importlib.metadata as m; print(m.version('mlarray'))")
    if probe.returncode != 0 or probe.stdout.strip() != LEGACY_VERSION:
        pytest.fail(
            f"{LEGACY_ENV}={python!r} must have mlarray=={LEGACY_VERSION} installed; "
            f"found {probe.stdout.strip() or 'none'} {probe.stderr.strip()}"
        )
    return python


@pytest.fixture(scope="session")
def run_legacy(legacy_python: str) -> RunLegacy:
    """Run one of the ``legacy_*.py`` scripts with 0.0.54 and return its JSON output."""

    def run(script: str, *args: str | Path) -> Any:
        result = _run(legacy_python, str(SCRIPTS / script), *(str(arg) for arg in args))
        if result.returncode != 0:
            pytest.fail(f"{script} failed with mlarray {LEGACY_VERSION}:\n{result.stderr}")
        return json.loads(result.stdout)

    return run
