"""Random patches from .mla files in a PyTorch DataLoader with worker processes.

The dataset object that the DataLoader copies into its workers holds only file
paths; every worker process opens the files itself, memory-mapped, with one
decompression thread. Without PyTorch installed, the same dataset runs in a plain
Python loop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import MLArray


class RandomPatchDataset:
    """A map-style dataset of random fixed-size patches from a list of .mla files.

    Item ``index`` depends only on ``(seed, index)``: which worker reads it, and
    in which order, does not change the patch.
    """

    def __init__(
        self, paths: Sequence[str | Path], patch_size: Sequence[int], length: int, seed: int = 0
    ) -> None:
        self.paths = [str(path) for path in paths]
        self.patch_size = tuple(patch_size)
        self.length = length
        self.seed = seed
        self._images: dict[str, MLArray] = {}
        self._pid: int | None = None

    def __len__(self) -> int:
        return self.length

    def _open(self, path: str) -> MLArray:
        """Return this process's handle on ``path``, opening it on first use."""
        if self._pid != os.getpid():  # first use in this process (e.g. a forked worker)
            self._images, self._pid = {}, os.getpid()
        if path not in self._images:
            self._images[path] = MLArray.open(path, mmap_mode="r", dparams={"nthreads": 1})
        return self._images[path]

    def __getitem__(self, index: int) -> tuple[np.ndarray[Any, Any], int]:
        rng = np.random.default_rng([self.seed, index])
        case = int(rng.integers(len(self.paths)))
        image = self._open(self.paths[case])
        assert image.shape is not None
        corner = [
            int(rng.integers(0, size - patch + 1))
            for size, patch in zip(image.shape, self.patch_size, strict=True)
        ]
        region = tuple(
            slice(start, start + patch)
            for start, patch in zip(corner, self.patch_size, strict=True)
        )
        patch = image[region].astype(np.float32)  # decompresses only the blocks it touches
        return patch[np.newaxis], case  # (1, *patch_size): a channel axis for the model

    def __getstate__(self) -> dict[str, Any]:
        # Sent to spawned workers: paths only; open files stay in their process.
        state = self.__dict__.copy()
        state["_images"], state["_pid"] = {}, None
        return state


def make_example_files(folder: Path, count: int = 4) -> list[Path]:
    """Write a few float32 volumes of different lengths, laid out for the patch size."""
    rng = np.random.default_rng(0)
    paths = []
    for case in range(count):
        volume = rng.normal(size=(64 + 16 * case, 96, 96)).astype(np.float32)
        path = folder / f"case_{case:03d}.mla"
        MLArray(volume, spacing=[1.0, 1.0, 1.0], patch_size=(32, 64, 64)).save(path)
        paths.append(path)
    return paths


def main() -> None:
    paths = make_example_files(Path.cwd())
    dataset = RandomPatchDataset(paths, patch_size=(32, 64, 64), length=64)

    try:
        from torch.utils.data import DataLoader
    except ImportError:  # no PyTorch: the same batches, read in this process
        for start in range(0, len(dataset), 8):
            items = [dataset[index] for index in range(start, start + 8)]
            patches = np.stack([patch for patch, _ in items])
            cases = np.array([case for _, case in items])
        print("without torch:", patches.shape, cases.shape)  # (8, 1, 32, 64, 64) (8,)
        return

    loader = DataLoader(
        dataset,
        batch_size=8,
        shuffle=True,
        num_workers=2,  # two processes, each opening the files itself
        persistent_workers=True,  # keep the workers (and their open files) across epochs
    )
    for epoch in range(2):
        for patches, cases in loader:  # torch tensors, collated from the NumPy patches
            assert tuple(patches.shape) == (8, 1, 32, 64, 64)
            assert tuple(cases.shape) == (8,)
            # the training step goes here
        print(f"epoch {epoch}: {len(loader)} batches read by 2 workers")


if __name__ == "__main__":  # required where workers are spawned (macOS, Windows)
    main()
