"""PatchDataset through torch.utils.data.DataLoader (real PyTorch CPU, real workers).

Run by ``nox -s tests_torch`` (which ``nox -s tests`` starts), where PyTorch is
installed; the main test session ignores this folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mlarray import MLArray
from mlarray.errors import FileFormatError
from mlarray.training import (
    BatchTailOversampling,
    NoForegroundWarning,
    PatchDataset,
    PatchSampler,
    ProbabilisticOversampling,
    nnunet_cases,
)
from tests.training._data import expected_patch, without_foreground, write_nnunet


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nnunet")
    write_nnunet(root, 6)
    return root


def make_dataset(folder: Path, *, seed: int = 3, **options: object) -> PatchDataset:
    cases = nnunet_cases(folder)
    arguments: dict[str, object] = {
        "patch_size": (24, 16, 24),
        "batch_size": 2,
        "oversampling": BatchTailOversampling(0.33),
        "batches_per_epoch": 6,
        "seed": seed,
        **options,
    }
    sampler = PatchSampler(len(cases), **arguments)  # type: ignore[arg-type]
    return PatchDataset(cases, sampler, tensors=True, label_pad=-1)


def batches(dataset: PatchDataset, **loader: object) -> list[dict]:
    return list(DataLoader(dataset, batch_size=None, sampler=dataset.epoch_keys(), **loader))


@pytest.fixture(scope="module")
def written(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        case.name: (MLArray.load(case.images[0]).to_numpy(), MLArray.load(case.label).to_numpy())
        for case in nnunet_cases(folder)
    }


def assert_direct_slices(batch: dict, written: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    for row, name in enumerate(batch["case"]):
        image, label = written[name]
        box = np.asarray(batch["box"][row])
        got = np.asarray(batch["image"][row])
        np.testing.assert_array_equal(got, expected_patch(image, box, 0))
        np.testing.assert_array_equal(
            np.asarray(batch["label"][row, 0]), expected_patch(label, box, -1)
        )


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_workers_return_direct_slices(folder: Path, written: dict, method: str) -> None:
    dataset = make_dataset(folder)
    in_process = batches(dataset)
    got = batches(dataset, num_workers=2, multiprocessing_context=method)
    assert len(got) == 6
    for batch, reference in zip(got, in_process, strict=True):
        assert batch["image"].dtype == torch.float32
        assert batch["label"].dtype == torch.int16
        assert batch["case"] == reference["case"]
        assert_direct_slices(batch, written)
        assert torch.equal(batch["image"], reference["image"])
        # handed over by reference to the worker's buffer, not copied into new shared memory
        assert not batch["image"].is_shared()
        assert not batch["label"].is_shared()


def test_many_batches_held_stay_intact(folder: Path, written: dict) -> None:
    # More batches than a worker has buffers: the rest get memory of their own.
    dataset = PatchDataset(
        nnunet_cases(folder),
        PatchSampler(6, patch_size=(8, 8, 8), batch_size=2, batches_per_epoch=40, seed=5),
        label_pad=-1,
    )
    got = batches(dataset, num_workers=2)
    assert len(got) == 40
    assert any(batch["image"].is_shared() for batch in got)  # torch's own hand-over
    assert not got[0]["image"].is_shared()
    for batch in got:
        assert isinstance(batch["image"], torch.Tensor)  # the DataLoader converts arrays
        assert_direct_slices(batch, written)


def test_same_seed_same_stream(folder: Path) -> None:
    first = batches(make_dataset(folder, seed=8), num_workers=2)
    again = batches(make_dataset(folder, seed=8), num_workers=2)
    other = batches(make_dataset(folder, seed=9), num_workers=2)
    for a, b in zip(first, again, strict=True):
        assert a["case"] == b["case"]
        assert torch.equal(a["box"], b["box"])
        assert torch.equal(a["image"], b["image"])
    assert any(not torch.equal(a["box"], c["box"]) for a, c in zip(first, other, strict=True))


def test_persistent_workers_follow_the_epoch(folder: Path) -> None:
    dataset = make_dataset(folder)
    loader = DataLoader(
        dataset,
        batch_size=None,
        sampler=dataset.epoch_keys(),
        num_workers=2,
        persistent_workers=True,
    )
    epochs = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        epochs.append([batch["box"] for batch in loader])
    expected = [
        [torch.from_numpy(dataset[(e, n)]["box"].numpy()) for n in range(6)] for e in range(2)
    ]
    for got, wanted in zip(epochs, expected, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(got, wanted, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(*epochs, strict=True))


def test_foreground_fraction_matches_the_policy(folder: Path) -> None:
    dataset = make_dataset(
        folder,
        patch_size=(8, 8, 8),
        batch_size=4,
        oversampling=ProbabilisticOversampling(0.5),
        batches_per_epoch=60,
    )
    requested, has_foreground = [], []
    plan = dataset.plan(0)
    for batch, requests in zip(batches(dataset, num_workers=2), plan, strict=True):
        for row, request in enumerate(requests):
            holds = bool((batch["label"][row] > 0).any())
            requested.append(request.foreground)
            has_foreground.append(holds)
            if request.foreground:
                assert holds
    # 240 Bernoulli(0.5) draws: sd 0.032; 5 sd either side
    assert abs(np.mean(requested) - 0.5) < 0.16
    assert np.mean(requested) <= np.mean(has_foreground) < np.mean(requested) + 0.2


def test_distributed_shards_are_disjoint(folder: Path) -> None:
    for epoch in range(3):
        drawn = []
        for rank in range(2):
            dataset = make_dataset(folder, rank=rank, world_size=2, batches_per_epoch=None)
            dataset.set_epoch(epoch)
            names = {name for b in batches(dataset, num_workers=2) for name in b["case"]}
            assert len(names) == 3
            drawn.append(names)
        assert not drawn[0] & drawn[1]


def test_no_foreground_falls_back_with_a_warning(tmp_path: Path) -> None:
    dataset, image = without_foreground(tmp_path, batch_size=2, batches=3, tensors=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = batches(dataset)
    kinds = [w.category for w in caught]
    assert kinds.count(NoForegroundWarning) == 1
    assert len(got) == 3
    for batch in got:
        for row in range(2):
            box = batch["box"][row].numpy()
            np.testing.assert_array_equal(
                batch["image"][row, 0].numpy(), expected_patch(image, box, 0)
            )


def test_an_error_in_a_worker_is_one_clear_error(tmp_path: Path) -> None:
    write_nnunet(tmp_path, 4)
    dataset = make_dataset(tmp_path)
    damaged = dataset.cases[2].images[0]
    damaged.write_bytes(damaged.read_bytes()[:300])
    with pytest.raises(FileFormatError, match=re.escape(str(damaged))) as caught:
        batches(dataset, num_workers=2)
    assert "DataLoader worker process" in str(caught.value)
    assert "Traceback" in str(caught.value)


WORKERS_SCRIPT = """
import os, sys, time
from pathlib import Path
from torch.utils.data import DataLoader
from mlarray.training import PatchDataset, PatchSampler, nnunet_cases

cases = nnunet_cases(Path(sys.argv[1]))
sampler = PatchSampler(len(cases), patch_size=8, batch_size=2, batches_per_epoch=50)
dataset = PatchDataset(cases, sampler, tensors=True)
loader = DataLoader(dataset, batch_size=None, sampler=dataset.epoch_keys(), num_workers=2)
batches = iter(loader)
batch = next(batches)
children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
print(" ".join(children), flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped


def test_workers_exit_with_their_parent(folder: Path) -> None:
    command = [sys.executable, "-c", WORKERS_SCRIPT, str(folder)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline() if process.stdout else ""
            workers = [int(pid) for pid in line.split()]
            assert len(workers) == 2, line
            # the batch buffers are memory files without a name in the file system
            maps = "".join(Path(f"/proc/{pid}/maps").read_text() for pid in workers)
            assert "/memfd:mlarray-batch (deleted)" in maps
        finally:
            os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(gone(pid) for pid in workers):
        time.sleep(0.1)
    assert all(gone(pid) for pid in workers)
