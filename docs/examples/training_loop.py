"""From a converted nnU-Net dataset to a training loop: cases, sampler, dataset, loader."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mlarray import Meta, MLArray
from mlarray.training import BatchTailOversampling, PatchDataset, PatchSampler, nnunet_cases


def write_converted_dataset(folder: Path, cases: int = 4) -> None:
    """A stand-in for a dataset converted to .mla in nnU-Net's layout (see mlarray-io)."""
    rng = np.random.default_rng(0)
    axes = ["channel", "spatial_x", "spatial_y", "spatial_z"]
    listing = {}
    for number in range(cases):
        name = f"case_{number:03d}"
        image = rng.standard_normal((1, 48, 64, 64)).astype(np.float32)  # channels first
        label = np.zeros((48, 64, 64), np.uint8)
        label[10:20, 30:40, 5:15] = 1 + number % 2  # a small structure per case
        (folder / "imagesTr").mkdir(parents=True, exist_ok=True)
        (folder / "labelsTr").mkdir(exist_ok=True)
        MLArray(image, axis_labels=axes).save(folder / f"imagesTr/{name}.mla")
        MLArray(label, meta=Meta(is_seg=True)).save(folder / f"labelsTr/{name}.mla")
        listing[name] = {"images": [f"imagesTr/{name}.mla"], "label": f"labelsTr/{name}.mla"}
    description = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": 1, "b": 2}}
    description |= {"file_ending": ".mla", "dataset": listing}
    (folder / "dataset.json").write_text(json.dumps(description))


def main() -> None:
    folder = Path("converted")
    write_converted_dataset(folder)
    # Once per dataset: store each label's foreground index in its file.
    labels = sorted(str(p) for p in folder.glob("labelsTr/*.mla"))
    subprocess.run([sys.executable, "-m", "mlarray", "index", *labels], check=True)

    cases = nnunet_cases(folder)
    sampler = PatchSampler(
        len(cases),
        patch_size=(32, 48, 48),
        batch_size=2,
        oversampling=BatchTailOversampling(0.33),  # nnU-Net's rule: the last third
        batches_per_epoch=10,
        seed=0,
    )
    try:
        from torch.utils.data import DataLoader
    except ImportError:  # no PyTorch: the dataset is a plain sequence of batches
        dataset = PatchDataset(cases, sampler)
        batches = dataset
    else:
        dataset = PatchDataset(cases, sampler, tensors=True)
        batches = DataLoader(dataset, batch_size=None, sampler=dataset.epoch_keys(), num_workers=2)

    for epoch in range(2):
        dataset.set_epoch(epoch)
        for batch in batches:
            image, label = batch["image"], batch["label"]  # (2, 1, 32, 48, 48) each
            assert tuple(image.shape) == (2, 1, 32, 48, 48)
            assert label[1].max() > 0  # the second patch of each batch holds foreground
            # ... forward, loss, backward ...
        print(f"epoch {epoch}: {len(dataset)} batches, last from {batch['case']}")


if __name__ == "__main__":  # DataLoader workers import this file under spawn
    main()
