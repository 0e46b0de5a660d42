"""Build the loader benchmark's files: nnU-Net's own, then ours, .npy, NIfTI and medh5.

nnU-Net's command-line tools (in their own venv) plan and preprocess the raw
dataset of :mod:`cases`, with the 3d_fullres patch size set to the benchmark's;
every other format is converted from the arrays nnU-Net wrote, so all loaders
read the same float32 images and labels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
from cases import DATASET_ID, DATASET_NAME, LABELS, write_raw_dataset

from mlarray import Meta, MLArray
from mlarray.training import build_index

HERE = Path(__file__).resolve().parent
PATCH = (128, 128, 128)
AXES = ["channel", "spatial_x", "spatial_y", "spatial_z"]
# The layout of our training files: blocks of 32^3 voxels (as nnU-Net's), LZ4HC
# without the byte shuffle (images quantized from int16 CT compress best that way,
# which nnU-Net's writer also finds by trial). Not mlarray's global default.
OUR_IMAGE_STORAGE: dict[str, Any] = {
    "patch_size": None,
    "chunk_size": (1, 64, 64, 64),
    "block_size": (1, 32, 32, 32),
    "cparams": {"codec": blosc2.Codec.LZ4HC, "clevel": 5, "filters": [blosc2.Filter.NOFILTER]},
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def nnunet_env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "nnUNet_raw": str(root / "raw"),
        "nnUNet_preprocessed": str(root / "preprocessed"),
        "nnUNet_results": str(root / "results"),
        "nnUNet_n_proc_DA": "2",
    }


def run_nnunet(python: Path, root: Path) -> Path:
    """Plan and preprocess with nnU-Net's own tools; return its 3d_fullres folder."""
    bin_dir = python.parent
    env = nnunet_env(root)
    folder = root / "preprocessed" / DATASET_NAME
    done = folder / "nnUNetPlans_3d_fullres"
    if done.is_dir() and any(done.glob("*.b2nd")):
        return done
    d = str(DATASET_ID)
    subprocess.run(
        [str(bin_dir / "nnUNetv2_extract_fingerprint"), "-d", d, "-np", "2"], check=True, env=env
    )
    subprocess.run([str(bin_dir / "nnUNetv2_plan_experiment"), "-d", d], check=True, env=env)
    plans_path = folder / "nnUNetPlans.json"
    plans = json.loads(plans_path.read_text())
    plans["configurations"]["3d_fullres"]["patch_size"] = list(PATCH)
    plans_path.write_text(json.dumps(plans, indent=2))
    subprocess.run(
        [str(bin_dir / "nnUNetv2_preprocess"), "-d", d, "-c", "3d_fullres", "-np", "2"],
        check=True,
        env=env,
    )
    return done


def convert(pre: Path, root: Path, medh5_python: Path | None) -> dict[str, dict[str, int]]:
    """Write every other format from nnU-Net's arrays; return bytes per case per format."""
    names = sorted(p.name[: -len(".b2nd")] for p in pre.glob("*.b2nd") if "_seg" not in p.name)
    sizes: dict[str, dict[str, int]] = {}
    ours = root / "mla"
    for sub in ("mla/imagesTr", "mla/labelsTr", "npy", "nifti", "medh5"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    listing = {}
    for name in names:
        data = blosc2.open(str(pre / f"{name}.b2nd"), mode="r")[...]
        seg = blosc2.open(str(pre / f"{name}_seg.b2nd"), mode="r")[...]
        label = np.where(seg[0] > 0, seg[0], 0).astype(np.uint8)
        image_path, label_path = ours / f"imagesTr/{name}.mla", ours / f"labelsTr/{name}.mla"
        MLArray(data, axis_labels=list(AXES), **OUR_IMAGE_STORAGE).save(image_path)
        MLArray(label, meta=Meta(is_seg=True, extra={"labels": LABELS})).save(label_path)
        build_index(label_path)
        listing[name] = {"images": [f"imagesTr/{name}.mla"], "label": f"labelsTr/{name}.mla"}
        np.save(root / "npy" / f"{name}.npy", data)
        np.save(root / "npy" / f"{name}_seg.npy", label)
        write_nifti(root / "nifti", name, data[0], label)
        sizes[name] = {
            "nnU-Net": sum(
                (pre / f"{name}{suffix}").stat().st_size
                for suffix in (".b2nd", "_seg.b2nd", ".pkl")
            ),
            "mlarray": image_path.stat().st_size + label_path.stat().st_size,
            "npy": sum((root / "npy" / f"{name}{s}.npy").stat().st_size for s in ("", "_seg")),
            "NIfTI": sum(
                (root / "nifti" / f"{name}{s}.nii.gz").stat().st_size for s in ("", "_seg")
            ),
        }
        log(f"converted {name}")
    description = {"channel_names": {"0": "CT"}, "labels": LABELS, "file_ending": ".mla"}
    description["dataset"] = listing
    (ours / "dataset.json").write_text(json.dumps(description, indent=2))
    if medh5_python is not None:
        subprocess.run(
            [
                str(medh5_python),
                str(HERE / "medh5_write.py"),
                str(root / "npy"),
                str(root / "medh5"),
            ],
            check=True,
        )
        for name in names:
            sizes[name]["medh5"] = (root / "medh5" / f"{name}.medh5").stat().st_size
    return sizes


def write_nifti(folder: Path, name: str, image: np.ndarray, label: np.ndarray) -> None:
    import nibabel

    affine = np.eye(4)
    nibabel.save(nibabel.Nifti1Image(image, affine), folder / f"{name}.nii.gz")
    nibabel.save(nibabel.Nifti1Image(label, affine), folder / f"{name}_seg.nii.gz")


def prepare(root: Path, *, count: int, quick: bool, nnunet: Path, medh5: Path | None) -> dict:
    """Build everything under ``root`` (reused when complete); return the file sizes."""
    done = root / "sizes.json"
    if done.exists():
        return json.loads(done.read_text())
    log(f"writing {count} raw cases")
    write_raw_dataset(root / "raw", count, quick=quick)
    log("nnU-Net: fingerprint, plan, preprocess")
    pre = run_nnunet(nnunet, root)
    sizes = convert(pre, root, medh5)
    done.write_text(json.dumps(sizes, indent=2))
    return sizes
