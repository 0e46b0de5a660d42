"""Save an image, then read it back whole (load) or lazily (open)."""

import numpy as np

from mlarray import MLArray

volume = np.random.default_rng(0).integers(0, 1000, size=(64, 128, 128), dtype=np.int16)

# Save: the array, its geometry and metadata go into one .mla file.
image = MLArray(volume, spacing=[3.0, 0.8, 0.8], meta={"modality": "CT"})
image.save("scan.mla")  # atomic: a crash never leaves a half-written scan.mla

# Load: read the whole file into memory (kept Blosc2-compressed).
loaded = MLArray.load("scan.mla")
assert loaded.filepath is None  # detached from the file
assert np.array_equal(loaded.to_numpy(), volume)

# The same with the constructor: a path instead of an array.
same = MLArray("scan.mla")
assert same.shape == (64, 128, 128)
assert same.meta.source["modality"] == "CT"

# Load decompressed: the data becomes a plain NumPy array in memory.
plain = MLArray.load("scan.mla", compressed=False)
assert isinstance(plain.to_numpy(), np.ndarray)

# MLArray speaks NumPy: indexing returns ndarrays and np.asarray works.
assert np.asarray(loaded).dtype == np.int16
assert loaded[0].shape == (128, 128)
assert len(loaded) == 64

# Open: memory-map the file and decompress only what you index (see below).
lazy = MLArray.open("scan.mla")
print(lazy[32, 60:68, 60:68])

# Only .mla paths are accepted; the error is a RuntimeError naming the file.
try:
    image.save("scan.npy")
except RuntimeError as error:
    print(error)
