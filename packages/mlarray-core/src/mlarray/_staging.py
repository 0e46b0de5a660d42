"""Files that appear complete or not at all: a temporary file renamed over its target.

:class:`StagedFile` is a temporary file in the target's folder
(``.NAME.mla-tmp.HOST.PID.XXXX``). Whatever writes it, :meth:`StagedFile.commit`
flushes it to disk, gives it the target's permissions and renames it over the
target in one step (``os.replace``), then syncs the folder. Until then the target
is untouched, so a crash or a full disk at any moment leaves it as it was. Both
``save`` (:func:`atomic_write`) and the edits of a writable
:class:`~mlarray.MLArray` (``open(..., mmap_mode='r+')``, ``create``) go through it.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from mlarray.errors import MLArrayError, MLArrayFileError

__all__ = ["StagedFile", "atomic_write", "write_failure"]

_TEMP_MARKER = ".mla-tmp."
_PROBE_BYTES = 1 << 20
_SPACE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _temp_prefix(target: Path) -> str:
    return f".{target.name}{_TEMP_MARKER}{socket.gethostname()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files left by crashed writers of ``target`` on this host."""
    prefix = _temp_prefix(target)
    for candidate in target.parent.glob(f"{prefix}*"):
        pid_text = candidate.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        with suppress(FileNotFoundError):
            candidate.unlink()


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


def _space_problem(path: Path, nbytes: int) -> OSError | None:
    """Why writing ``nbytes`` more to ``path`` fails now, if it is for lack of space.

    Blosc2 reports a failed write without its ``errno``; reserving the same
    amount of space at the end of the file recovers it (``ENOSPC``, ``EDQUOT``,
    ``EFBIG``). The file is cut back to its size afterwards.
    """
    allocate = getattr(os, "posix_fallocate", None)  # not on macOS
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return exc
    try:
        size = os.fstat(fd).st_size
        try:
            if allocate is not None:
                allocate(fd, size, nbytes)
        except OSError as exc:
            return exc if exc.errno in _SPACE_ERRORS else None
        os.ftruncate(fd, size)
        return None
    finally:
        os.close(fd)


def write_failure(
    target: Path, written: Path, action: str, exc: BaseException, *, closed: bool = False
) -> MLArrayFileError:
    """The error for a write to ``written`` (staged for ``target``) that failed.

    It names ``target``, never the temporary file, says what became of it (not
    changed, or not written when there was none), and when the file system is full
    or a quota or file size limit is reached, says so with the ``errno`` message
    (blosc2 itself only says that a write failed).

    Args:
        target: The user's file.
        written: The file being written when the failure happened.
        action: What was being done, e.g. ``"saving"``.
        exc: The failure (an ``OSError``, or blosc2's ``RuntimeError``).
        closed: Whether the handle that wrote is closed by the failure.
    """
    cause = exc if isinstance(exc, OSError) else _space_problem(written, _PROBE_BYTES)
    if cause is None:
        reason = str(exc)
    elif cause.errno is not None:
        reason = os.strerror(cause.errno)
    else:
        reason = str(cause)
    outcome = "the file was not changed" if target.exists() else "no file was written"
    if closed:
        outcome += " and this handle is closed"
    return MLArrayFileError(f"{target}: {action} failed: {reason}; {outcome}")


class StagedFile:
    """A temporary file next to ``target`` that replaces it in one step when complete.

    Args:
        target: The file to write.

    Raises:
        MLArrayFileError: The folder does not exist or a file cannot be created in it.
    """

    def __init__(self, target: Path) -> None:
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise MLArrayFileError(f"{target}: cannot write, folder {folder} does not exist")
        self.target = target
        self._folder = folder
        self._owner = os.getpid()
        try:
            fd, name = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{self._owner}.", dir=folder)
        except OSError as exc:
            raise MLArrayFileError(
                f"{target}: cannot create a file in {folder}: {exc.strerror}"
            ) from exc
        os.close(fd)
        self.path = Path(name)

    @property
    def owned(self) -> bool:
        """Whether this process made the file (a forked child must leave it alone)."""
        return os.getpid() == self._owner

    def commit(self) -> None:
        """Flush the file to disk and rename it over the target.

        Temporary files that crashed writers of the same target left behind (their
        process is gone) are removed afterwards.

        Raises:
            MLArrayFileError: Flushing or renaming failed (disk full, permissions);
                the target is untouched and the temporary file removed.
        """
        try:
            os.chmod(self.path, _final_mode(self.target))
            _fsync_path(self.path, directory=False)
            os.replace(self.path, self.target)
        except OSError as exc:
            self.discard()
            raise write_failure(self.target, self.path, "writing", exc) from exc
        with suppress(OSError):
            _fsync_path(self._folder, directory=True)
        _remove_stale_temps(self.target)

    def discard(self) -> None:
        """Remove the temporary file (only in the process that made it)."""
        if self.owned:
            with suppress(FileNotFoundError):
                self.path.unlink()


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write a complete file to ``target`` without ever exposing a partial one.

    ``write`` fills a :class:`StagedFile`, which then replaces ``target``. A crash
    or a full disk at any point leaves the previous ``target`` untouched.

    Raises:
        MLArrayFileError: If the folder does not exist or the write fails (disk
            full, permissions); the previous file is intact.
    """
    staged = StagedFile(target)
    try:
        write(staged.path)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, MLArrayError):
            staged.discard()
            raise
        failure = write_failure(target, staged.path, "saving", exc)
        staged.discard()
        raise failure from exc
    except BaseException:
        staged.discard()
        raise
    staged.commit()
