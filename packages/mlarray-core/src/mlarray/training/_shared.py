"""Anonymous shared memory that another process can map through :mod:`multiprocessing`.

A block is a memory file without a name (``memfd_create`` on Linux; elsewhere a
temporary file unlinked at once), mapped shared. Nothing names it in the file
system, so nothing outlives the processes: its memory is returned when the last
process mapping it exits, however it exits (a SIGKILL included), with no resource
tracker and no segment left in ``/dev/shm``.

The first page is a header: byte 0 is a flag the two processes hand back and
forth (see :mod:`mlarray.training._buffers`), bytes 8-15 the pid of the process
that made the block. The data follows on a page boundary.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import MutableMapping
from multiprocessing import reduction
from typing import Any

import numpy as np

__all__ = ["HEADER", "SharedBlock"]

HEADER = 4096  # bytes before the data: the flag and the owner's pid
_PID = slice(8, 16)


def _anonymous_file(size: int) -> int:
    """A descriptor of a new, nameless file of ``size`` bytes (zero-filled, not yet touched)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("mlarray-batch", os.MFD_CLOEXEC)
    else:  # pragma: no cover - not Linux
        fd, name = tempfile.mkstemp(prefix="mlarray-batch-")
        os.unlink(name)
    try:
        os.ftruncate(fd, size)
    except OSError:
        os.close(fd)
        raise
    return fd


class SharedBlock:
    """A block of shared memory: a header page, then ``size`` bytes of data.

    Args:
        size: The data's size in bytes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._fd = _anonymous_file(HEADER + size)
        self._map = mmap.mmap(self._fd, HEADER + size, flags=mmap.MAP_SHARED)
        self._header()[_PID] = np.frombuffer(np.int64(os.getpid()).tobytes(), np.uint8)
        self.key = _identity(self._fd)

    def handle(self) -> Any:
        """A picklable handle another process turns back into this block (:meth:`attach`).

        Only valid inside :mod:`multiprocessing` pickling (a queue, a pipe, a pool):
        the descriptor is passed while both processes live.
        """
        return reduction.DupFd(self._fd)

    @classmethod
    def attach(
        cls, handle: Any, size: int, known: MutableMapping[tuple[int, int], SharedBlock]
    ) -> SharedBlock:
        """The block behind ``handle``: from ``known`` if mapped already, else mapped and added."""
        fd = handle.detach()
        try:
            key = _identity(fd)
            block = known.get(key)
            if block is None:
                block = cls.__new__(cls)
                block.size, block.key, block._fd = size, key, -1
                block._map = mmap.mmap(fd, HEADER + size, flags=mmap.MAP_SHARED)
                known[key] = block
        finally:
            os.close(fd)
        return block

    def data(self, nbytes: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """The first ``nbytes`` of the data as a new flat ``uint8`` array (writes are shared)."""
        return np.frombuffer(self._map, np.uint8, nbytes, HEADER)

    @property
    def flag(self) -> bool:
        """The header's flag."""
        return bool(self._header()[0])

    @flag.setter
    def flag(self, value: bool) -> None:
        self._header()[0] = value

    @property
    def owner(self) -> int:
        """The pid of the process that made the block."""
        return int(self._header()[_PID].view(np.int64)[0])

    def _header(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        return np.frombuffer(self._map, np.uint8, 16)

    def close(self) -> None:
        """Close this process's descriptor (the mapping lives while views of it do)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def _identity(fd: int) -> tuple[int, int]:
    """What tells one memory file from another, in any process that has it open."""
    status = os.fstat(fd)
    return status.st_dev, status.st_ino
