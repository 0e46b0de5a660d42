"""Tune the chunk layout for the patch size your model reads."""

import numpy as np

from mlarray import MLARRAY_DEFAULT_PATCH_SIZE, MLArray

volume = np.zeros((160, 256, 256), np.int16)

# Default: optimized for 192^3 patches (laid out as if clipped to the image);
# meta.blosc2 records the request and the chunks and blocks actually used.
default = MLArray(volume)
print(MLARRAY_DEFAULT_PATCH_SIZE, default.meta.blosc2.patch_size)  # 192 [192, 192, 192]
assert default.meta.blosc2.patch_size == [192, 192, 192]

# An int: isotropic patches.
cubes = MLArray(volume, patch_size=96)
print(cubes.meta.blosc2.chunk_size, cubes.meta.blosc2.block_size)

# One value per spatial axis: anisotropic patches (e.g. thick slices).
slabs = MLArray(volume, patch_size=(32, 160, 160))
assert slabs.meta.blosc2.patch_size == [32, 160, 160]

# 2D images and 2D patches work the same way.
slice_ = MLArray(np.zeros((512, 512), np.uint8), patch_size=(256, 256))
assert len(slice_.meta.blosc2.chunk_size) == 2

# The optimizer itself: chunk and block sizes for a shape, patch and dtype size.
chunks, blocks = MLArray.comp_blosc2_params(
    image_size=(160, 256, 256), patch_size=(128, 128, 128), bytes_per_pixel=2
)
print(chunks, blocks)
