"""Synthetic images for the adapter tests: oblique, anisotropic, 2D, 4D, LPS-stored."""

from __future__ import annotations

import itertools
from pathlib import Path

import nibabel as nib
import numpy as np

REAL_NIFTI = ("anatomical.nii", "reoriented_anat_moved.nii", "example4d.nii.gz")
"""nibabel's real NIfTI-1 scans (SimpleITK reads these; not the NIfTI-2 one)."""

ALL_REAL_NIFTI = (*REAL_NIFTI, "example_nifti2.nii.gz")


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    """The 3x3 rotation by ``degrees`` about ``axis`` (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    angle = np.deg2rad(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def oblique_affine(spacing: tuple[float, float, float] = (0.7, 0.9, 2.5)) -> np.ndarray:
    """An oblique, anisotropic RAS+ affine without shear, with a mirrored first axis."""
    affine = np.eye(4)
    affine[:3, :3] = rotation([1.0, 2.0, 3.0], 17.0) @ np.diag([-1.0, 1.0, 1.0]) @ np.diag(spacing)
    affine[:3, 3] = [31.25, -17.5, 42.125]
    return affine


def sheared_affine() -> np.ndarray:
    """An affine whose columns are not orthogonal (gantry-tilt-like shear)."""
    affine = oblique_affine()
    affine[:3, 2] += 0.4 * affine[:3, 1]
    return affine


def ct_volume(shape: tuple[int, ...] = (17, 13, 9), seed: int = 0) -> np.ndarray:
    """A reproducible int16 CT-like volume."""
    return np.random.default_rng(seed).integers(-1024, 3071, size=shape, dtype=np.int16)


def write_scanner_nifti(path: Path, data: np.ndarray, affine: np.ndarray, **header: object) -> Path:
    """Write ``data`` with qform and sform both set to ``affine`` (code 1, scanner) as scanners do.

    Keyword arguments set header fields (``scl_slope=2.0``, ``intent_code=1002``...).
    """
    image = nib.Nifti1Image(data, affine, dtype=data.dtype)  # int64 needs it said
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    for name, value in header.items():
        image.header[name] = value
    nib.save(image, path)
    return path


def probe_indices(shape: tuple[int, ...]) -> list[np.ndarray]:
    """The corner voxels and the centre of the spatial ``shape``."""
    corners = [np.array(c, dtype=float) for c in itertools.product(*[(0, n - 1) for n in shape])]
    return [*corners, (np.array(shape, dtype=float) - 1) / 2]


def world(affine: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``affine @ [index, 1]`` without the homogeneous coordinate."""
    return (np.asarray(affine) @ np.append(index, 1.0))[:-1]
