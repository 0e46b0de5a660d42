"""Reusable batch buffers: read into once per process, handed to another process by reference.

A process reads each batch into one of a few buffers of shared memory it keeps
(:class:`BatchBuffers`). A buffer is reused once nothing holds its batch any
more: neither this process (the arrays are garbage) nor a process it was sent to.

Sent through :mod:`multiprocessing` (a ``DataLoader`` worker's result queue, a
pool's results), a :class:`Batch` does not copy its arrays: only the buffer's
descriptor and layout travel, and the receiving process maps the same memory. The
buffer's header flag says "held by a receiver": set when the batch is pickled,
cleared by the receiver when its arrays are garbage. Pickled any other way (to a
file), or pickled a second time, a batch is an ordinary dict of its values.

Nothing is allocated, copied or page-faulted per batch once the buffers exist;
when none is free (a caller keeping many batches), a batch gets arrays of its own.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from multiprocessing import reduction
from typing import Any

import numpy as np

from mlarray.training._batch import BatchLayout, Field
from mlarray.training._core import process_alive
from mlarray.training._shared import SharedBlock
from mlarray.training._torch import as_tensors, require_torch

__all__ = ["MAX_BUFFERS", "Batch", "BatchBuffers"]

MAX_BUFFERS = 8  # per process; more batches held at once get arrays of their own


@dataclass
class _Buffer:
    """One buffer of a process and whether a batch of this process uses it."""

    block: SharedBlock
    leased: bool = False

    @property
    def free(self) -> bool:
        return not self.leased and not self.block.flag


@dataclass
class _Origin:
    """Where a batch's arrays live: its buffer, their layout, their address here."""

    block: SharedBlock
    layout: BatchLayout
    address: int
    sent: bool = False


class Batch(dict[str, Any]):
    """A batch read into a reusable buffer: a dict of its arrays (or tensors) and names."""

    _origin: _Origin | None = None

    def __copy__(self) -> Batch:
        clone = Batch(self)
        clone._origin = self._origin
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (dict(self),)  # pickled outside multiprocessing: by value


class BatchBuffers:
    """The batch buffers of one process (a forked or unpickled copy starts empty)."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._buffers: list[_Buffer] = []
        self._lock = threading.RLock()  # a finalizer may run while it is held

    def __reduce__(self) -> tuple[Any, ...]:
        return BatchBuffers, ()

    def new_batch(
        self, layout: BatchLayout, *, tensors: bool
    ) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """An unfilled batch of ``layout`` and the NumPy arrays to read it into."""
        buffer = self._lease(layout.nbytes)
        if buffer is None:
            arrays = layout.carve(np.empty(layout.nbytes, np.uint8))
            return (as_tensors(arrays) if tensors else dict(arrays)), arrays
        data = buffer.block.data(layout.nbytes)
        weakref.finalize(data, self._release, buffer)
        arrays = layout.carve(data)
        batch = Batch(as_tensors(arrays) if tensors else arrays)
        batch._origin = _Origin(buffer.block, layout, data.__array_interface__["data"][0])
        return batch, arrays

    def _lease(self, nbytes: int) -> _Buffer | None:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's buffers are not ours
                self._buffers, self._pid = [], os.getpid()
            fits = [b for b in self._buffers if b.free and b.block.size >= nbytes]
            if fits:
                buffer = fits[0]
            elif len(self._buffers) < MAX_BUFFERS:
                buffer = _Buffer(SharedBlock(nbytes))
                self._buffers.append(buffer)
            else:
                small = [b for b in self._buffers if b.free]
                if not small:
                    return None
                self._buffers.remove(small[0])
                small[0].block.close()
                buffer = _Buffer(SharedBlock(nbytes))
                self._buffers.append(buffer)
            buffer.leased = True
            return buffer

    def _release(self, buffer: _Buffer) -> None:
        with self._lock:
            buffer.leased = False


# ------------------------------------------------------------- between processes
def _as_array(value: Any) -> np.ndarray[Any, Any] | None:
    if isinstance(value, np.ndarray):
        return value
    try:
        array = value.numpy()  # a CPU tensor's memory, as an array
    except (AttributeError, RuntimeError, TypeError):
        return None
    return array if isinstance(array, np.ndarray) else None


def _is_field(value: Any, field: Field, address: int) -> bool:
    """Whether ``value`` is exactly the array of ``field`` in the buffer at ``address``."""
    array = _as_array(value)
    return (
        array is not None
        and array.__array_interface__["data"][0] == address + field.offset
        and array.shape == field.shape
        and array.dtype == field.dtype
        and array.flags.c_contiguous
    )


def _reduce(batch: Batch) -> tuple[Any, ...]:
    """Pickle ``batch`` for another process: its buffer by reference, when it still can."""
    origin = batch._origin
    shared: dict[str, bool] = {}  # key -> sent as a tensor
    if origin is not None and not origin.sent:
        fields = {field.key: field for field in origin.layout.fields}
        for key, value in batch.items():
            if key in fields and _is_field(value, fields[key], origin.address):
                shared[key] = not isinstance(value, np.ndarray)
    if origin is None or not shared:
        return dict, (dict(batch),)
    origin.sent = True
    origin.block.flag = True  # held by the receiver until its arrays are garbage
    extras = {key: value for key, value in batch.items() if key not in shared}
    block = origin.block
    return _receive, (block.handle(), block.size, origin.layout, list(batch), shared, extras)


reduction.ForkingPickler.register(Batch, _reduce)

_attached: dict[tuple[int, int], SharedBlock] = {}
_attached_lock = threading.RLock()  # a finalizer may run while it is held


def _receive(
    handle: Any,
    size: int,
    layout: BatchLayout,
    keys: list[str],
    shared: dict[str, bool],
    extras: dict[str, Any],
) -> dict[str, Any]:
    """The batch another process sent by reference, as views of its buffer here."""
    with _attached_lock:
        block = SharedBlock.attach(handle, size, _attached)
    data = block.data(layout.nbytes)
    weakref.finalize(data, _give_back, block)
    arrays: dict[str, Any] = layout.carve(data)
    if any(shared.values()):
        torch = require_torch("a batch of tensors")
        for key, tensor in shared.items():
            if tensor:
                arrays[key] = torch.from_numpy(arrays[key])
    return {key: extras[key] if key in extras else arrays[key] for key in keys}


def _give_back(block: SharedBlock) -> None:
    """The receiver is done with a batch: its buffer may be reused; forget finished senders."""
    block.flag = False
    with _attached_lock:
        for key, known in list(_attached.items()):
            if not process_alive(known.owner):
                del _attached[key]
