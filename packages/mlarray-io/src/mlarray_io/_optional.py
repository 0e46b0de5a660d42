"""Import the heavy or optional libraries (nibabel, SimpleITK, dask) only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from mlarray_io.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, package: str) -> ModuleType:
    """Import and return ``module``, or say which package to install.

    Args:
        module: The import name, e.g. ``"SimpleITK"``.
        package: The name to ``pip install``, e.g. ``"SimpleITK"``.

    Raises:
        MissingDependencyError: If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed here but is not installed; run `python -m pip install {package}`"
        ) from exc
