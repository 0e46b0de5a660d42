"""Cases from nnU-Net's layout (listed, paired by name, one file per channel) and by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import FileFormatError, MetaValidationError, MLArrayFileError
from mlarray.training import Case, PatchDataset, PatchSampler, nnunet_cases
from tests.training._data import expected_patch, write_nnunet


def test_listed_in_dataset_json(tmp_path: Path) -> None:
    write_nnunet(tmp_path, 3)
    cases = nnunet_cases(tmp_path)
    assert [case.name for case in cases] == ["case000", "case001", "case002"]
    assert cases[1].images == (tmp_path / "imagesTr" / "case001.mla",)
    assert cases[1].label == tmp_path / "labelsTr" / "case001.mla"


def test_paired_by_layout(tmp_path: Path) -> None:
    write_nnunet(tmp_path, 2, listed=False)
    (tmp_path / "labelsTr" / "case001.mla").unlink()
    cases = nnunet_cases(tmp_path)
    assert [(c.name, c.label is not None) for c in cases] == [("case000", True), ("case001", False)]


def test_one_file_per_channel(tmp_path: Path) -> None:
    """nnU-Net's raw layout: case_0000.mla, case_0001.mla... read with one box."""
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "labelsTr").mkdir()
    rng = np.random.default_rng(0)
    channels = [rng.standard_normal((12, 14, 16)).astype(np.float32) for _ in range(3)]
    for number, channel in enumerate(channels):
        MLArray(channel).save(tmp_path / "imagesTr" / f"knee_{number:04d}.mla")
    MLArray(np.ones((12, 14, 16), np.uint8)).save(tmp_path / "labelsTr" / "knee.mla")
    (case,) = nnunet_cases(tmp_path)
    assert case.name == "knee"
    assert len(case.images) == 3
    sampler = PatchSampler(1, patch_size=(8, 16, 8), batch_size=2, seed=4)
    batch = next(iter(PatchDataset([case], sampler)))
    assert batch["image"].shape == (1, 3, 8, 16, 8)
    stacked = np.stack(channels)
    for row, box in enumerate(batch["box"]):
        np.testing.assert_array_equal(batch["image"][row], expected_patch(stacked, box, 0.0))


def test_by_hand(tmp_path: Path) -> None:
    image = np.arange(2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)
    MLArray(image, axis_labels=["channel", "spatial_y", "spatial_x"]).save(tmp_path / "a.mla")
    case = Case.from_paths(tmp_path / "a.mla")
    assert (case.name, case.label) == ("a", None)
    batch = PatchDataset([case], PatchSampler(1, patch_size=(4, 4), batch_size=1))[0]
    assert set(batch) == {"image", "case", "box"}
    np.testing.assert_array_equal(batch["image"][0], expected_patch(image, batch["box"][0], 0.0))


def test_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(MLArrayFileError, match="not an nnU-Net dataset folder"):
        nnunet_cases(tmp_path)
    write_nnunet(tmp_path / "d", 1)
    description = json.loads((tmp_path / "d" / "dataset.json").read_text())
    (tmp_path / "d" / "dataset.json").write_text(
        json.dumps({**description, "file_ending": ".nii.gz"})
    )
    with pytest.raises(FileFormatError, match=r"'file_ending' is '\.nii\.gz'"):
        nnunet_cases(tmp_path / "d")
    description["dataset"]["case000"]["label"] = "labelsTr/missing.mla"
    (tmp_path / "d" / "dataset.json").write_text(json.dumps(description))
    with pytest.raises(MLArrayFileError, match=r"missing\.mla: no such file"):
        nnunet_cases(tmp_path / "d")
    with pytest.raises(MetaValidationError, match="at least one image"):
        Case.from_paths([])


def test_mismatched_files(tmp_path: Path) -> None:
    MLArray(np.zeros((5, 6, 7), np.float32)).save(tmp_path / "i.mla")
    MLArray(np.zeros((5, 6, 8), np.uint8)).save(tmp_path / "l.mla")
    case = Case.from_paths(tmp_path / "i.mla", tmp_path / "l.mla")
    dataset = PatchDataset([case], PatchSampler(1, patch_size=4, batch_size=1))
    with pytest.raises(MetaValidationError, match=r"spatial shape \[5, 6, 8\] differs"):
        dataset[0]
