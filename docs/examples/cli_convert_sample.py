"""The dataset used for `mlarray convert` on the command-line page.

Two small NIfTI scans and one file that is cut off half-way, as a failed copy
would leave it.
"""

from pathlib import Path

import nibabel
import numpy as np

folder = Path("dataset")
folder.mkdir(exist_ok=True)
rng = np.random.default_rng(0)
affine = np.diag([0.9, 0.9, 3.0, 1.0])
for case in range(2):
    volume = rng.integers(-1000, 1500, size=(64, 64, 24), dtype=np.int16)
    nibabel.save(nibabel.Nifti1Image(volume, affine), folder / f"case_{case}.nii.gz")

complete = (folder / "case_0.nii.gz").read_bytes()
(folder / "case_2.nii.gz").write_bytes(complete[: len(complete) // 2])
