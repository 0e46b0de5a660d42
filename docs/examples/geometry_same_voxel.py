"""One voxel of a real oblique 4D scan, in NIfTI, ITK and .mla coordinates."""

from pathlib import Path

import nibabel
import numpy as np
import SimpleITK

import mlarray_io
from mlarray import MLArray

scan = Path(nibabel.__file__).parent / "tests" / "data" / "example4d.nii.gz"
i, j, k, t = 60, 50, 12, 1

# NIfTI through nibabel: array (i, j, k, t), affine to RAS+ world.
nifti = nibabel.load(scan)
print(np.asanyarray(nifti.dataobj)[i, j, k, t])  # 457
print((nifti.affine @ [i, j, k, 1])[:3])  # [-2.1449 58.6963 34.9646]  (RAS+)

# The same file through SimpleITK: array (t, k, j, i), geometry in LPS+.
itk = SimpleITK.ReadImage(str(scan))
print(SimpleITK.GetArrayFromImage(itk)[t, k, j, i])  # 457
print(itk.TransformIndexToPhysicalPoint((i, j, k, t))[:3])  # (2.1449, -58.6963, 34.9646)  (LPS+)

# .mla: nibabel's voxel order and the RAS+ world, whatever the source.
mlarray_io.load(scan).save("example4d.mla")
image = MLArray.open("example4d.mla")
print(image[i, j, k, t])  # 457
print((image.affine @ [i, j, k, 1])[:3])  # [-2.1449 58.6963 34.9646]  (RAS+)
print(image.meta.spatial.axis_labels)  # ['spatial_x', 'spatial_y', 'spatial_z', 'temporal']
print(
    image.meta.spatial.axis_units, image.meta.spatial.coord_system
)  # ['mm', 'mm', 'mm', 's'] RAS+
print(image.meta.source["time"])  # {'step': 2000.0, 'offset': 0.0}

lps_to_ras = np.array([-1.0, -1.0, 1.0])
assert np.allclose(image.affine @ [i, j, k, 1], nifti.affine @ [i, j, k, 1], atol=1e-9)
assert np.allclose(
    lps_to_ras * itk.TransformIndexToPhysicalPoint((i, j, k, t))[:3],
    (image.affine @ [i, j, k, 1])[:3],
    atol=1e-5,
)
