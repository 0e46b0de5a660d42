"""CT-like training cases as a raw nnU-Net dataset (NIfTI), for nnU-Net's own preprocessing.

Each case is the synthetic CT of ``benchmarks/data.py`` (int16 Hounsfield units) at
about 160 x 256 x 256 with its own seed and shape, plus a uint8 label with three
classes: the lungs (large), organs and vessels (medium) and a small spherical
lesion that only some cases have. nnU-Net's preprocessing then z-normalizes the
images to float32 and writes its own files; every other format is converted from
what it wrote, so all loaders read the same voxels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data import synthetic_ct

LABELS = {"background": 0, "lung": 1, "organ": 2, "lesion": 3}
DATASET_ID = 501
DATASET_NAME = f"Dataset{DATASET_ID}_LoaderBench"


def case_shape(number: int, quick: bool) -> tuple[int, int, int]:
    """The (z, y, x) shape of case ``number``: about 160 x 256 x 256, slightly varied."""
    if quick:
        return (128 + 8 * (number % 2), 144, 160)
    return (152 + 8 * (number % 3), 248 + 8 * (number % 2), 256)


def make_case(number: int, quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """The int16 CT and its uint8 three-class label for case ``number``."""
    shape = case_shape(number, quick)
    ct, tissue = synthetic_ct(shape, seed=1000 + number)
    label = np.zeros(shape, np.uint8)
    label[tissue == 2] = 1
    label[tissue == 4] = 2
    if number % 2 == 0:  # a small lesion in half of the cases
        rng = np.random.default_rng(number)
        body = np.argwhere(tissue == 1)
        centre = body[rng.integers(len(body))]
        grid = np.ogrid[tuple(slice(0, n) for n in shape)]
        radius = 4 + number % 5
        ball = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2
        label[ball] = 3
        ct[ball] = 70
    return ct, label


def write_raw_dataset(root: Path, count: int, *, quick: bool) -> Path:
    """Write nnU-Net's raw layout (NIfTI, 1 mm spacing) for ``count`` cases; return its folder."""
    import nibabel

    folder = root / DATASET_NAME
    (folder / "imagesTr").mkdir(parents=True, exist_ok=True)
    (folder / "labelsTr").mkdir(exist_ok=True)
    for number in range(count):
        name = f"case_{number:03d}"
        ct, label = make_case(number, quick)
        # nibabel's voxel order is (i, j, k) = (x, y, z): store the volume transposed.
        nibabel.save(
            nibabel.Nifti1Image(ct.transpose(2, 1, 0), np.eye(4)),
            folder / "imagesTr" / f"{name}_0000.nii.gz",
        )
        nibabel.save(
            nibabel.Nifti1Image(label.transpose(2, 1, 0), np.eye(4)),
            folder / "labelsTr" / f"{name}.nii.gz",
        )
    description = {
        "channel_names": {"0": "CT"},
        "labels": LABELS,
        "numTraining": count,
        "file_ending": ".nii.gz",
    }
    (folder / "dataset.json").write_text(json.dumps(description, indent=2), encoding="utf-8")
    return folder
