"""Convert a dataset of scans and label maps: labels found by name, statistics, reruns."""

import shutil
from pathlib import Path

import nibabel
import numpy as np

from mlarray import MLArray
from mlarray_io.dataset import convert_dataset


def make_dataset(folder: Path) -> None:
    """Stand-in for your data: two real scans and a label map for each."""
    samples = Path(nibabel.__file__).parent / "tests" / "data"
    folder.mkdir(exist_ok=True)
    for name in ("anatomical", "reoriented_anat_moved"):
        shutil.copy(samples / f"{name}.nii", folder / f"{name}.nii")
        scan = nibabel.load(folder / f"{name}.nii")
        values = np.asanyarray(scan.dataobj)
        labels = (values > np.percentile(values, 80)).astype(np.int16)
        nibabel.save(nibabel.Nifti1Image(labels, scan.affine), folder / f"{name}_seg.nii.gz")


def main() -> None:
    make_dataset(Path("dataset"))
    summary = convert_dataset("dataset", "converted", workers=2, progress=False)
    print(summary.reasons("converted"))  # {'new': 4}

    # Files named *_seg* (or *mask*, *label*, or in labelsTr/) are label maps: uint8.
    mask = MLArray.open("converted/anatomical_seg.mla")
    assert mask.meta.is_seg.value is True
    assert mask.dtype == np.uint8
    # Their statistics: the [start, stop) box and the voxel count of each label.
    box = mask.meta.bbox.bboxes[0]
    print(mask.meta.bbox.labels, box, mask.meta.extra["label_voxels"])
    assert (mask[tuple(slice(start, stop) for start, stop in box)] == 1).any()

    # Images get the schema's statistics, computed in the same pass.
    stats = MLArray.open("converted/anatomical.mla").meta.stats
    print(stats.percentile_min, stats.percentile_max, stats.mean)  # 0.5th, 99.5th, mean

    # A rerun converts only what is stale: here, every output made with other options.
    again = convert_dataset("dataset", "converted", workers=2, progress=False, patch_size=32)
    print(again.reasons("converted"), again.converted[0].detail)
    assert again.reasons("converted") == {"options changed": 4}
    same = convert_dataset("dataset", "converted", workers=2, progress=False, patch_size=32)
    assert same.reasons("skipped") == {"up to date": 4}


if __name__ == "__main__":  # convert_dataset starts worker processes
    main()
