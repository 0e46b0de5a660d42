"""Paths and open modes of ``.mla`` files: the checks made before a file is touched.

Opening a file for reading lives in :mod:`mlarray._opened`, writing in
:mod:`mlarray._staging` (``save``) and :mod:`mlarray._edit` (edits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlarray.errors import MLArrayFileError
from mlarray_meta._remote import is_url

__all__ = [
    "CREATE_MMAP_MODES",
    "CREATE_MODES",
    "MLA_SUFFIX",
    "OPEN_MMAP_MODES",
    "OPEN_MODES",
    "check_mla_path",
    "check_mode",
    "check_writable",
]

MLA_SUFFIX = ".mla"
OPEN_MODES = ("r", "a")
OPEN_MMAP_MODES = ("r", "r+", "c", None)
CREATE_MODES = ("w",)
CREATE_MMAP_MODES = ("w+", None)


def check_mla_path(filepath: str | os.PathLike[str], *, must_exist: bool) -> Path:
    """Return ``filepath`` as a Path after checking its suffix and existence.

    Raises:
        MLArrayFileError: If the suffix is not ``.mla``, the file is missing (when
            ``must_exist``), the path is a directory, or it is a URL.
    """
    if not isinstance(filepath, (str, os.PathLike)):
        raise MLArrayFileError(
            f"expected a path to a .mla file, got {type(filepath).__name__} {filepath!r}"
        )
    if is_url(filepath):
        raise MLArrayFileError(
            f"{filepath}: a URL; remote files are read with MLArray.open(url) (read-only), "
            "this operation needs a local path"
        )
    path = Path(filepath)
    if path.suffix != MLA_SUFFIX:
        raise MLArrayFileError(f"{path}: expected the extension '.mla', got {path.suffix!r}")
    if path.is_dir():
        raise MLArrayFileError(f"{path}: is a directory, expected a .mla file")
    if must_exist and not path.exists():
        raise MLArrayFileError(f"{path}: no such file")
    return path


def check_mode(value: Any, allowed: tuple[Any, ...], name: str, action: str) -> None:
    """Raise MLArrayFileError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise MLArrayFileError(
            f"{name}={value!r} is not valid for {action}; expected one of {list(allowed)}"
        )


def check_writable(path: Path) -> None:
    """Check that ``path`` may be edited: the file and its folder are writable.

    An edit replaces the file by a new one made in the same folder, so the folder
    must be writable too; a file without write permission is not edited.

    Raises:
        MLArrayFileError: The file or its folder is not writable.
    """
    folder = path.parent if str(path.parent) else Path(".")
    for what, where in (("the file", path), ("its folder", folder)):
        if not os.access(where, os.W_OK):
            raise MLArrayFileError(
                f"{path}: cannot be opened for writing: {what} is not writable (an edit "
                "is written to a new file in the same folder, which replaces it at close())"
            )
