"""Reusable batch buffers: never shared by two live batches, sent between processes by reference."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from typing import Any

import numpy as np

from mlarray.training._batch import BatchLayout
from mlarray.training._buffers import MAX_BUFFERS, Batch, BatchBuffers

LAYOUT = BatchLayout.pack(
    [("image", (2, 1, 8, 8), np.dtype(np.float32)), ("box", (2, 2, 2), np.dtype(np.int64))]
)


def filled(buffers: BatchBuffers, number: int) -> dict[str, Any]:
    """A batch whose every value is ``number``."""
    batch, arrays = buffers.new_batch(LAYOUT, tensors=False)
    for array in arrays.values():
        array.fill(number)
    batch["case"] = [f"case{number}"]
    return batch


def address(batch: dict[str, Any]) -> int:
    return int(batch["image"].__array_interface__["data"][0])


def test_batches_held_at_once_never_share_memory() -> None:
    buffers = BatchBuffers()
    held = [filled(buffers, number) for number in range(MAX_BUFFERS + 3)]
    for number, batch in enumerate(held):
        assert (batch["image"] == number).all()
        assert (batch["box"] == number).all()
        assert batch["case"] == [f"case{number}"]
    assert len({address(batch) for batch in held}) == len(held)
    assert sum(isinstance(batch, Batch) for batch in held) == MAX_BUFFERS  # the rest: own arrays


def test_a_dropped_batch_gives_its_buffer_back() -> None:
    buffers = BatchBuffers()
    first = filled(buffers, 1)
    where = address(first)
    image = first["image"]
    del first
    assert address(filled(buffers, 2)) != where  # one of its arrays is still alive
    del image
    assert address(filled(buffers, 3)) == where


def test_pickled_outside_multiprocessing_it_is_a_plain_dict() -> None:
    buffers = BatchBuffers()
    batch = filled(buffers, 4)
    copy = pickle.loads(pickle.dumps(batch))
    assert type(copy) is dict
    assert copy.keys() == batch.keys()
    np.testing.assert_array_equal(copy["image"], batch["image"])
    where = address(batch)
    del batch
    assert address(filled(buffers, 5)) == where  # not held by the copy


_WORKER_BUFFERS = BatchBuffers()


def _make(number: int) -> dict[str, Any]:
    """In a pool worker: a batch filled with ``number``."""
    return filled(_WORKER_BUFFERS, number)


def test_a_batch_sent_to_another_process_travels_by_reference() -> None:
    with multiprocessing.get_context("fork").Pool(1) as pool:
        held = [pool.apply(_make, (n,)) for n in range(4)]
        # The receiver maps the worker's buffers: four live batches, four buffers.
        for number, batch in enumerate(held):
            assert type(batch) is dict
            assert (batch["image"] == number).all()
            assert batch["case"] == [f"case{number}"]
        assert len({address(batch) for batch in held}) == 4
        mapped = {address(batch) for batch in held}
        del held, batch
        gc.collect()
        # Dropped by the receiver, the buffers are free again: the worker reuses them.
        for number in range(10, 16):
            batch = pool.apply(_make, (number,))
            assert (batch["image"] == number).all()
            assert address(batch) in mapped
            del batch
