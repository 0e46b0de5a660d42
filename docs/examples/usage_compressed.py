"""Compressed or plain in memory; choosing the codec; files are always compressed."""

import blosc2
import numpy as np

from mlarray import MLArray

volume = np.random.default_rng(0).normal(size=(64, 96, 96)).astype(np.float32)

# compressed=True (default): Blosc2 chunks in memory; reads decompress on demand.
packed = MLArray(volume)

# The default preset, "fast": LZ4 with byte shuffle (one-byte data: LZ4HC, no shuffle).
cparams = packed.meta.blosc2.cparams  # recorded as JSON numbers
assert cparams["codec"] == blosc2.Codec.LZ4.value
assert blosc2.Filter.SHUFFLE.value in cparams["filters"]
assert packed.meta.blosc2.dparams == {"nthreads": 1}

# The "compact" preset: smaller files, slower reads (archives, float images).
compact = MLArray(volume, cparams="compact")
print(compact.meta.blosc2.cparams["codec"], compact.meta.blosc2.block_size)

# compressed=False: a plain NumPy array in memory, fastest for repeated
# full-array work; to_numpy() returns it without a copy.
unpacked = MLArray(volume, compressed=False)
assert unpacked.to_numpy() is unpacked.to_numpy()

# Switch in place. decompress() clears meta.blosc2; compress() re-plans the layout.
packed.decompress()
assert packed.meta.blosc2.chunk_size is None
packed.compress(patch_size=64)
assert packed.meta.blosc2.patch_size == [64, 64, 64]

# Or any Blosc2 compression parameters: codec, level, filters.
archive = MLArray(
    volume,
    cparams={"codec": blosc2.Codec.ZSTD, "clevel": 5, "filters": [blosc2.Filter.BITSHUFFLE]},
)
archive.save("archive.mla")

# Saving always writes a compressed file, whichever form the data had in memory.
unpacked.save("from_numpy.mla")
assert MLArray.open("from_numpy.mla").meta.blosc2.chunk_size is not None
