"""Converted label maps carry their foreground index: samplers read it with the header."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np

from mlarray import MLArray
from mlarray.training import (
    IndexNotStoredWarning,
    IndexStatus,
    PatchDataset,
    PatchSampler,
    ProbabilisticOversampling,
    index_status,
    load_index,
    nnunet_cases,
)
from mlarray_io.convert import convert_file
from mlarray_io.nnunet import import_nnunet
from tests.io._conversion import AFFINE, write_nifti


def write_label_map(path: Path, seed: int) -> np.ndarray:
    """A uint8 NIfTI label map: a block of label 1 and a small block of label 3."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((20, 18, 12), np.uint8)
    x, y, z = (int(rng.integers(0, n - 6)) for n in labels.shape)
    labels[x : x + 6, y : y + 5, z : z + 4] = 1
    labels[-3:, -2:, -2:] = 3
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(labels, AFFINE), path)
    return labels


def test_a_converted_label_map_carries_its_index(tmp_path: Path) -> None:
    write_label_map(tmp_path / "labels.nii.gz", seed=0)
    mask = convert_file(tmp_path / "labels.nii.gz", tmp_path / "mask.mla", is_seg=True)
    assert index_status(mask) is IndexStatus.CURRENT
    index = load_index(mask)
    assert index is not None
    stored = MLArray.load(mask).to_numpy()
    values, counts = np.unique(stored[stored > 0], return_counts=True)
    assert [label.value for label in index.labels] == values.tolist() == [1, 3]
    assert [label.voxels for label in index.labels] == counts.tolist()
    for label in index.labels:
        assert (stored.reshape(-1)[label.samples] == label.value).all()
    write_nifti(tmp_path / "scan.nii.gz")
    scan = convert_file(tmp_path / "scan.nii.gz", tmp_path / "scan.mla")  # not a mask
    assert index_status(scan) is IndexStatus.MISSING


def test_a_converted_dataset_trains_from_the_stored_indexes(tmp_path: Path) -> None:
    raw = tmp_path / "Dataset002_Small"
    for number in range(3):
        write_nifti(raw / "imagesTr" / f"case_{number:03d}_0000.nii.gz", seed=number)
        write_label_map(raw / "labelsTr" / f"case_{number:03d}.nii.gz", seed=number)
    description = {
        "channel_names": {"0": "CT"},
        "labels": {"background": 0, "organ": 1, "lesion": 3},
        "numTraining": 3,
        "file_ending": ".nii.gz",
    }
    (raw / "dataset.json").write_text(json.dumps(description))
    out = tmp_path / "converted"
    assert import_nnunet(raw, out, workers=1, progress=False).ok
    cases = nnunet_cases(out)
    assert len(cases) == 3
    assert all(index_status(case.label) is IndexStatus.CURRENT for case in cases if case.label)
    sampler = PatchSampler(
        len(cases),
        patch_size=6,
        batch_size=3,
        oversampling=ProbabilisticOversampling(1.0),
        batches_per_epoch=3,
    )
    with warnings.catch_warnings():
        # the index would be computed from the decompressed mask, with this warning
        warnings.simplefilter("error", IndexNotStoredWarning)
        for batch in PatchDataset(cases, sampler):
            assert all(batch["label"][row].max() > 0 for row in range(3))
