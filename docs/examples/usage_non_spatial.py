"""Channels and time: label every axis; geometry covers the spatial ones only."""

import numpy as np

from mlarray import AxisLabel, MLArray

# A 4-channel MRI (T1, T1ce, T2, FLAIR), channels first as nnU-Net stores them.
channels = np.zeros((4, 60, 80, 80), np.float32)
mri = MLArray(
    channels,
    axis_labels=[AxisLabel.channel, "spatial_z", "spatial_y", "spatial_x"],
    spacing=[1.5, 1.0, 1.0],  # one value per *spatial* axis
    patch_size=[48, 64, 64],  # also per spatial axis
)
assert mri.ndim == 4
assert mri.spatial_ndim == 3
assert mri.affine.shape == (4, 4)  # the affine maps the spatial axes only
print(mri.meta.blosc2.chunk_size)  # one channel per chunk: [1, ...]

# A time series: time first, then three spatial axes, with per-axis units.
series = MLArray(
    np.zeros((10, 32, 32, 16), np.int16),
    axis_labels=["temporal", "spatial_x", "spatial_y", "spatial_z"],
    spacing=[2.0, 2.0, 3.0],
)
series.meta.spatial.axis_units = ["s", "mm", "mm", "mm"]
assert series.meta.spatial.spatial_axis_mask == [False, True, True, True]

# Without labels every axis counts as spatial.
plain = MLArray(np.zeros((20, 20, 20), np.uint8), spacing=[1, 1, 1])
assert plain.spatial_ndim == 3

# Geometry that does not fit the spatial axes is refused.
try:
    MLArray(channels, axis_labels=["channel", "spatial", "spatial", "spatial"], spacing=[1] * 4)
except ValueError as error:
    print(error)  # meta.spatial.spacing: expected 3 values (for 3 spatial axes ...), got 4
