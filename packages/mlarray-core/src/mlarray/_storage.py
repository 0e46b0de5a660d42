"""Paths, modes and whole-file loads of ``.mla`` files.

Opening a file for reading lives in :mod:`mlarray._opened`, writing in
:mod:`mlarray._staging` (``save``) and :mod:`mlarray._edit` (edits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray._frame_check import buffer_reader, check_frame
from mlarray._header import header_of_frame
from mlarray._opened import read_errors
from mlarray.errors import FileFormatError, MLArrayFileError
from mlarray.meta import Meta
from mlarray_meta._base import BaseMeta
from mlarray_meta._remote import is_url
from mlarray_meta.frame import parse_frame
from mlarray_meta.meta import meta_from_file

if TYPE_CHECKING:
    from mlarray_meta.header import Header

__all__ = [
    "MLA_SUFFIX",
    "check_mla_path",
    "check_mode",
    "check_writable",
    "load_checked",
    "metadata_edited",
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


def _user_fields(section: BaseMeta) -> dict[str, Any]:
    """The fields of ``section`` that users may set, recursively (managed ones left out)."""
    return {
        name: _user_fields(value) if isinstance(value, BaseMeta) else value
        for name in section._writable_fields()
        for value in (getattr(section, name),)
    }


def metadata_edited(header: Header, meta: Meta) -> bool:
    """Whether a user changed ``meta`` since it was read from ``header``.

    Only the fields users may set count: the container rewrites the managed ones
    (layout, shape, format markers) on its own.
    """
    stored = meta_from_file(header.mapping.meta, source=str(header.mapping.path), warn=False)
    return _user_fields(stored) != _user_fields(meta)


def load_checked(path: Path, *, dparams: dict[str, Any]) -> tuple[Header, Any]:
    """Read a whole file once, check its frame, then build an in-memory array from the bytes.

    Raises:
        MLArrayFileError: The file is missing or unreadable.
        FileFormatError: The file is not a valid ``.mla`` file (or is unsafe).
    """
    try:
        with open(path, "rb", buffering=0) as file:
            size = os.fstat(file.fileno()).st_size
            # np.empty, not bytearray: no zero-filling, and huge pages for large files.
            data = np.empty(size, dtype=np.uint8)
            with data.data as view:
                done = 0
                while done < size:  # one read returns at most about 2 GiB
                    count = file.readinto(view[done:])
                    if not count:
                        raise FileFormatError(f"{path}: the file shrank while it was read")
                    done += count
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot read the file: {exc.strerror}") from None
    header = header_of_frame(parse_frame(data.data, source=str(path)))
    check_frame(path, header.mapping.frame, buffer_reader(data.data))
    with read_errors(path, "loading"):
        # The array borrows ``data`` (no copy). Blosc2 cannot grow a borrowed frame:
        # callers must give the array its own frame (``.copy()``) before writing.
        store = blosc2.ndarray_from_cframe(data, copy=False)
        store.schunk.dparams = blosc2.DParams(**dparams)
    return header, store
