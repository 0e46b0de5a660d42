"""Set chunk and block sizes by hand, or let Blosc2 choose."""

import numpy as np

from mlarray import MLArray

volume = np.zeros((128, 128, 128), np.float32)

# patch_size=None switches the optimizer off; sizes are per array axis.
manual = MLArray(volume, patch_size=None, chunk_size=(64, 64, 64), block_size=(16, 16, 32))
assert manual.meta.blosc2.chunk_size == [64, 64, 64]
assert manual.meta.blosc2.block_size == [16, 16, 32]
assert manual.meta.blosc2.patch_size is None

# An int means the same size on every axis; a chunk size alone lets Blosc2
# pick the blocks.
chunks_only = MLArray(volume, patch_size=None, chunk_size=32)
print(chunks_only.meta.blosc2.block_size)

# Neither: Blosc2's own choice.
automatic = MLArray(volume, patch_size=None)
print(automatic.meta.blosc2.chunk_size)

# Explicit sizes win over the default patch size (patch_size left at "default").
assert MLArray(volume, chunk_size=64).meta.blosc2.chunk_size == [64, 64, 64]

# Contradictions are refused with a RuntimeError that says why.
for arguments in (
    {"patch_size": 64, "chunk_size": 64},  # an explicit patch and explicit chunks
    {"patch_size": None, "block_size": 16},  # blocks need chunks
    {"patch_size": None, "chunk_size": 16, "block_size": 32},  # block larger than chunk
):
    try:
        MLArray(volume, **arguments)
    except RuntimeError as error:
        print(error)

# The same arguments work for files created in place.
created = MLArray.create(
    "tiles.mla", shape=(256, 256), dtype=np.uint16, patch_size=None, chunk_size=(128, 128)
)
created.close()
