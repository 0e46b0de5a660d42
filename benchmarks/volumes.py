"""The benchmark's volumes beyond the synthetic CT: smoother CT, real MRI, masks, 4D, odd shape.

Every volume is deterministic: generated from a seed, or read from the MNI152
2009a templates (T1, grey and white matter) that the nilearn package ships.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

MNI_FOLDER = "datasets/data"
MNI_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}
PARCELS_PER_AXIS = (5, 6, 6)
"""Grid of the many-label mask: 5 x 6 x 6 cells, those inside the body labelled."""
PARCEL_COUNT = "100+"


def mni(kind: str = "t1") -> np.ndarray:
    """One MNI152 2009a template that nilearn ships (uint8, 197x233x189), in nibabel order."""
    import nibabel as nib
    import nilearn

    path = os.path.join(os.path.dirname(nilearn.__file__), MNI_FOLDER, MNI_FILES[kind])
    image: Any = nib.load(path)
    return np.ascontiguousarray(np.asanyarray(image.dataobj))


def z_normalized_foreground(image: np.ndarray) -> np.ndarray:
    """``(image - mean) / std`` over the non-zero voxels, as float32 (nnU-Net's MRI scheme)."""
    values = image[image != 0].astype(np.float64)
    mean, std = np.float32(values.mean()), np.float32(values.std())
    return ((image.astype(np.float32) - mean) / std).astype(np.float32)


def mni_multichannel() -> np.ndarray:
    """T1, grey and white matter templates stacked channel-first, each z-normalized: 4D float32."""
    return np.stack([z_normalized_foreground(mni(kind)) for kind in ("t1", "gm", "wm")])


def binary_mask(labels: np.ndarray, label: int) -> np.ndarray:
    """A two-label mask (0/1, uint8) of one class of a label map."""
    return (labels == label).astype(np.uint8)


def parcellation(labels: np.ndarray, seed: int) -> np.ndarray:
    """A mask with 100+ labels: the body cut into cells of a grid with wavy boundaries.

    Like whole-body segmentations with one label per structure (vertebrae, ribs,
    muscles), every cell of a 4 x 6 x 6 grid inside the body gets its own label; the
    cell walls are displaced by smooth per-axis waves so that they are not planes.

    Args:
        labels: A label map whose non-zero voxels are the body.
        seed: Seed of the wave phases.

    Returns:
        A uint8 mask: 0 outside the body, cell numbers 1 to 144 inside.
    """
    rng = np.random.default_rng(seed)
    shape = labels.shape
    axes = [np.linspace(0.0, 1.0, n, dtype=np.float32) for n in shape]
    cells = []
    for axis, (coords, count) in enumerate(zip(axes, PARCELS_PER_AXIS, strict=True)):
        other = axes[(axis + 1) % 3]
        phase = rng.uniform(0, 2 * np.pi)
        wave = 0.03 * np.sin(2 * np.pi * 3 * other + phase)
        view: list[Any] = [None, None, None]
        view[axis], view[(axis + 1) % 3] = slice(None), slice(None)
        position = coords[tuple(view[i] if i == axis else None for i in range(3))]
        shifted = position + wave[tuple(view[i] if i == (axis + 1) % 3 else None for i in range(3))]
        cells.append(np.clip((shifted * count).astype(np.int32), 0, count - 1))
    number = (cells[0] * PARCELS_PER_AXIS[1] + cells[1]) * PARCELS_PER_AXIS[2] + cells[2] + 1
    return np.where(labels > 0, number, 0).astype(np.uint8)
