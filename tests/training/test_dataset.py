"""The patch dataset without PyTorch: plain loops and multiprocessing pools."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlarray.training import (
    BatchTailOversampling,
    IndexNotStoredWarning,
    NoForegroundWarning,
    PatchDataset,
    PatchSampler,
    nnunet_cases,
)
from tests.training._data import expected_patch, without_foreground, write_nnunet


def check_batch(batch: dict, written: dict, image_pad: float, label_pad: int) -> None:
    for row, name in enumerate(batch["case"]):
        image, label = written[name]
        box = batch["box"][row]
        np.testing.assert_array_equal(batch["image"][row], expected_patch(image, box, image_pad))
        np.testing.assert_array_equal(batch["label"][row, 0], expected_patch(label, box, label_pad))


def dataset_for(folder: Path, **options: object) -> PatchDataset:
    cases = nnunet_cases(folder)
    sampler = PatchSampler(
        len(cases),
        patch_size=(24, 16, 24),  # longer than the 20 voxels of axis 0: always padded
        batch_size=3,
        oversampling=BatchTailOversampling(0.33),
        batches_per_epoch=4,
        seed=11,
    )
    return PatchDataset(cases, sampler, **options)  # type: ignore[arg-type]


def test_batches_equal_direct_slicing(tmp_path: Path) -> None:
    written = write_nnunet(tmp_path, 4)
    dataset = dataset_for(tmp_path, image_pad=-7.5, label_pad=-1)
    assert len(dataset) == 4
    for batch in dataset:
        assert batch["image"].shape == (3, 2, 24, 16, 24)
        assert batch["image"].dtype == np.float32
        assert batch["label"].dtype == np.int16  # -1 does not fit uint8
        assert (batch["label"] == -1).any()
        check_batch(batch, written, -7.5, -1)
        assert batch["label"][2].max() > 0  # the last third holds foreground


def test_epochs_and_keys(tmp_path: Path) -> None:
    write_nnunet(tmp_path, 4)
    dataset = dataset_for(tmp_path)
    first = dataset[1]
    dataset.set_epoch(3)
    assert list(dataset.epoch_keys()) == [(3, 0), (3, 1), (3, 2), (3, 3)]
    assert not np.array_equal(dataset[1]["box"], first["box"])
    np.testing.assert_array_equal(dataset[(0, 1)]["image"], first["image"])
    with pytest.raises(IndexError, match="batch 4 of epoch 3: the epoch has 4"):
        dataset[4]


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_worker_processes_read_the_same_batches(tmp_path: Path, method: str) -> None:
    write_nnunet(tmp_path, 4)
    dataset = dataset_for(tmp_path)
    expected = [dataset[key] for key in dataset.epoch_keys()]  # opens files in this process
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._files.open_files == 0
    with multiprocessing.get_context(method).Pool(2) as pool:
        got = pool.map(dataset.__getitem__, list(dataset.epoch_keys()), chunksize=1)
    for mine, theirs in zip(expected, got, strict=True):
        assert mine["case"] == theirs["case"]
        for key in ("image", "label", "box"):
            np.testing.assert_array_equal(mine[key], theirs[key])


def test_open_files_are_bounded(tmp_path: Path) -> None:
    write_nnunet(tmp_path, 6)
    cases = nnunet_cases(tmp_path)
    sampler = PatchSampler(6, patch_size=8, batch_size=2, batches_per_epoch=10)
    dataset = PatchDataset(cases, sampler, max_open_files=4)
    for batch in dataset:
        assert dataset._files.open_files <= 4
        assert batch["image"].shape == (2, 2, 8, 8, 8)


def test_case_without_foreground_falls_back_with_a_warning(tmp_path: Path) -> None:
    dataset, image = without_foreground(tmp_path, batch_size=4, batches=1)
    with (
        pytest.warns(IndexNotStoredWarning, match="no current foreground index"),
        pytest.warns(NoForegroundWarning, match="case 'i': no foreground voxel"),
    ):
        batch = dataset[0]
    for row in range(4):
        box = batch["box"][row]
        np.testing.assert_array_equal(batch["image"][row, 0], expected_patch(image, box, 0.0))


def test_two_dimensional_patches_from_volumes(tmp_path: Path) -> None:
    written = write_nnunet(tmp_path, 2)
    cases = nnunet_cases(tmp_path)
    sampler = PatchSampler(
        2, patch_size=(16, 48), batch_size=2, slice_axis=1, oversampling=BatchTailOversampling(0.5)
    )
    batch = PatchDataset(cases, sampler)[0]
    assert batch["image"].shape == (2, 2, 16, 48)
    assert batch["label"].shape == (2, 1, 16, 48)
    assert (batch["box"][:, 1, 1] - batch["box"][:, 1, 0] == 1).all()
    for row, name in enumerate(batch["case"]):
        image, label = written[name]
        box = batch["box"][row]
        expected = expected_patch(image, box, 0.0)[:, :, 0, :]
        np.testing.assert_array_equal(batch["image"][row], expected)
        np.testing.assert_array_equal(batch["label"][row, 0], expected_patch(label, box, 0)[:, 0])


def test_tensors_need_torch(tmp_path: Path) -> None:
    """Without PyTorch the error names the pip command (torch hidden from the import)."""
    write_nnunet(tmp_path, 1)
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from mlarray.training import *\n"
        f"cases = nnunet_cases({str(tmp_path)!r})\n"
        "sampler = PatchSampler(1, patch_size=4, batch_size=1)\n"
        "print(len(list(PatchDataset(cases, sampler))))\n"
        "try:\n"
        "    PatchDataset(cases, sampler, tensors=True)\n"
        "except TorchMissingError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.splitlines() == [
        "1",
        "PatchDataset(tensors=True) needs PyTorch, which is not installed: "
        'pip install "mlarray-core[torch]"',
    ]
