"""Name the world frame of the geometry, and map voxels to world coordinates."""

import numpy as np

from mlarray import CoordSystem, MLArray

image = MLArray(
    np.zeros((64, 64, 40), np.int16),
    spacing=[0.8, 0.8, 2.5],
    origin=[-25.0, -30.0, 12.0],
    axis_labels=["spatial_x", "spatial_y", "spatial_z"],
)
# RAS / RAS+ is NIfTI's world, LPS / LPS+ is ITK's and DICOM's.
image.meta.spatial.coord_system = CoordSystem.RAS_PLUS
assert image.meta.spatial.coord_system == "RAS+"

# The affine maps an index (i, j, k) in array axis order to world (x, y, z).
voxel = np.array([10, 20, 5, 1])
world = image.affine @ voxel
print(world[:3])  # [-17. -14.  24.5]

# The same point in LPS: flip the first two world axes.
ras_to_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
image_lps = MLArray(np.zeros((64, 64, 40), np.int16), affine=ras_to_lps @ image.affine)
image_lps.meta.spatial.coord_system = CoordSystem.LPS
assert np.allclose(ras_to_lps @ world, image_lps.affine @ voxel)

# Frames outside the list: "other", "unknown", or any name, kept verbatim.
image.meta.spatial.coord_system = "scanner-xyz"
assert image.meta.spatial.coord_system == "scanner-xyz"
