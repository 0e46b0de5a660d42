"""An nnU-Net raw dataset to .mla files (one per case, all channels) and back."""

import json
from pathlib import Path

import nibabel
import numpy as np

from mlarray import MLArray
from mlarray_io.nnunet import export_nnunet, import_nnunet


def make_raw_dataset(folder: Path) -> None:
    """Stand-in for your dataset: one case, two channels and labels, from a real scan."""
    scan = nibabel.load(Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii")
    values = np.asanyarray(scan.dataobj)
    for name in ("imagesTr", "labelsTr"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    for channel, data in enumerate((values, values // 2)):
        path = folder / "imagesTr" / f"brain_000_{channel:04d}.nii.gz"
        nibabel.save(nibabel.Nifti1Image(data, scan.affine), path)
    labels = (values > np.percentile(values, 80)).astype(np.uint8)
    nibabel.save(nibabel.Nifti1Image(labels, scan.affine), folder / "labelsTr" / "brain_000.nii.gz")
    description = {"channel_names": {"0": "T1", "1": "T1-half"}, "labels": {"background": 0,
                   "brain": 1}, "numTraining": 1, "file_ending": ".nii.gz"}  # fmt: skip
    (folder / "dataset.json").write_text(json.dumps(description))


def main() -> None:
    make_raw_dataset(Path("Dataset001_Brain"))
    assert import_nnunet("Dataset001_Brain", "Dataset001_mla", progress=False).ok

    # dataset.json pairs each training case with its files (paths below the dataset).
    pairs = json.loads(Path("Dataset001_mla/dataset.json").read_text())["dataset"]
    print(pairs)  # {'brain_000': {'images': ['imagesTr/brain_000.mla'], 'label': ...}}
    image = MLArray.open(Path("Dataset001_mla") / pairs["brain_000"]["images"][0])
    label = MLArray.open(Path("Dataset001_mla") / pairs["brain_000"]["label"])
    print(image.shape, image.meta.spatial.axis_labels)  # (2, 33, 41, 25) ['channel', ...]
    print(image.meta.extra["channel_names"], label.meta.extra["labels"])

    # And back to the raw layout: the same data, geometry and headers.
    assert export_nnunet("Dataset001_mla", "Dataset001_raw", progress=False).ok
    original = nibabel.load("Dataset001_Brain/imagesTr/brain_000_0001.nii.gz")
    written = nibabel.load("Dataset001_raw/imagesTr/brain_000_0001.nii.gz")
    assert written.header.binaryblock == original.header.binaryblock
    assert np.array_equal(np.asanyarray(written.dataobj), np.asanyarray(original.dataobj))


if __name__ == "__main__":  # the conversions start worker processes
    main()
