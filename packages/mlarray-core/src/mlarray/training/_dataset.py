"""The patch dataset: whole batches read straight into their output arrays.

It is a map-style dataset of batches for ``torch.utils.data.DataLoader(dataset,
batch_size=None, ...)``, and plain Python otherwise (iterate it, or map it over a
multiprocessing pool). Item ``i`` is batch ``i`` of the current epoch; keys
``(epoch, i)`` name a batch of any epoch (what :meth:`PatchDataset.epoch_keys` yields, so
that persistent workers follow the epoch set in the main process).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from mlarray.errors import MetaValidationError
from mlarray.training._batch import BatchLayout
from mlarray.training._buffers import BatchBuffers
from mlarray.training._cases import Case
from mlarray.training._reader import CaseFiles, OpenCase, read_box
from mlarray.training._sampler import NoForegroundWarning, PatchRequest, PatchSampler
from mlarray.training._torch import require_torch

__all__ = ["EpochKeys", "PatchDataset"]

BatchKey = tuple[int, int]


class PatchDataset:
    """Batches of patches from training cases, for a DataLoader or a plain loop.

    Each batch is a dict: ``"image"`` (batch, channels, *patch) in the images' dtype,
    ``"label"`` (batch, 1, *patch) when the cases have labels, ``"case"`` (the case
    names) and ``"box"`` (batch, spatial axes, 2): each patch's ``[start, stop)`` in
    its volume, beyond the borders where it was padded. NumPy arrays, or PyTorch
    tensors with ``tensors=True``.

    Args:
        cases: The cases (see :func:`nnunet_cases` and :meth:`Case.from_paths`).
        sampler: Plans the batches; its ``num_cases`` is ``len(cases)``.
        image_pad: Value of image voxels outside the volume.
        label_pad: Value of label voxels outside the volume (a value the label dtype
            cannot hold, such as nnU-Net's -1 for uint8, widens the label dtype).
        tensors: Return PyTorch tensors (needs ``mlarray-core[torch]``).
        max_open_files: Files each process keeps open at most (least recently used
            cases are closed).

    Raises:
        ValueError: The sampler was made for another number of cases.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        sampler: PatchSampler,
        *,
        image_pad: float = 0.0,
        label_pad: int = 0,
        tensors: bool = False,
        max_open_files: int = 64,
    ) -> None:
        if sampler.num_cases != len(cases):
            raise MetaValidationError(
                f"the sampler plans for {sampler.num_cases} cases, the dataset has {len(cases)}"
            )
        if tensors:
            require_torch("PatchDataset(tensors=True)")
        self.cases = list(cases)
        self.sampler = sampler
        self.image_pad = image_pad
        self.label_pad = label_pad
        self.tensors = tensors
        self.epoch = 0
        self._files = CaseFiles(self.cases, max_open_files=max_open_files)
        self._buffers = BatchBuffers()
        self._plans: dict[int, list[list[PatchRequest]]] = {}
        self._warned: set[int] = set()

    def set_epoch(self, epoch: int) -> None:
        """Make ``epoch`` the current epoch (new cases and boxes)."""
        self.epoch = epoch

    def plan(self, epoch: int) -> list[list[PatchRequest]]:
        """The batches of ``epoch`` (computed once per epoch)."""
        if epoch not in self._plans:
            self._plans = {epoch: self.sampler.plan(epoch)}
        return self._plans[epoch]

    def __len__(self) -> int:
        return len(self.plan(self.epoch))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for number in range(len(self)):
            yield self[number]

    def epoch_keys(self) -> EpochKeys:
        """A DataLoader ``sampler`` yielding the current epoch's batch keys."""
        return EpochKeys(self)

    def __getitem__(self, key: int | BatchKey) -> dict[str, Any]:
        epoch, number = (self.epoch, key) if isinstance(key, int | np.integer) else key
        batches = self.plan(int(epoch))
        if not -len(batches) <= number < len(batches):
            raise IndexError(f"batch {number} of epoch {epoch}: the epoch has {len(batches)}")
        return self.read(batches[number])

    def read(self, requests: Sequence[PatchRequest]) -> dict[str, Any]:
        """Read one planned batch (into a buffer that is reused once the batch is garbage)."""
        layout = self._layout(requests[0].case, len(requests))
        batch, arrays = self._buffers.new_batch(layout, tensors=self.tensors)
        batch["case"] = self._read_into(requests, arrays)
        return batch

    def _layout(self, case: int, rows: int) -> BatchLayout:
        """The arrays of a batch of ``rows`` patches whose first patch is from ``case``."""
        first = self._files.get(case)
        box = self.sampler.box_shape(len(first.shape))
        patch = self.sampler.patch_shape(len(first.shape))
        arrays = [("image", (rows, first.channels, *patch), _dtype(first))]
        if first.label is not None:
            dtype = np.result_type(first.label.array.dtype, np.min_scalar_type(self.label_pad))
            arrays.append(("label", (rows, 1, *patch), dtype))
        arrays.append(("box", (rows, len(box), 2), np.dtype(np.int64)))
        return BatchLayout.pack(arrays)

    def _read_into(self, requests: Sequence[PatchRequest], arrays: dict[str, Any]) -> list[str]:
        """Read one planned batch into ``arrays`` (as :meth:`BatchLayout.carve` returns).

        Returns:
            The case name of each patch.
        """
        image, label, boxes = arrays["image"], arrays.get("label"), arrays["box"]
        box = self.sampler.box_shape(boxes.shape[1])
        names = []
        for row, request in enumerate(requests):
            case = self._place(request, row, boxes, image.shape[1], label is not None)
            for source in case.images:
                target = source.target(image, row, box)
                read_box(source, tuple(boxes[row, :, 0]), box, target, self.image_pad)
            if label is not None and case.label is not None:
                target = case.label.target(label, row, box)
                read_box(case.label, tuple(boxes[row, :, 0]), box, target, self.label_pad)
            names.append(case.case.name)
        return names

    def _place(
        self, request: PatchRequest, row: int, boxes: Any, channels: int, labelled: bool
    ) -> OpenCase:
        """Open the request's case, check it fits the batch, and record its box."""
        case = self._files.get(request.case)
        if case.channels != channels or (case.label is not None) != labelled:
            raise MetaValidationError(
                f"case {case.case.name!r}: {case.channels} channels and "
                f"{'a' if case.label else 'no'} label; the batch has {channels} and "
                f"{'a' if labelled else 'no'} label"
            )
        index = None
        if request.foreground:
            index = self._files.foreground_index(request.case)
            if not self.sampler.eligible(index) and request.case not in self._warned:
                self._warned.add(request.case)
                warnings.warn(
                    f"case {case.case.name!r}: no foreground voxel of a label with non-zero "
                    "weight; its foreground patches are drawn uniformly",
                    NoForegroundWarning,
                    stacklevel=4,
                )
        start = self.sampler.locate(request, case.shape, index)
        box = self.sampler.box_shape(len(case.shape))
        boxes[row, :, 0] = start
        boxes[row, :, 1] = [s + b for s, b in zip(start, box, strict=True)]
        return case


def _dtype(case: OpenCase) -> np.dtype[Any]:
    dtype: np.dtype[Any] = np.result_type(*(source.array.dtype for source in case.images))
    return dtype


class EpochKeys:
    """The keys ``(epoch, batch)`` of a dataset's current epoch, for a DataLoader ``sampler``.

    Evaluated in the main process when each epoch's iteration starts, so workers
    (persistent ones too) read the batches of the epoch set with
    :meth:`PatchDataset.set_epoch`.
    """

    def __init__(self, dataset: PatchDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[BatchKey]:
        epoch = self.dataset.epoch
        return iter([(epoch, number) for number in range(len(self.dataset))])
