"""The nnU-Net dataset and the float16 prediction used on the command-line page.

Two cases made of the real scan nibabel ships (``anatomical.nii``): the scan and a
copy of it as channels 0 and 1, and a label map thresholded from it.
"""

import json
from pathlib import Path

import nibabel
import numpy as np

from mlarray import MLArray

scan = nibabel.load(Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii")
values = np.asanyarray(scan.dataobj)
raw = Path("Dataset001_Brain")
for folder in ("imagesTr", "labelsTr"):
    (raw / folder).mkdir(parents=True, exist_ok=True)
for case in ("brain_000", "brain_001"):
    for channel, data in enumerate((values, (values * 0.5).astype(np.float32))):
        nibabel.save(
            nibabel.Nifti1Image(data, scan.affine),
            raw / "imagesTr" / f"{case}_{channel:04d}.nii.gz",
        )
    labels = np.digitize(values, np.percentile(values, [60, 90])).astype(np.uint8)
    nibabel.save(nibabel.Nifti1Image(labels, scan.affine), raw / "labelsTr" / f"{case}.nii.gz")
description = {
    "channel_names": {"0": "T1", "1": "T1-half"},
    "labels": {"background": 0, "tissue": 1, "bright": 2},
    "numTraining": 2,
    "file_ending": ".nii.gz",
}
(raw / "dataset.json").write_text(json.dumps(description, indent=4))

# A prediction in float16, as mixed-precision models write them.
MLArray(values.astype(np.float16), copy=MLArray(values, affine=scan.affine)).save("pred.mla")
