"""NumPy-style constructors: zeros, ones, full, empty, arange, linspace, asarray."""

import numpy as np

from mlarray import MLArray

zeros = MLArray.zeros((32, 64, 64), dtype=np.float32)
ones = MLArray.ones((32, 64, 64), dtype=np.uint8, meta={"purpose": "mask"})
full = MLArray.full((32, 64, 64), fill_value=-1024, dtype=np.int16)
empty = MLArray.empty((32, 64, 64), dtype=np.float32)  # values undefined
ramp = MLArray.arange(0, 64 * 64, shape=(64, 64))  # patch_size defaults to None here
grid = MLArray.linspace(0.0, 1.0, num=27, shape=(3, 3, 3))
wrapped = MLArray.asarray(np.eye(4), meta={"kind": "identity"})

assert full[0, 0, 0] == -1024
assert ones.meta.source["purpose"] == "mask"
assert ramp[1, 0] == 64
assert grid[2, 2, 2] == 1.0

# The *_like family takes shape, dtype and (for MLArrays) metadata from x.
reference = MLArray(np.zeros((16, 32, 32), np.int16), spacing=[2.0, 1.0, 1.0])
for like in (
    MLArray.zeros_like(reference),
    MLArray.ones_like(reference, dtype=np.float32),
    MLArray.full_like(reference, 7),
    MLArray.empty_like(reference),
):
    assert like.shape == (16, 32, 32)
    assert like.spacing == [2.0, 1.0, 1.0]

# Any object with shape and dtype works as x, e.g. a NumPy array.
assert MLArray.zeros_like(np.ones((3, 4), np.uint16)).dtype == np.uint16

# All of them accept the layout arguments (patch_size, chunk_size, block_size,
# cparams, dparams) and compressed=False.
assert MLArray.zeros((8, 8), dtype=np.float32, compressed=False).to_numpy().sum() == 0
