"""Read a batch of patches in one call, into a buffer that is reused batch after batch."""

import numpy as np

from mlarray import MLArray

volume = np.random.default_rng(0).normal(size=(2, 64, 96, 96)).astype(np.float32)
labels = ["channel", "spatial_z", "spatial_y", "spatial_x"]
MLArray(volume, axis_labels=labels, patch_size=32).save("two-channels.mla")

image = MLArray.open("two-channels.mla", mmap_mode="r")
starts = [(0, 0, 0), (10, 20, 30), (32, 64, 64)]  # one index per spatial axis

batch = image.read_patches(starts, 32)  # every channel, 32^3 voxels per patch
assert batch.shape == (3, 2, 32, 32, 32)
np.testing.assert_array_equal(batch[1], volume[:, 10:42, 20:52, 30:62])

buffer = np.empty((3, 2, 32, 32, 32), dtype=np.float32)  # allocate once...
for _ in range(2):  # ...and refill it for every batch
    image.read_patches(starts, 32, out=buffer)
np.testing.assert_array_equal(buffer, batch)
