"""The patch sampler: which case and which box each patch of each batch comes from.

Planning (:meth:`PatchSampler.plan`) needs only the number of cases: it runs in the
main process and sends small :class:`PatchRequest` records to the workers, which
turn them into boxes (:meth:`PatchSampler.locate`) once they have opened the case.
Every random choice comes from a generator seeded with ``(seed, rank, epoch, batch,
slot)``, so the stream is the same for any number of workers and any start method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlarray.errors import MetaValidationError
from mlarray.training._core import ForegroundIndex, LabelIndex
from mlarray.training._oversampling import NoOversampling, Oversampling

__all__ = ["NoForegroundWarning", "PatchRequest", "PatchSampler"]


class NoForegroundWarning(UserWarning):
    """A patch meant to hold foreground was drawn uniformly: its case has no foreground."""


@dataclass(frozen=True)
class PatchRequest:
    """One patch to read: the case, whether to centre it on foreground, and its seed.

    Attributes:
        case: Index of the case in the dataset's case list.
        foreground: Centre the patch on a voxel of a label.
        key: Seeds the patch's random choices: ``(seed, rank, epoch, batch, slot)``.
    """

    case: int
    foreground: bool
    key: tuple[int, ...]


def _sizes(values: int | Sequence[int], name: str) -> tuple[int, ...]:
    sizes = (values,) if isinstance(values, int) else tuple(values)
    if not sizes or not all(isinstance(v, int | np.integer) and v > 0 for v in sizes):
        raise MetaValidationError(f"{name}: expected positive integers, got {values!r}")
    return tuple(int(v) for v in sizes)


class PatchSampler:
    """Plans batches of patches and places each patch in its case.

    Args:
        num_cases: How many cases the dataset has.
        patch_size: The patch size per spatial axis (anisotropic sizes welcome), or
            one int for every spatial axis. One value fewer than the volumes' spatial
            axes draws 2D patches from 3D volumes, sliced along ``slice_axis``.
        batch_size: Patches per batch.
        oversampling: Which patches are centred on foreground
            (:class:`BatchTailOversampling`, nnU-Net's rule, or
            :class:`ProbabilisticOversampling`); default none.
        label_weights: Relative weight of each label when a foreground patch picks
            the label to centre on; labels not listed weigh 1, weight 0 never picks
            a label. Default: every label present in the case equally (nnU-Net).
        seed: Base seed of the stream.
        rank: This process's rank in distributed training.
        world_size: The number of ranks. Each epoch the cases are shuffled and dealt
            out: ranks draw from disjoint sets of cases (``num_cases // world_size``
            each; the rest sit the epoch out).
        batches_per_epoch: None (default): every case of the rank's share once per
            epoch, in shuffled order. A number: that many full batches, cases drawn
            at random with replacement from the rank's share (nnU-Net's iterations).
        slice_axis: The spatial axis along which 2D patches are sliced.

    Raises:
        ValueError: An argument is out of range.
    """

    def __init__(
        self,
        num_cases: int,
        *,
        patch_size: int | Sequence[int],
        batch_size: int,
        oversampling: Oversampling | None = None,
        label_weights: Mapping[int, float] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        batches_per_epoch: int | None = None,
        slice_axis: int = 0,
    ) -> None:
        if not 0 <= rank < world_size or num_cases < world_size:
            raise MetaValidationError(
                f"sampler: rank {rank} of world size {world_size} over {num_cases} cases; "
                "expected 0 <= rank < world_size <= number of cases"
            )
        if batch_size < 1 or (batches_per_epoch is not None and batches_per_epoch < 1):
            raise MetaValidationError(
                f"sampler: batch_size {batch_size} and batches_per_epoch {batches_per_epoch} "
                "must be positive"
            )
        weights = dict(label_weights or {})
        if any(w < 0 for w in weights.values()):
            raise MetaValidationError(f"label_weights: expected weights >= 0, got {weights}")
        self.num_cases = num_cases
        sizes = _sizes(patch_size, "patch_size")
        self.patch_size = patch_size if isinstance(patch_size, int) else sizes
        self.batch_size = batch_size
        self.oversampling = oversampling or NoOversampling()
        self.label_weights = weights
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.batches_per_epoch = batches_per_epoch
        self.slice_axis = slice_axis

    # ------------------------------------------------------------------ planning
    def shard(self, epoch: int) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
        """The cases this rank draws from in ``epoch`` (disjoint from other ranks')."""
        order = np.random.default_rng((self.seed, epoch)).permutation(self.num_cases)
        share = self.num_cases // self.world_size
        return order[self.rank :: self.world_size][:share]

    def plan(self, epoch: int) -> list[list[PatchRequest]]:
        """The batches of ``epoch`` for this rank, each a list of patch requests."""
        shard = self.shard(epoch)
        rng = np.random.default_rng((self.seed, self.rank, epoch, 2**32))
        if self.batches_per_epoch is None:
            cases = shard
        else:
            cases = rng.choice(shard, size=self.batches_per_epoch * self.batch_size)
        batches = []
        for number, first in enumerate(range(0, len(cases), self.batch_size)):
            members = cases[first : first + self.batch_size]
            batch = []
            for slot, case in enumerate(members.tolist()):
                key = (self.seed, self.rank, epoch, number, slot)
                foreground = self.oversampling.foreground(
                    slot, len(members), np.random.default_rng(key)
                )
                batch.append(PatchRequest(int(case), foreground, key))
            batches.append(batch)
        return batches

    # ------------------------------------------------------------------ placing
    def patch_shape(self, spatial_ndim: int) -> tuple[int, ...]:
        """The shape of the patches returned from volumes with ``spatial_ndim`` axes."""
        if isinstance(self.patch_size, int):
            return (self.patch_size,) * spatial_ndim
        self.box_shape(spatial_ndim)  # checks that it fits
        return tuple(self.patch_size)

    def box_shape(self, spatial_ndim: int) -> tuple[int, ...]:
        """The patch's extent over all spatial axes (1 along the slice axis of 2D patches).

        Raises:
            ValueError: The patch size fits neither the volume nor a slice of it.
        """
        if isinstance(self.patch_size, int):
            return (self.patch_size,) * spatial_ndim
        size = self.patch_size
        if len(size) == spatial_ndim:
            return size
        if len(size) == spatial_ndim - 1 and 0 <= self.slice_axis < spatial_ndim:
            return (*size[: self.slice_axis], 1, *size[self.slice_axis :])
        raise MetaValidationError(
            f"patch_size {list(size)} fits neither {spatial_ndim}-D volumes nor their slices "
            f"along axis {self.slice_axis}"
        )

    def locate(
        self, request: PatchRequest, shape: tuple[int, ...], index: ForegroundIndex | None
    ) -> tuple[int, ...]:
        """The start of the patch in its case's spatial axes (negative where it pads).

        Uniform patches start anywhere from ``-pad // 2`` to ``shape - size + pad // 2
        + pad % 2``, where ``pad`` is what the patch exceeds the volume by (nnU-Net's
        rule). Foreground patches are centred on a sampled voxel of a label chosen
        with the label weights, shifted as little as needed to stay in that range.

        Args:
            request: The patch request.
            shape: The case's spatial shape.
            index: The foreground index of its label (spatial axes last), or None.
        """
        box = self.box_shape(len(shape))
        need = [max(0, b - s) for b, s in zip(box, shape, strict=True)]
        low = [-n // 2 for n in need]
        high = [s + n // 2 + n % 2 - b for s, n, b in zip(shape, need, box, strict=True)]
        rng = np.random.default_rng(request.key)
        if request.foreground:
            voxel = self._foreground_voxel(index, rng, len(shape))
            if voxel is not None:
                return tuple(
                    int(min(max(v - b // 2, lo), hi))
                    for v, b, lo, hi in zip(voxel, box, low, high, strict=True)
                )
        return tuple(int(rng.integers(lo, hi + 1)) for lo, hi in zip(low, high, strict=True))

    def eligible(self, index: ForegroundIndex | None) -> list[LabelIndex]:
        """The labels of ``index`` a foreground patch may centre on (present, weight > 0)."""
        if index is None:
            return []
        return [e for e in index.labels if len(e.samples) and self._weight(e) > 0]

    def _foreground_voxel(
        self, index: ForegroundIndex | None, rng: np.random.Generator, ndim: int
    ) -> tuple[int, ...] | None:
        labels = self.eligible(index)
        if index is None or not labels:
            return None
        weights = np.array([self._weight(e) for e in labels], dtype=np.float64)
        label = labels[int(rng.choice(len(labels), p=weights / weights.sum()))]
        coordinates = index.coordinates(label, int(rng.integers(len(label.samples))))
        return coordinates[len(coordinates) - ndim :]

    def _weight(self, label: LabelIndex) -> float:
        return float(self.label_weights.get(label.value, 1.0))
