"""Hidden folders next to an output, where it is written before being moved into place.

A staging folder is named ``.NAME.HOST.PID.XXXXXXXX.partial``: the output's name,
the host and the process writing it, and a random part. A writer killed before it
finished leaves its folder behind; the next write of the same output removes the
folders whose process is gone (on this host) and leaves those of writers still
at work alone.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlarray._staging import atomic_write
from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray_io.errors import ConversionError

__all__ = [
    "STAGING_SUFFIX",
    "make_folder",
    "output_failure",
    "remove_stale",
    "removed_if_interrupted",
    "staging_folder",
    "write_text",
]

STAGING_SUFFIX = ".partial"


def _prefix(target: Path) -> str:
    return f".{target.name}.{socket.gethostname()}."


def _writer_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a process of another user still runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale(target: Path) -> None:
    """Remove the staging folders of ``target`` that writers on this host left when killed."""
    prefix = _prefix(target)
    for folder in target.parent.glob(f"{prefix}*{STAGING_SUFFIX}"):
        owner = folder.name[len(prefix) :].split(".", 1)[0]
        if owner.isdigit() and _writer_gone(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


@contextmanager
def removed_if_interrupted(target: Path) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, remove every staging entry this process made for ``target``.

    An interruption can land between the creation of a staging file or folder
    and the ``try`` that would remove it (inside :func:`tempfile.mkstemp`, say).
    Entries of this process carry its host and PID: this staging's and that of
    ``mlarray`` saves (``.NAME.mla-tmp.HOST.PID.XXXX``) alike.
    """
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        host = glob.escape(socket.gethostname())
        for entry in target.parent.glob(f".{glob.escape(target.name)}.*{host}.{os.getpid()}.*"):
            _remove(entry)
        raise


@contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """A new staging folder for ``target``, removed on leaving (stale ones first).

    Raises:
        MLArrayFileError: If no folder can be made next to ``target``.
    """
    remove_stale(target)
    with removed_if_interrupted(target):
        try:
            made = tempfile.mkdtemp(
                prefix=f"{_prefix(target)}{os.getpid()}.", suffix=STAGING_SUFFIX, dir=target.parent
            )
        except OSError as exc:
            raise MLArrayFileError(
                f"{target}: cannot create a folder in {target.parent}: {exc.strerror}"
            ) from exc
        folder = Path(made)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def output_failure(target: Path, staged: Path, exc: Exception) -> MLArrayError:
    """The error for writing ``staged`` (for ``target``) that failed, naming ``target`` only.

    An ``OSError`` is told by its ``errno`` message (no space left, read-only file
    system); an mlarray error keeps its class; any other becomes a ConversionError.
    """
    text = str(exc).replace(str(staged), str(target))
    if isinstance(exc, MLArrayError):
        return type(exc)(text)
    if isinstance(exc, OSError) and exc.strerror:
        return MLArrayFileError(f"{target}: cannot write: {exc.strerror}")
    return ConversionError(f"{target}: cannot write: {type(exc).__name__}: {text}")


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents if missing.

    Raises:
        MLArrayFileError: If it cannot be created (a read-only or full file system).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MLArrayFileError(f"{folder}: cannot create the folder: {exc.strerror}") from exc


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that it appears complete or not at all.

    Raises:
        MLArrayFileError: If it cannot be written; a previous file stays as it was.
    """

    def write(staged: Path) -> None:
        staged.write_bytes(text.encode("utf-8"))

    make_folder(path.parent)
    atomic_write(path, write)
