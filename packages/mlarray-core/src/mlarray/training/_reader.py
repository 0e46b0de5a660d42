"""Per-process open cases (an LRU bounding open files) and reads of padded patch boxes."""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlarray.errors import MetaValidationError
from mlarray.mlarray import MLArray
from mlarray.training._cases import Case
from mlarray.training._core import ForegroundIndex
from mlarray.training._foreground import compute_index
from mlarray.training._index import load_index

__all__ = ["CaseFiles", "IndexNotStoredWarning", "OpenCase", "Source", "read_box"]


class IndexNotStoredWarning(UserWarning):
    """A label file holds no current foreground index: it is computed in memory."""


@dataclass(frozen=True)
class Source:
    """One open file of a case and the output channels it fills.

    Attributes:
        array: The file, opened memory-mapped and read-only.
        first: Its first output channel.
        channels: How many channels it holds (its leading non-spatial axis, or 1).
        has_channel_axis: Whether the file has that leading axis.
    """

    array: MLArray
    first: int
    channels: int
    has_channel_axis: bool

    def target(self, out: np.ndarray[Any, Any], row: int, box: tuple[int, ...]) -> Any:
        """The part of output ``out`` (batch, channel, patch...) this file fills for ``row``."""
        part = out[row : row + 1, self.first : self.first + self.channels]
        return part.reshape((1, self.channels, *box) if self.has_channel_axis else (1, *box))


def _open_source(path: Path, first: int, what: str) -> tuple[Source, tuple[int, ...]]:
    array = MLArray.open(path, mmap_mode="r")
    shape = array.shape
    if shape is None:
        raise MetaValidationError(f"{path}: {what} holds no array (metadata-only file)")
    mask = array.meta.spatial.spatial_axis_mask or [True] * len(shape)
    leading = mask.index(True) if True in mask else len(mask)
    if leading > 1 or not all(mask[leading:]):
        raise MetaValidationError(
            f"{path}: {what}: expected the spatial axes last with at most one channel axis "
            f"before them, got axis labels {array.meta.spatial.axis_labels}"
        )
    channels = shape[0] if leading else 1
    source = Source(array, first, channels, bool(leading))
    return source, tuple(shape[leading:])


@dataclass
class OpenCase:
    """A case with its files open: image sources, label source, spatial shape."""

    case: Case
    images: list[Source]
    label: Source | None
    shape: tuple[int, ...]
    channels: int
    index: ForegroundIndex | None = field(default=None)

    @classmethod
    def open(cls, case: Case) -> OpenCase:
        """Open every file of ``case`` and check that their spatial shapes agree.

        Raises:
            ValueError: A file's axes do not fit, or spatial shapes differ.
        """
        images: list[Source] = []
        shape: tuple[int, ...] | None = None
        channels = 0
        for path in case.images:
            source, spatial = _open_source(path, channels, f"case {case.name!r} image")
            shape = shape or spatial
            _same(shape, spatial, path, case)
            images.append(source)
            channels += source.channels
        assert shape is not None
        label = None
        if case.label is not None:
            label, spatial = _open_source(case.label, 0, f"case {case.name!r} label")
            _same(shape, spatial, case.label, case)
            if label.channels != 1:
                raise MetaValidationError(
                    f"{case.label}: a label has one channel, got {label.channels}"
                )
        return cls(case, images, label, shape, channels)

    def foreground_index(self) -> ForegroundIndex | None:
        """The label's foreground index: stored in the file, else computed once in memory."""
        if self.index is None and self.label is not None:
            path = self.case.label
            assert path is not None
            self.index = load_index(path)
            if self.index is None:
                warnings.warn(
                    f"{path}: no current foreground index stored; computing it in memory "
                    "(run 'mlarray index' on the labels once to skip this)",
                    IndexNotStoredWarning,
                    stacklevel=2,
                )
                self.index = compute_index(self.label.array, source=str(path))
        return self.index

    def close(self) -> None:
        """Close every file of the case."""
        for source in [*self.images, *([self.label] if self.label else [])]:
            source.array.close()

    @property
    def open_files(self) -> int:
        """How many files this case holds open."""
        return len(self.images) + (self.label is not None)


def _same(expected: tuple[int, ...], found: tuple[int, ...], path: Path, case: Case) -> None:
    if expected != found:
        raise MetaValidationError(
            f"{path}: case {case.name!r}: spatial shape {list(found)} differs from its first "
            f"image's {list(expected)}"
        )


class CaseFiles:
    """The cases a process has open, least recently used closed beyond ``max_open_files``.

    Handles are opened lazily, in the process that reads (a DataLoader worker), and
    dropped when the object is pickled or used in a forked child.

    Args:
        cases: The dataset's cases.
        max_open_files: Upper bound on files held open (at least one case's files).
    """

    def __init__(self, cases: Sequence[Case], *, max_open_files: int) -> None:
        self.cases = list(cases)
        self.max_open_files = max_open_files
        self._open: OrderedDict[int, OpenCase] = OrderedDict()
        self._indexes: dict[int, ForegroundIndex | None] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_open"], state["_indexes"], state["_pid"] = OrderedDict(), {}, -1
        return state

    def get(self, number: int) -> OpenCase:
        """Case ``number``, opened if needed."""
        if self._pid != os.getpid():  # a forked child: the parent's handles are not ours
            self._open, self._indexes, self._pid = OrderedDict(), {}, os.getpid()
        opened = self._open.get(number)
        if opened is not None:
            self._open.move_to_end(number)
            return opened
        opened = OpenCase.open(self.cases[number])
        opened.index = self._indexes.get(number)
        self._open[number] = opened
        while len(self._open) > 1 and self.open_files > self.max_open_files:
            _, evicted = self._open.popitem(last=False)
            evicted.close()
        return opened

    def foreground_index(self, number: int) -> ForegroundIndex | None:
        """The foreground index of case ``number`` (kept after its files are closed)."""
        index = self.get(number).foreground_index()
        self._indexes[number] = index
        return index

    @property
    def open_files(self) -> int:
        """How many files are open now."""
        return sum(opened.open_files for opened in self._open.values())


def read_box(
    source: Source,
    start: tuple[int, ...],
    box: tuple[int, ...],
    target: np.ndarray[Any, Any],
    pad: float,
) -> None:
    """Read the patch at ``start`` (may leave the volume) into ``target``, padding with ``pad``.

    ``target`` is the (1, [channels,] *box) view of an output row. A box inside the
    volume of the file's dtype is decoded straight into it; otherwise the part inside
    is read and copied, the rest filled with ``pad``.
    """
    shape = tuple(source.array.shape or ())[-len(box) :]
    inside = all(s >= 0 and s + b <= n for s, b, n in zip(start, box, shape, strict=True))
    if inside and target.dtype == source.array.dtype:
        source.array.read_patches([start], box, out=target)
        return
    low = [max(0, s) for s in start]
    high = [min(n, s + b) for s, b, n in zip(start, box, shape, strict=True)]
    if not inside:
        target.fill(pad)
    if any(h <= lo for lo, h in zip(low, high, strict=True)):
        return
    size = [h - lo for lo, h in zip(low, high, strict=True)]
    part = source.array.read_patches([low], size)
    lead = (slice(None),) * (target.ndim - len(box))
    region = tuple(slice(lo - s, h - s) for lo, h, s in zip(low, high, start, strict=True))
    target[(*lead, *region)] = part
