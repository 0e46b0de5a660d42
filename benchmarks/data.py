"""Deterministic benchmark data: a synthetic CT, its derivatives and the MNI152 template.

The CT volume is built from simple shapes in normalized coordinates so any shape
works: an elliptical body with a fat layer over soft tissue, two lungs with
vessel-like tubes, organs, a spine of vertebrae with discs, ribs and a patient
table, plus in-plane correlated Gaussian noise as a CT scanner produces. The same
seed always gives the same bytes. Axis order is (z, y, x): axial slices first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import volumes

SEED = 20240531
FULL_CT_SHAPE = (256, 512, 512)
QUICK_CT_SHAPE = (128, 256, 256)
SMOOTH_SHAPE, QUICK_SMOOTH_SHAPE = (160, 384, 384), (96, 192, 192)
ODD_SHAPE, QUICK_ODD_SHAPE = (151, 409, 347), (79, 211, 173)
SMOOTH_CT: dict[str, Any] = {"seed": SEED + 2, "noise_sigma": 8.0, "quiet_air": True}

AIR, FAT, SOFT, LUNG = -1000.0, -100.0, 40.0, -850.0
LABEL_BODY, LABEL_LUNG, LABEL_BONE, LABEL_ORGAN = 1, 2, 3, 4


@dataclass(frozen=True)
class Dataset:
    """One array under test.

    Attributes:
        name: Short identifier used on the command line and in the results.
        array: The C-contiguous source array every format stores and is checked against.
        description: One line saying what the data is.
    """

    name: str
    array: np.ndarray
    description: str


@dataclass(frozen=True)
class _Grid:
    """Normalized coordinates in [-1, 1] broadcastable over a (z, y, x) volume."""

    z: np.ndarray
    y: np.ndarray
    x: np.ndarray

    @classmethod
    def of(cls, shape: Sequence[int]) -> _Grid:
        axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
        return cls(axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :])


def _smooth_field(grid: _Grid, rng: np.random.Generator, terms: int, freq: float) -> np.ndarray:
    """Sum of random low-frequency separable sinusoids, roughly in [-1, 1]."""
    field = np.zeros(np.broadcast_shapes(grid.z.shape, grid.y.shape, grid.x.shape), np.float32)
    for _ in range(terms):
        fz, fy, fx = rng.uniform(0.5, 1.0, 3) * freq
        pz, py, px = rng.uniform(0, 2 * np.pi, 3)
        field += (
            np.sin(fz * grid.z + pz) * np.sin(fy * grid.y + py) * np.sin(fx * grid.x + px)
        ).astype(np.float32)
    return field / np.float32(terms**0.5)


def _ellipse(
    grid: _Grid, cy: float, cx: float, ry: np.ndarray | float, rx: np.ndarray | float
) -> np.ndarray:
    """Boolean mask of an ellipse per slice; radii may vary with z."""
    mask: np.ndarray = ((grid.y - cy) / ry) ** 2 + ((grid.x - cx) / rx) ** 2 < 1.0
    return mask


def _ellipsoid(grid: _Grid, center: Sequence[float], radii: Sequence[float]) -> np.ndarray:
    """Boolean mask of an axis-aligned ellipsoid."""
    (cz, cy, cx), (rz, ry, rx) = center, radii
    return ((grid.z - cz) / rz) ** 2 + ((grid.y - cy) / ry) ** 2 + ((grid.x - cx) / rx) ** 2 < 1.0


def _correlated_noise(shape: Sequence[int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian noise smoothed in-plane with a separable [1, 2, 1] kernel, scaled to ``sigma``."""
    noise: np.ndarray = rng.standard_normal(tuple(shape), dtype=np.float32)
    for axis in (1, 2, 1, 2):
        noise = 2 * noise + np.roll(noise, 1, axis) + np.roll(noise, -1, axis)
    noise *= np.float32(sigma / float(noise[: max(1, shape[0] // 8)].std()))
    return noise


def synthetic_ct(
    shape: Sequence[int] = FULL_CT_SHAPE,
    seed: int = SEED,
    *,
    noise_sigma: float = 15.0,
    quiet_air: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Build a CT-like volume in Hounsfield units and its label mask.

    Args:
        shape: Volume shape as (z, y, x).
        seed: Seed of the random generator; the output depends only on the arguments.
        noise_sigma: Standard deviation of the correlated scanner noise, in HU.
        quiet_air: Leave the air around the body noise-free, with -1024 outside the
            scanner's circular field of view, as many reconstructions store it.

    Returns:
        The int16 volume in HU (air -1000, fat about -100, soft tissue about 40, lungs
        about -850, bone 300-1500) and a uint8 mask (0 background, 1 body, 2 lungs,
        3 bone, 4 organs and vessels).
    """
    rng = np.random.default_rng(seed)
    g = _Grid.of(shape)
    hu = np.full(tuple(shape), AIR, np.float32)
    labels = np.zeros(tuple(shape), np.uint8)

    def paint(mask: np.ndarray, value: float | np.ndarray, label: int) -> None:
        mask = np.broadcast_to(mask, hu.shape)
        hu[mask] = value[mask] if isinstance(value, np.ndarray) else value
        labels[mask] = label

    breathing = 1.0 + 0.04 * np.sin(3.0 * g.z)
    body = _ellipse(g, -0.05, 0.0, 0.55 * breathing, 0.82 * breathing)
    tissue = SOFT + 18.0 * _smooth_field(g, rng, terms=4, freq=4.0)
    paint(body, FAT, LABEL_BODY)
    paint(_ellipse(g, -0.05, 0.0, 0.50 * breathing, 0.76 * breathing), tissue, LABEL_BODY)

    organs = [((-0.55, -0.05, -0.25), (0.35, 0.30, 0.35), 60.0)]  # liver
    organs += [((-0.6, 0.2, side * 0.35), (0.15, 0.10, 0.08), 30.0) for side in (-1, 1)]  # kidneys
    organs += [((0.15, -0.15, 0.08), (0.25, 0.20, 0.22), 45.0)]  # heart
    for center, radii, value in organs:
        paint(_ellipsoid(g, center, radii), tissue + (value - SOFT), LABEL_ORGAN)

    vessels = (np.abs(_smooth_field(g, rng, 3, 16.0)) < 0.1) & (
        np.abs(_smooth_field(g, rng, 3, 16.0)) < 0.1
    )
    for side in (-1, 1):
        lung = _ellipsoid(g, (0.45, -0.05, side * 0.38), (0.6, 0.38, 0.28))
        paint(lung, LUNG + 30.0 * _smooth_field(g, rng, 2, 6.0), LABEL_LUNG)
        paint(lung & vessels, 40.0, LABEL_ORGAN)
    paint(_ellipse(g, 0.12, 0.0, 0.06, 0.06), 180.0, LABEL_ORGAN)  # aorta

    disc = np.abs(np.sin(np.float32(shape[0] / 9.0) * g.z)) < 0.25
    vertebra = _ellipse(g, 0.3, 0.0, 0.11, 0.09)
    cortex = vertebra & ~_ellipse(g, 0.3, 0.0, 0.085, 0.068)
    paint(vertebra & ~disc, 300.0 + 60.0 * _smooth_field(g, rng, 2, 20.0), LABEL_BONE)
    paint(cortex & ~disc, 1200.0 + 250.0 * _smooth_field(g, rng, 2, 20.0), LABEL_BONE)
    paint(vertebra & disc, 80.0, LABEL_BODY)
    paint(_ellipse(g, 0.42, 0.0, 0.1, 0.03) & ~disc, 700.0, LABEL_BONE)

    rib_band = body & ~_ellipse(g, -0.05, 0.0, 0.47 * breathing, 0.72 * breathing)
    rib_band &= _ellipse(g, -0.05, 0.0, 0.505 * breathing, 0.755 * breathing)
    ribs = rib_band & (np.sin(np.float32(shape[0] / 7.0) * g.z + 2.0 * g.y) > 0.55) & (g.z > -0.15)
    paint(ribs & (np.abs(g.x) > 0.12), 900.0, LABEL_BONE)

    table = (np.abs(g.y - (0.62 + 0.04 * g.x**2)) < 0.012) & (np.abs(g.x) < 0.9)
    hu[np.broadcast_to(table, hu.shape)] = 250.0
    noise = _correlated_noise(shape, rng, sigma=noise_sigma)
    if quiet_air:
        noise[~np.broadcast_to(body, hu.shape) & (hu == AIR)] = 0.0
        hu[np.broadcast_to(g.y**2 + g.x**2 > 1.0, hu.shape)] = -1024.0
    hu += noise
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16), labels


def z_normalized(ct: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return ``(ct - mean) / std`` over the body voxels as float32 (nnU-Net CT-style)."""
    body = ct[labels > 0].astype(np.float64)
    mean, std = body.mean(), body.std()
    return ((ct.astype(np.float32) - np.float32(mean)) / np.float32(std)).astype(np.float32)


def build_datasets(names: Sequence[str], quick: bool) -> dict[str, Dataset]:
    """Build the requested datasets, generating each CT only once.

    Args:
        names: Dataset names from :data:`DATASET_NAMES`.
        quick: Use the smaller CT volumes.

    Returns:
        The datasets by name, in the order asked for.
    """
    shape = QUICK_CT_SHAPE if quick else FULL_CT_SHAPE
    smooth_shape = QUICK_SMOOTH_SHAPE if quick else SMOOTH_SHAPE
    odd_shape = QUICK_ODD_SHAPE if quick else ODD_SHAPE
    cache: dict[str, Any] = {}

    def once(key: str, make: Callable[[], Any]) -> Any:
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def ct() -> tuple[np.ndarray, np.ndarray]:
        return once("ct", lambda: synthetic_ct(shape))  # type: ignore[no-any-return]

    def smooth() -> np.ndarray:
        made = once("smooth", lambda: synthetic_ct(smooth_shape, **SMOOTH_CT))
        return made[0]  # type: ignore[no-any-return]

    def mni() -> np.ndarray:
        return once("mni", volumes.mni)  # type: ignore[no-any-return]

    size, smooth_size = "x".join(map(str, shape)), "x".join(map(str, smooth_shape))
    odd_size = "x".join(map(str, odd_shape))
    makers: dict[str, tuple[Callable[[], np.ndarray], str]] = {
        "ct-int16": (lambda: ct()[0], f"synthetic CT {size} int16 HU"),
        "ct-float32": (lambda: z_normalized(*ct()), f"synthetic CT {size} z-normalized float32"),
        "labels-uint8": (lambda: ct()[1], f"label mask {size} uint8 (0-4)"),
        "mni-t1": (mni, "MNI152 T1 2009a template from nilearn, uint8"),
        "ct-smooth-int16": (
            smooth,
            f"smoother synthetic CT {smooth_size} int16 HU (noise 8 HU, quiet air)",
        ),
        "mni-t1-int16": (lambda: mni().astype(np.int16), "MNI152 T1 template as int16"),
        "mni-t1-float32": (
            lambda: volumes.z_normalized_foreground(mni()),
            "MNI152 T1 template z-normalized float32",
        ),
        "labels-2": (
            lambda: volumes.binary_mask(ct()[1], LABEL_LUNG),
            f"two-label mask {size} uint8 (lungs)",
        ),
        "labels-many": (
            lambda: volumes.parcellation(ct()[1], SEED),
            f"label mask {size} uint8 with {volumes.PARCEL_COUNT} labels",
        ),
        "mni-4d-float32": (
            volumes.mni_multichannel,
            "MNI152 T1, grey and white matter as 3 channels, z-normalized float32",
        ),
        "odd-int16": (
            lambda: synthetic_ct(odd_shape, SEED + 1)[0],
            f"synthetic CT {odd_size} int16 HU (no chunk divides the shape)",
        ),
    }
    unknown = set(names) - set(makers)
    if unknown:
        raise ValueError(f"unknown datasets {sorted(unknown)}; choose from {DATASET_NAMES}")
    return {n: Dataset(n, makers[n][0](), makers[n][1]) for n in names}


def patch_starts(
    shape: Sequence[int], patch: Sequence[int], count: int, seed: int
) -> list[list[int]]:
    """Seeded random patch corners, identical for every format.

    Args:
        shape: Array shape.
        patch: Patch shape (already clipped to ``shape``).
        count: Number of positions.
        seed: Random seed.

    Returns:
        ``count`` corner positions such that each patch lies inside the array.
    """
    rng = np.random.default_rng(seed)
    highs = [n - p + 1 for n, p in zip(shape, patch, strict=True)]
    starts: list[list[int]] = rng.integers(0, highs, size=(count, len(shape))).tolist()
    return starts


DATASET_NAMES = (
    "ct-int16",
    "ct-float32",
    "labels-uint8",
    "mni-t1",
    "ct-smooth-int16",
    "mni-t1-int16",
    "mni-t1-float32",
    "labels-2",
    "labels-many",
    "mni-4d-float32",
    "odd-int16",
)
