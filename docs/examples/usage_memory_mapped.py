"""Memory-mapped access: read-only, read/write, copy-on-write, and creating a file."""

import numpy as np

from mlarray import MLArray

MLArray(np.zeros((64, 96, 96), np.float32), spacing=[1.0, 1.0, 1.0]).save("image.mla")

# Read-only (the default): nothing is loaded until you index.
image = MLArray.open("image.mla", mmap_mode="r")
patch = image[0:32, 0:64, 0:64]
try:
    image[0, 0, 0] = 1.0
except PermissionError as error:  # also a RuntimeError and an mlarray ReadOnlyError
    print(error)

# Read/write: an edit is a transaction, stored by close() (here, at the end of the
# block) in one step: data, metadata and checksums together. A crash before that
# leaves the file as it was.
with MLArray.open("image.mla", mmap_mode="r+") as image:
    image[0:8] = 1.0
    image.meta.is_seg = False
    image.meta.source["note"] = "first slab set to one"

reopened = MLArray.open("image.mla")
assert reopened[0, 0, 0] == 1.0
assert reopened.meta.source["note"] == "first slab set to one"

# Copy-on-write: change the data in memory, never on disk.
scratch = MLArray.open("image.mla", mmap_mode="c")
scratch[0:8] = -1.0
assert scratch[0, 0, 0] == -1.0
assert MLArray.open("image.mla")[0, 0, 0] == 1.0

# Without mmap: plain file I/O with mode 'r' (read) or 'a' (read/write).
appended = MLArray.open("image.mla", mode="a", mmap_mode=None)
appended[63] = 2.0
appended.close()

# Create a file of a given shape and fill it piece by piece: the whole volume
# never has to fit in memory. The file appears, complete, at close().
big = MLArray.create(
    "created.mla",
    shape=(128, 128, 128),
    dtype=np.uint8,
    meta={"origin": "synthetic"},
    patch_size=64,
)
for z in range(0, 128, 32):
    big[z : z + 32] = z // 32
big.meta.spatial.spacing = [0.5, 0.5, 0.5]
big.close()

created = MLArray.open("created.mla")
assert created[100, 0, 0] == 3
assert created.spacing == [0.5, 0.5, 0.5]

# Decompression parameters apply per open file: one thread per dataloader worker.
image = MLArray.open("image.mla", dparams={"nthreads": 1})
