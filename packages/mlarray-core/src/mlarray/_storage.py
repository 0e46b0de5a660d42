"""Blosc2 storage: opening, creating and atomically writing ``.mla`` frames.

Everything that touches blosc2's file I/O lives here, so that errors from deep
inside blosc2 are turned into :mod:`mlarray.errors` with the file named.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import blosc2
import numpy as np

from mlarray._frame_check import check_frame, check_frame_kind
from mlarray._header import read_file_header
from mlarray.errors import FileFormatError, MLArrayError, MLArrayFileError, UnsafeMetadataError

if TYPE_CHECKING:
    from mlarray_meta.header import Header

__all__ = [
    "MLA_SUFFIX",
    "OpenedHeader",
    "atomic_write",
    "blosc2_errors",
    "check_mla_path",
    "create_file_array",
    "file_identity",
    "load_checked",
    "open_checked",
    "open_file_array",
    "read_consistently",
    "read_header_once",
]

MLA_SUFFIX = ".mla"
OPEN_MODES = ("r", "a")
OPEN_MMAP_MODES = ("r", "r+", "c", None)
CREATE_MODES = ("w",)
CREATE_MMAP_MODES = ("w+", None)
_TEMP_MARKER = ".mla-tmp."
_READ_ATTEMPTS = 5
_T = TypeVar("_T")


def check_mla_path(filepath: str | os.PathLike[str], *, must_exist: bool) -> Path:
    """Return ``filepath`` as a Path after checking its suffix and existence.

    Raises:
        MLArrayFileError: If the suffix is not ``.mla``, the file is missing (when
            ``must_exist``) or the path is a directory.
    """
    if not isinstance(filepath, (str, os.PathLike)):
        raise MLArrayFileError(
            f"expected a path to a .mla file, got {type(filepath).__name__} {filepath!r}"
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


@contextmanager
def blosc2_errors(path: Path, action: str, *, writing: bool = False) -> Iterator[None]:
    """Turn blosc2's exceptions about ``path`` into errors naming the file.

    Args:
        path: The file blosc2 is working on.
        action: What is being done, for the message (e.g. ``"opening"``).
        writing: Failures while writing are I/O problems (disk full, permissions),
            not damaged files.
    """
    try:
        yield
    except MLArrayError:
        raise  # already ours (e.g. metadata that cannot be encoded): it names its cause
    except blosc2.exceptions.UnsafeDeserializationError as exc:
        raise UnsafeMetadataError(f"{path}: refused unsafe content while {action}: {exc}") from exc
    except OSError as exc:
        raise MLArrayFileError(f"{path}: {action} failed: {exc}") from exc
    except (RuntimeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        if writing:
            raise MLArrayFileError(
                f"{path}: {action} failed (disk full or not writable?): {exc}"
            ) from exc
        raise FileFormatError(f"{path}: {action} failed, not a valid .mla file? ({exc})") from exc


def open_file_array(
    path: Path, *, mode: str, mmap_mode: str | None, dparams: dict[str, Any]
) -> Any:
    """Open the Blosc2 NDArray stored at ``path`` with the safe deserialization policy."""
    kwargs: dict[str, Any] = {"mode": mode, "dparams": dparams, "deserialize": "safe"}
    if mmap_mode is not None:
        kwargs["mmap_mode"] = mmap_mode
    with blosc2_errors(path, "opening"):
        array = blosc2.open(str(path), **kwargs)
    if not isinstance(array, blosc2.NDArray):
        raise FileFormatError(
            f"{path}: expected a Blosc2 NDArray frame, found a {type(array).__name__}"
        )
    return array


def file_identity(path: Path) -> tuple[int, ...]:
    """Device, inode, size and modification time of ``path``: changes when it is replaced.

    Raises:
        MLArrayFileError: The file is missing or cannot be examined.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot open the file: {exc}") from exc
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def read_consistently(path: Path, read: Callable[[], _T]) -> _T:
    """Run ``read`` (which opens ``path`` several times) until the file did not change meanwhile.

    Opening a file reads its header with the standard library, checks its chunks,
    then lets blosc2 open it: three opens of the path. A save that renames a new
    file over it in between would pair the old header with the new array. The
    file's identity (device, inode, size, modification time) before and after
    tells; ``read`` runs again when it changed (also when it failed meanwhile).

    Raises:
        MLArrayFileError: The file changed during every one of 5 attempts.
    """
    for _ in range(_READ_ATTEMPTS):
        before = file_identity(path)
        try:
            result = read()
        except MLArrayError:
            if file_identity(path) == before:
                raise
            continue  # parts of two different files do not fit together
        if file_identity(path) == before:
            return result
    raise MLArrayFileError(
        f"{path}: the file changed while it was opened, {_READ_ATTEMPTS} times in a row "
        "(is another process writing it in place?)"
    )


@dataclass(frozen=True)
class OpenedHeader:
    """A file's header as read by :func:`read_header_once`, with the file's identity.

    Attributes:
        header: The header (metadata, frame description).
        identity: Device, inode, size and modification time when it was read.
    """

    header: Header
    identity: tuple[int, ...]


