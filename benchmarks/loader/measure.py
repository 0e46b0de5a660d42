"""Measure one loader: patches/s, peak memory per worker, CPU time per patch, as JSON.

Usage::

    python measure.py LOADER DATA_DIR --workers N --batches B [--warmup W] [--seed S]

``LOADER`` is one of ``nnunet``, ``medh5``, ``torchio`` (run each under its own
venv's interpreter), ``mlarray``, ``npy`` and ``transfer`` (batches handed over by
a DataLoader without reading anything: the cost of the hand-over alone). Every
loader yields batches of two 128^3 patches, about a third centred on foreground,
without augmentation. The first ``W`` batches (worker start-up included) are not
timed. Peak memory is the high-water mark of resident memory (VmHWM) of the
process reading, or of its largest worker process. CPU time per patch adds up
every process of the loader (main and workers) over the timed batches: it depends
much less than patches per second on what else the machine is running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

PATCH = 128
BATCH = 2
FOREGROUND = 0.33


def peak_kib(pid: int) -> int:
    """VmHWM of a process, in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now() -> dict[int, float]:
    """CPU seconds used so far by this process and by each process below it."""
    pids = [os.getpid(), *descendants(os.getpid())]
    return {pid: cpu_seconds(pid) for pid in pids}


def timed(batches: Iterator[Any], *, warmup: int, count: int, workers: int) -> dict[str, float]:
    for _ in range(warmup):
        next(batches)
    before = cpu_now()
    start = time.perf_counter()
    for _ in range(count):
        next(batches)
    seconds = time.perf_counter() - start
    after = cpu_now()
    if workers:
        peak = max((peak_kib(pid) for pid in descendants(os.getpid())), default=0)
    else:
        peak = peak_kib(os.getpid())
    cpu = sum(used - before.get(pid, 0.0) for pid, used in after.items())
    return {
        "patches_per_s": count * BATCH / seconds,
        "peak_mib": peak / 1024,
        "seconds": seconds,
        "cpu_ms_per_patch": 1000 * cpu / (count * BATCH),
    }


def forever(make: Callable[[], Iterable[Any]]) -> Iterator[Any]:
    while True:
        yield from make()


