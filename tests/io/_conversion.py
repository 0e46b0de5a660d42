"""Small real images and helpers shared by the conversion, dataset, CLI and Dask tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from mlarray import MLArray

AFFINE = np.array(
    [[0.9, 0.1, 0.0, -20.0], [-0.1, 0.9, 0.0, 10.0], [0.0, 0.0, 2.5, 5.0], [0.0, 0.0, 0.0, 1.0]]
)


def volume(seed: int = 0, shape: tuple[int, ...] = (20, 18, 12)) -> np.ndarray:
    """A reproducible int16 volume."""
    return np.random.default_rng(seed).integers(-1000, 3000, size=shape, dtype=np.int16)


def write_nifti(path: Path, seed: int = 0) -> np.ndarray:
    """Write an oblique, anisotropic int16 NIfTI at ``path``; return its data."""
    data = volume(seed)
    image = nib.Nifti1Image(data, AFFINE)
    image.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return data


def write_mla(path: Path, data: np.ndarray, chunks: list[int] | None = None) -> Path:
    """Write ``data`` as a ``.mla`` file (with explicit chunks if given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if chunks is None:
        image = MLArray(data, spacing=[1.0, 1.5, 2.0])
    else:
        blocks = [max(1, edge // 2) for edge in chunks]
        image = MLArray(data, spacing=[1.0, 1.5, 2.0], patch_size=None, chunk_size=chunks,
                        block_size=blocks)  # fmt: skip
    image.save(path)
    return path


def write_corrupt_nifti(path: Path) -> Path:
    """A ``.nii.gz`` whose bytes are not gzip-compressed NIfTI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a NIfTI file" * 20)
    return path


def all_files(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, hidden ones included, relative and sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def run_mlarray(*args: str | os.PathLike[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m mlarray ARGS`` in a subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "mlarray", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
