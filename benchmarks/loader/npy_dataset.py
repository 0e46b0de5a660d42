"""The speed ceiling: uncompressed .npy memory maps, read with mlarray's sampler.

The same plans and boxes as ``mlarray.training.PatchDataset`` (same sampler, the
same foreground index, computed here from the label arrays), read with NumPy
slicing from memory-mapped ``.npy`` files into the batch arrays, which are handed
to the main process the way ours are (reused shared buffers), so that only the
reading differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlarray.training import BatchTailOversampling, PatchSampler
from mlarray.training._batch import BatchLayout
from mlarray.training._buffers import BatchBuffers
from mlarray.training._foreground import compute_index


class NpyPatchDataset:
    """Batches of ``batch`` patches of ``patch``^3 voxels from ``folder``'s .npy pairs."""

    def __init__(self, folder: Path, *, patch: int, batch: int, batches: int, seed: int) -> None:
        self.names = sorted(p.stem for p in folder.glob("*.npy") if not p.stem.endswith("_seg"))
        self.folder = folder
        self.sampler = PatchSampler(
            len(self.names),
            patch_size=patch,
            batch_size=batch,
            oversampling=BatchTailOversampling(0.33),
            batches_per_epoch=batches,
            seed=seed,
        )
        self.plan = self.sampler.plan(0)
        self.indexes = [
            compute_index(np.load(folder / f"{name}_seg.npy", mmap_mode="r")) for name in self.names
        ]
        self.patch = patch
        self.buffers = BatchBuffers()

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, number: int) -> dict[str, Any]:
        requests = self.plan[number]
        shape = (len(requests), 1, *(self.patch,) * 3)
        layout = BatchLayout.pack([("image", shape, np.float32), ("label", shape, np.uint8)])
        batch, arrays = self.buffers.new_batch(layout, tensors=True)
        image, label = arrays["image"], arrays["label"]
        for row, request in enumerate(requests):
            name = self.names[request.case]
            data = np.load(self.folder / f"{name}.npy", mmap_mode="r")
            seg = np.load(self.folder / f"{name}_seg.npy", mmap_mode="r")
            start = self.sampler.locate(request, seg.shape, self.indexes[request.case])
            low = [max(0, s) for s in start]
            high = [min(n, s + self.patch) for s, n in zip(start, seg.shape, strict=True)]
            inner = tuple(slice(a - s, b - s) for a, b, s in zip(low, high, start, strict=True))
            outer = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
            if any(s < 0 for s in start) or any(
                b - a < self.patch for a, b in zip(low, high, strict=True)
            ):
                image[row] = 0
                label[row] = 0
            image[(row, slice(None), *inner)] = data[(slice(None), *outer)]
            label[(row, 0, *inner)] = seg[outer]
        return batch
