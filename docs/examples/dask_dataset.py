"""Convert a dataset on a Dask cluster, then compute dataset statistics on it."""

from pathlib import Path

import dask
import dask.array as da
import nibabel
import numpy as np
from dask.distributed import Client, LocalCluster

from mlarray import MLArray
from mlarray_io.dask import to_dask_array
from mlarray_io.dataset import convert_dataset


def make_dataset(folder: Path, cases: int = 6) -> None:
    """Stand-in for your data: CT-like images and label maps as NIfTI files."""
    rng = np.random.default_rng(0)
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    for case in range(cases):
        ct = rng.normal(40, 300, size=(96, 96, 32)).clip(-1024, 3000).astype(np.int16)
        labels = np.zeros(ct.shape, np.uint8)
        labels[30:60, 30:60, 8:20] = 1
        labels[40:50, 40:50, 10:14] = 2
        nibabel.save(nibabel.Nifti1Image(ct, affine), folder / "images" / f"case_{case}.nii.gz")
        nibabel.save(nibabel.Nifti1Image(labels, affine), folder / "labels" / f"case_{case}.nii.gz")


def value_counts(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct voxel value of the images at ``paths`` and how often it occurs."""
    voxels = da.concatenate([to_dask_array(path).ravel() for path in paths])
    values, counts = dask.compute(*da.unique(voxels, return_counts=True))
    return values, counts


def main() -> None:
    make_dataset(Path("raw"))
    # A real cluster: Client("tcp://scheduler:8786"). Here: two local worker processes
    # (their scheduler's web server on a free port, not on 8787 that may be taken).
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as client,
    ):
        # One task per volume; every task reads and writes its own files.
        summary = convert_dataset("raw/images", "mla/images", scheduler=client)
        assert summary.ok, summary.failed
        summary = convert_dataset("raw/labels", "mla/labels", scheduler=client, is_seg=True)
        assert summary.ok, summary.failed

        # Each file as a Dask array whose partitions are the file's chunks.
        first = to_dask_array("mla/images/case_0.mla")
        print(first)  # dask.array<mlarray, shape=(96, 96, 32), dtype=int16, chunksize=...>

        # Intensity percentiles over the whole dataset (exact, for integer images).
        images = sorted(Path("mla/images").glob("*.mla"))
        values, counts = value_counts(images)
        cumulative = np.cumsum(counts) / counts.sum()
        low, high = values[np.searchsorted(cumulative, [0.005, 0.995])]
        print(f"0.5th percentile {low}, 99.5th percentile {high}")

        # Voxels per label over all label maps.
        labels, label_counts = value_counts(sorted(Path("mla/labels").glob("*.mla")))
        voxels_per_label = dict(zip(labels.tolist(), label_counts.tolist(), strict=True))
        print(voxels_per_label)  # {0: ..., 1: ..., 2: ...}

    # Record the result in each file's metadata, for the training pipeline to read.
    for path in images:
        image = MLArray.open(path, mmap_mode="r+")
        image.meta.stats.assign(
            percentile_min=float(low),
            percentile_max=float(high),
            percentile_min_key=0.005,
            percentile_max_key=0.995,
        )
        image.close()
    assert MLArray.open(images[0]).meta.stats.percentile_max == float(high)


if __name__ == "__main__":  # Dask starts worker processes
    main()