# --------------------------------------------------------------------- loaders
def nnunet(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """nnU-Net v2's nnUNetDataLoader over its nnUNetDatasetBlosc2 files, as its trainer runs it."""
    import numpy as np
    from batchgenerators.dataloading.nondet_multi_threaded_augmenter import (
        NonDetMultiThreadedAugmenter,
    )
    from batchgenerators.dataloading.single_threaded_augmenter import SingleThreadedAugmenter
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.training.dataloading.data_loader import nnUNetDataLoader
    from nnunetv2.training.dataloading.nnunet_dataset import nnUNetDatasetBlosc2
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    (folder,) = (root / "preprocessed").glob("Dataset*/nnUNetPlans_3d_fullres")
    plans = PlansManager(str(folder.parent / "nnUNetPlans.json"))
    labels = plans.get_label_manager(load_json(str(folder.parent / "dataset.json")))
    np.random.seed(seed)
    loader = nnUNetDataLoader(
        nnUNetDatasetBlosc2(str(folder)),
        BATCH,
        (PATCH,) * 3,
        (PATCH,) * 3,
        labels,
        oversample_foreground_percent=FOREGROUND,
        sampling_probabilities=None,
        pad_sides=None,
        probabilistic_oversampling=False,
        transforms=None,
    )
    if workers == 0:
        return iter(SingleThreadedAugmenter(loader, None))
    return iter(
        NonDetMultiThreadedAugmenter(
            data_loader=loader,
            transform=None,
            num_processes=workers,
            num_cached=max(6, workers // 2),
            seeds=None,
            pin_memory=False,
            wait_time=0.002,
        )
    )


def medh5(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """medh5's PatchDataset (balanced sampler, its sampling index) through a DataLoader."""
    from medh5.torch import PatchDataset, PatchSampler, collate, worker_init_fn
    from torch.utils.data import DataLoader

    paths = sorted(str(p) for p in (root / "medh5").glob("*.medh5"))
    per_volume = math.ceil(total * BATCH / len(paths)) + 1
    dataset = PatchDataset(
        paths,
        PatchSampler(PATCH, strategy="balanced", foreground_prob=FOREGROUND),
        samples_per_volume=per_volume,
        images=["CT"],
        annotations={"seg": []},
        label_format="labelmap",
        physical=False,
        seed=seed,
    )
    import torch

    loader = DataLoader(
        dataset,
        batch_size=BATCH,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        num_workers=workers,
        worker_init_fn=worker_init_fn if workers else None,
        collate_fn=collate,
    )
    return forever(lambda: loader)


def torchio(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """TorchIO's Queue with a LabelSampler (a third of patches centred on labels) over NIfTI."""
    import torch
    import torchio as tio
    from torch.utils.data import DataLoader

    torch.manual_seed(seed)
    folder = root / "nifti"
    subjects = [
        tio.Subject(
            image=tio.ScalarImage(path),
            label=tio.LabelMap(folder / path.name.replace(".nii", "_seg.nii")),
        )
        for path in sorted(folder.glob("*.nii.gz"))
        if not path.name.endswith("_seg.nii.gz")
    ]
    background = 1 - FOREGROUND
    sampler = tio.LabelSampler(
        PATCH,
        label_name="label",
        label_probabilities={
            0: background,
            1: FOREGROUND / 3,
            2: FOREGROUND / 3,
            3: FOREGROUND / 3,
        },
    )
    queue = tio.Queue(
        tio.SubjectsDataset(subjects),
        max_length=16,
        samples_per_volume=4,
        sampler=sampler,
        num_workers=workers,
        shuffle_subjects=True,
        shuffle_patches=True,
    )
    loader = DataLoader(queue, batch_size=BATCH, num_workers=0)
    return forever(lambda: loader)


def mlarray(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """Ours: PatchDataset over the converted .mla files (nnU-Net layout), batches of tensors."""
    from torch.utils.data import DataLoader

    from mlarray.training import BatchTailOversampling, PatchDataset, PatchSampler, nnunet_cases

    cases = nnunet_cases(root / "mla")
    sampler = PatchSampler(
        len(cases),
        patch_size=PATCH,
        batch_size=BATCH,
        oversampling=BatchTailOversampling(FOREGROUND),
        batches_per_epoch=total,
        seed=seed,
    )
    dataset = PatchDataset(cases, sampler, tensors=True)
    loader = DataLoader(dataset, batch_size=None, sampler=dataset.epoch_keys(), num_workers=workers)
    return iter(loader)


def npy(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """Uncompressed .npy memory maps read with our sampler: the speed ceiling."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from npy_dataset import NpyPatchDataset
    from torch.utils.data import DataLoader

    dataset = NpyPatchDataset(root / "npy", patch=PATCH, batch=BATCH, batches=total, seed=seed)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    return iter(loader)


class _Blank:
    """Batches of the benchmark's size and dtypes in new tensors, filled with zeros, no reads."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, number: int) -> dict[str, Any]:
        import torch

        shape = (BATCH, 1, PATCH, PATCH, PATCH)
        return {"image": torch.zeros(shape), "label": torch.zeros(shape, dtype=torch.uint8)}


def transfer(root: Path, workers: int, total: int, seed: int) -> Iterator[Any]:
    """No reading at all: what a DataLoader costs to hand over new tensors of this size."""
    from torch.utils.data import DataLoader

    return iter(DataLoader(_Blank(total), batch_size=None, num_workers=workers))


LOADERS = {f.__name__: f for f in (nnunet, medh5, torchio, mlarray, npy, transfer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("loader", choices=sorted(LOADERS))
    parser.add_argument("data", type=Path)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    total = args.batches + args.warmup
    batches = LOADERS[args.loader](args.data, args.workers, total, args.seed)
    result = timed(batches, warmup=args.warmup, count=args.batches, workers=args.workers)
    print(json.dumps({"loader": args.loader, "workers": args.workers, **result}), flush=True)
    stop_workers()
    os._exit(0)  # the pools are gone; skip interpreter teardown of half-stopped loaders


def stop_workers() -> None:
    """Terminate and reap this process's worker processes (no loader leaves orphans)."""
    workers = descendants(os.getpid())
    for pid in reversed(workers):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in workers:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
