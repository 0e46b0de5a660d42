"""The in-memory backings of an :class:`~mlarray.MLArray`: NumPy and Blosc2 arrays.

A new array is planned and made by :func:`new_array`; :func:`loaded` reads a
whole file into memory (``MLArray.load``), whose Blosc2 array then reads the
bytes read from the file (:class:`LoadedBacking`) until its first write gives it
a frame of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._array_facts import record_new_array, record_storage
from mlarray._backing import NO_ARRAY, Backing
from mlarray._file_backing import fit_meta_to_array
from mlarray._integrity import ChunkVerifier
from mlarray._limits import creation_errors
from mlarray._opened import load_checked
from mlarray._storage import StoragePlan, StorageSpec
from mlarray.meta import Meta

__all__ = [
    "Blosc2Backing",
    "LoadedBacking",
    "NumpyBacking",
    "in_memory",
    "loaded",
    "new_array",
    "of_values",
    "unpickled",
]


class NumpyBacking(Backing):
    """A NumPy array in memory (``compressed=False``), compressed as ``plan`` says on save."""

    def __init__(self, array: np.ndarray[Any, Any], plan: StoragePlan) -> None:
        self._array = array
        self._plan = plan
        self.shape, self.dtype = array.shape, array.dtype

    @property
    def array(self) -> np.ndarray[Any, Any]:
        """The NumPy array."""
        return self._array

    def write(self, key: Any, value: Any) -> Backing:
        """Write into the NumPy array (NumPy broadcasts ``value``)."""
        self._array[key] = value
        return self

    def plan(self, patch_size: Sequence[float] | None, dparams: dict[str, Any]) -> StoragePlan:
        """The plan the array was made (or decompressed) with."""
        return self._plan

    def write_array(self, path: Path) -> None:
        """Compress the array into a new Blosc2 file at ``path``."""
        self._plan.compress(self._array, urlpath=path)

    def pickled(self) -> dict[str, Any]:
        """The NumPy array itself, and its plan."""
        return {"data": self._array, "plan": self._plan}


class Blosc2Backing(Backing):
    """A Blosc2 NDArray in memory, owning its frame.

    Args:
        array: The NDArray.
        plan: How it was planned (with the record of an automatic choice), or None
            when it came from a file: then read from the array when needed.
    """

    def __init__(self, array: Any, plan: StoragePlan | None) -> None:
        self._array = array
        self._plan = plan
        self.shape, self.dtype = tuple(array.shape), np.dtype(array.dtype)

    @property
    def array(self) -> Any:
        """The Blosc2 NDArray."""
        return self._array

    def write(self, key: Any, value: Any) -> Backing:
        """Write into the NDArray."""
        array, value = self.prepared(key, value)
        array[key] = value
        return self

    def plan(self, patch_size: Sequence[float] | None, dparams: dict[str, Any]) -> StoragePlan:
        """The array's plan, read from it (once) when it was not planned here."""
        if self._plan is None:
            self._plan = super().plan(patch_size, dparams)
        return self._plan

    def pickled(self) -> dict[str, Any]:
        """The array's frame as bytes, and its plan."""
        return {"data": self._array.to_cframe(), "plan": self._plan}


class LoadedBacking(Blosc2Backing):
    """A Blosc2 NDArray reading the bytes of a loaded file, which it does not own.

    Blosc2 cannot grow a borrowed frame: the first write copies the array into a
    :class:`Blosc2Backing` of its own.
    """

    def write(self, key: Any, value: Any) -> Backing:
        """Copy the array into a frame of its own, then write there."""
        self.require("write")
        return Blosc2Backing(self._array.copy(), self._plan).write(key, value)


def in_memory(array: Any, plan: StoragePlan | None) -> Backing:
    """The backing of ``array``: NumPy, Blosc2, or none (``array`` None)."""
    if array is None:
        return NO_ARRAY
    if isinstance(array, np.ndarray):
        assert plan is not None  # NumPy arrays are always planned before they are kept
        return NumpyBacking(array, plan)
    return Blosc2Backing(array, plan)


def new_array(
    meta: Meta,
    spec: StorageSpec,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    produce: Callable[[StoragePlan | None], Any],
    *,
    values: np.ndarray[Any, Any] | None = None,
) -> tuple[Any, StoragePlan]:
    """Plan the storage of a new array as ``spec`` says, make it, and record it in ``meta``.

    ``produce(plan)`` returns a Blosc2 NDArray stored as planned; ``produce(None)``
    returns a NumPy array (``compressed=False``). The array's ``values``, when
    known, let the storage be chosen for them.

    Returns:
        The array made and its plan.
    """
    record_new_array(meta, shape)
    plan = spec.plan(meta, shape, dtype, values=values)
    how = f", chunks {plan.chunk_size}, codec {plan.codec}" if spec.compressed else ""
    with creation_errors(shape, dtype, how):
        array = produce(plan if spec.compressed else None)
    record_storage(meta, plan, array)
    return array, plan


def of_values(values: np.ndarray[Any, Any]) -> Callable[[StoragePlan | None], Any]:
    """What :func:`new_array` makes of ``values``: themselves, or compressed as planned."""
    return lambda plan: values if plan is None else plan.compress(values)


def loaded(
    path: Path, *, dparams: dict[str, Any], verify: bool, compressed: bool
) -> tuple[Meta, Backing]:
    """Read the file at ``path`` whole, as :meth:`~mlarray.MLArray.load` documents.

    Returns:
        Its metadata and the backing of its array.
    """
    header, store = load_checked(path, dparams=dparams)
    meta = header.meta
    if not meta._has_array.value:
        return meta, NO_ARRAY
    backing = LoadedBacking(store, fit_meta_to_array(path, meta, store, dparams))
    if verify:
        verifier = ChunkVerifier.for_file(path, store, header.mapping)
        if verifier is not None:
            verifier.check_all()
    if not compressed:
        plan = backing.plan(meta.blosc2.patch_size, dparams)  # to compress it again on save
        return meta, NumpyBacking(backing.to_numpy(), plan)
    return meta, backing


def unpickled(state: dict[str, Any], dparams: dict[str, Any]) -> Backing:
    """The in-memory backing pickled by :meth:`~mlarray._backing.Backing.pickled`."""
    data = state["data"]
    if isinstance(data, bytes):
        data = blosc2.ndarray_from_cframe(data, copy=True)
        data.schunk.dparams = blosc2.DParams(**dparams)
    return in_memory(data, state["plan"])