def read_header_once(path: Path) -> OpenedHeader:
    """Read a file's header and remember which version of the file it came from.

    Raises:
        MLArrayFileError: The file is missing, unreadable or kept changing.
        FileFormatError: The header or metadata is invalid (or unsafe).
    """

    def read() -> OpenedHeader:
        header = read_file_header(path)
        check_frame_kind(path, header.mapping.frame)
        return OpenedHeader(header, file_identity(path))

    return read_consistently(path, read)


def open_checked(
    path: Path,
    *,
    mode: str,
    mmap_mode: str | None,
    dparams: dict[str, Any],
    opened: OpenedHeader | None = None,
) -> tuple[Header, Any, tuple[int, ...]]:
    """Read the header, check the frame, then open the array, all from one version of the file.

    Args:
        path: The file.
        mode: Blosc2 open mode.
        mmap_mode: Blosc2 memory-mapping mode.
        dparams: Decompression parameters.
        opened: The header read earlier (by :meth:`MLArray.open`); reused (the very
            object is returned) while the file is still the same, else read again.

    Returns:
        The header, the Blosc2 array and the identity of the file they came from
        (see :func:`file_identity`).

    Raises:
        MLArrayFileError: The file is missing, unreadable or kept changing.
        FileFormatError: The file is not a valid ``.mla`` file (or is unsafe).
    """

    def read() -> tuple[Header, Any, tuple[int, ...]]:
        if opened is not None and file_identity(path) == opened.identity:
            header = opened.header
        else:
            header = read_file_header(path)
        check_frame(path, header.mapping.frame)
        store = open_file_array(path, mode=mode, mmap_mode=mmap_mode, dparams=dparams)
        # read_consistently checks that this identity held from start to end
        return header, store, file_identity(path)

    return read_consistently(path, read)


def load_checked(path: Path, *, dparams: dict[str, Any]) -> tuple[Header, Any]:
    """Read the header and the whole file, check the frame, then build an in-memory array.

    Raises:
        MLArrayFileError: The file is missing, unreadable or kept changing.
        FileFormatError: The file is not a valid ``.mla`` file (or is unsafe).
    """

    def read() -> tuple[Header, np.ndarray[Any, np.dtype[np.uint8]]]:
        header = read_file_header(path)
        with blosc2_errors(path, "loading"), path.open("rb") as file:
            # np.empty, not bytearray: no zero-filling, and huge pages for large files.
            data = np.empty(header.mapping.frame.frame_length, dtype=np.uint8)
            if file.readinto(data.data) != len(data):
                raise FileFormatError(f"{path}: the file is shorter than its frame header says")
            return header, data

    header, data = read_consistently(path, read)
    check_frame(path, header.mapping.frame, data.data)
    with blosc2_errors(path, "loading"):
        # The array borrows ``data`` (no copy). Blosc2 cannot grow a borrowed frame:
        # callers must give the array its own frame (``.copy()``) before writing.
        store = blosc2.ndarray_from_cframe(data, copy=False)
        store.schunk.dparams = blosc2.DParams(**dparams)
    return header, store


def create_file_array(
    path: Path,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    *,
    mmap_mode: str | None,
    storage: dict[str, Any],
) -> Any:
    """Create an uninitialised NDArray file at ``path`` (overwriting it)."""
    kwargs: dict[str, Any] = {"urlpath": str(path), "mode": "w", **storage}
    if mmap_mode is not None:
        kwargs["mmap_mode"] = mmap_mode
    with blosc2_errors(path, "creating", writing=True):
        return blosc2.empty(shape, dtype=dtype, **kwargs)


def _temp_prefix(target: Path) -> str:
    return f".{target.name}{_TEMP_MARKER}{socket.gethostname()}."


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files left by crashed saves of ``target`` on this host."""
    prefix = _temp_prefix(target)
    for candidate in target.parent.glob(f"{prefix}*"):
        pid_text = candidate.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        with suppress(FileNotFoundError):
            candidate.unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_path(path: Path, *, directory: bool) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _final_mode(target: Path) -> int:
    """Permissions for the new file: the old file's, else what umask gives new files."""
    with suppress(FileNotFoundError):
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write a complete file to ``target`` without ever exposing a partial one.

    ``write`` fills a temporary file in the same folder; it is flushed to disk,
    then renamed over ``target`` in one step (``os.replace``) and the folder is
    synced. A crash or a full disk at any point leaves the previous ``target``
    untouched. Temporary files that crashed saves left behind (their process is
    gone) are removed on the next successful save of the same target.

    Raises:
        MLArrayFileError: If the folder does not exist or the write fails (disk
            full, permissions); the previous file is intact.
    """
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise MLArrayFileError(f"{target}: cannot save, folder {folder} does not exist")
    mode = _final_mode(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.", dir=folder)
    except OSError as exc:
        raise MLArrayFileError(f"{target}: cannot create a temporary file: {exc}") from exc
    os.close(fd)
    temp = Path(name)
    try:
        write(temp)
        os.chmod(temp, mode)
        _fsync_path(temp, directory=False)
        os.replace(temp, target)
    except BaseException as exc:
        with suppress(FileNotFoundError):
            temp.unlink()
        if isinstance(exc, OSError | MLArrayFileError):  # disk full, permissions, ...
            raise MLArrayFileError(f"{target}: saving failed, previous file kept: {exc}") from exc
        raise
    with suppress(OSError):
        _fsync_path(folder, directory=True)
    _remove_stale_temps(target)
