"""Quick start: save a volume with its geometry, open it memory-mapped, read patches."""

import numpy as np

from mlarray import MLArray

# A CT-like volume: 96 slices of 256 x 256 voxels, 2.5 mm apart, 0.7 mm pixels.
rng = np.random.default_rng(0)
volume = rng.normal(0, 100, size=(96, 256, 256)).astype(np.int16)

image = MLArray(volume, spacing=(2.5, 0.7, 0.7), origin=(40.0, -90.0, -120.0))
image.save("ct.mla")

# Opening reads the header only; a slice decompresses just the blocks it touches.
image = MLArray.open("ct.mla", mmap_mode="r")
print(image)  # MLArray(shape=(96, 256, 256), dtype=int16, file='ct.mla')
print(image.spacing)  # [2.5, 0.7, 0.7]

patch = image[10:42, 64:192, 64:192]  # a NumPy array
assert patch.shape == (32, 128, 128)
assert np.array_equal(patch, volume[10:42, 64:192, 64:192])

# Geometry comes back as you stored it, and as a 4 x 4 affine.
print(image.affine)
assert image.affine[0, 0] == 2.5
assert image.affine[2, 3] == -120.0
