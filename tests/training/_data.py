"""Small training datasets in nnU-Net's layout, written with mlarray-core alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlarray import Meta, MLArray
from mlarray.training import (
    Case,
    PatchDataset,
    PatchSampler,
    ProbabilisticOversampling,
    build_index,
)

AXES = ["channel", "spatial_x", "spatial_y", "spatial_z"]


def volumes(seed: int, shape: tuple[int, ...], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A float32 image (channels first; unique values) and a uint8 label with small blobs."""
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((channels, *shape)).astype(np.float32)
    label = np.zeros(shape, np.uint8)
    corner = [int(rng.integers(0, n - 3)) for n in shape]
    label[tuple(slice(c, c + 3) for c in corner)] = 1
    label[tuple(slice(n - 2, n) for n in shape)] = 2  # in the far corner: patches pad there
    return image, label


def write_nnunet(
    folder: Path,
    count: int,
    *,
    shape: tuple[int, ...] = (20, 30, 40),
    channels: int = 2,
    listed: bool = True,
    index: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write ``count`` cases the way mlarray-io's nnU-Net converter lays them out.

    Returns:
        The arrays written, by case name.
    """
    (folder / "imagesTr").mkdir(parents=True)
    (folder / "labelsTr").mkdir()
    written = {}
    listing = {}
    for number in range(count):
        name = f"case{number:03d}"
        image, label = volumes(number, shape, channels)
        meta = Meta(extra={"channel_names": {str(c): f"ch{c}" for c in range(channels)}})
        MLArray(image, axis_labels=list(AXES), meta=meta).save(folder / f"imagesTr/{name}.mla")
        labels = {"background": 0, "blob": 1, "corner": 2}
        seg = MLArray(label, meta=Meta(is_seg=True, extra={"labels": labels}))
        seg.save(folder / f"labelsTr/{name}.mla")
        if index:
            build_index(folder / f"labelsTr/{name}.mla")
        written[name] = (image, label)
        listing[name] = {"images": [f"imagesTr/{name}.mla"], "label": f"labelsTr/{name}.mla"}
    description = {
        "channel_names": {str(c): f"ch{c}" for c in range(channels)},
        "labels": {"background": 0, "blob": 1, "corner": 2},
        "numTraining": count,
        "file_ending": ".mla",
    }
    if listed:
        description["dataset"] = listing
    (folder / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    return written


def expected_patch(volume: np.ndarray, box: np.ndarray, pad: float) -> np.ndarray:
    """``volume[..., box]`` by direct slicing of the padded volume (leading axes whole)."""
    spatial = box.shape[0]
    if volume.dtype.kind in "iu":  # a pad the dtype cannot hold widens it, as the dataset does
        volume = volume.astype(np.result_type(volume.dtype, np.min_scalar_type(pad)))
    lead = volume.ndim - spatial
    before = [max(0, -int(start)) for start in box[:, 0]]
    after = [max(0, int(stop) - n) for stop, n in zip(box[:, 1], volume.shape[lead:], strict=True)]
    padded = np.pad(
        volume, [(0, 0)] * lead + list(zip(before, after, strict=True)), constant_values=pad
    )
    region = tuple(slice(int(a) + b, int(z) + b) for (a, z), b in zip(box, before, strict=True))
    return padded[(slice(None),) * lead + region]


def without_foreground(
    folder: Path, *, batch_size: int, batches: int, tensors: bool = False
) -> tuple[PatchDataset, np.ndarray]:
    """A one-case dataset whose label is empty, asking for foreground in every patch.

    Returns:
        The dataset and the case's image (10 x 12 x 14, one channel).
    """
    image = np.random.default_rng(0).standard_normal((10, 12, 14)).astype(np.float32)
    MLArray(image).save(folder / "i.mla")
    MLArray(np.zeros((10, 12, 14), np.uint8)).save(folder / "l.mla")
    case = Case.from_paths(folder / "i.mla", folder / "l.mla")
    sampler = PatchSampler(
        1,
        patch_size=6,
        batch_size=batch_size,
        oversampling=ProbabilisticOversampling(1.0),
        batches_per_epoch=batches,
    )
    return PatchDataset([case], sampler, tensors=tensors), image
