"""Refuse to run from an import package that two distributions wrote into.

``mlarray-core`` and the old PyPI distribution ``mlarray`` (0.0.54, which plugins
such as ``napari-mlarray`` still depend on) both install the import package
``mlarray``. With both installed, whichever pip installed last has overwritten the
other's files, and ``import mlarray`` would run a mix of the two. The check reads
only the environment's distribution metadata; it runs when this module is first
imported (``mlarray/__init__.py`` imports it before anything else).
"""

from __future__ import annotations

from importlib import metadata

from mlarray_meta.errors import DistributionConflictError

__all__ = ["check_single_distribution"]

OURS = "mlarray-core"
OLD = "mlarray"


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_single_distribution() -> None:
    """Raise when both ``mlarray-core`` and ``mlarray`` are installed.

    Raises:
        DistributionConflictError: Both distributions are installed (an ImportError).
    """
    old = _installed(OLD)
    if old is None:
        return
    ours = _installed(OURS)
    if ours is None:
        return
    raise DistributionConflictError(
        f"both {OURS} {ours} and {OLD} {old} are installed, and both install the import "
        f"package 'mlarray': their files overwrite each other, so 'import mlarray' would run "
        f"a mix of the two. {OLD} {old} was probably pulled in by a package that depends on "
        f"it (such as napari-mlarray). Remove it and restore {OURS} (uninstalling "
        f"{OLD} deletes the files the two share):\n"
        f"    python -m pip uninstall --yes {OLD}\n"
        f"    python -m pip install --force-reinstall --no-deps {OURS}=={ours}\n"
        f"See https://mlarray.readthedocs.io/en/latest/installation/ for using napari-mlarray "
        f"with {OURS}."
    )


check_single_distribution()
