"""Opt-in checksum verification on read: damaged chunks raise instead of lying."""

from pathlib import Path

import numpy as np

from mlarray import MLArray
from mlarray.errors import ChecksumError

volume = np.random.default_rng(0).integers(0, 4000, size=(64, 128, 128), dtype=np.int16)
MLArray(volume, patch_size=64).save("scan.mla")

# Flip one bit in the middle of the file, as a failing disk or a bad copy might.
data = bytearray(Path("scan.mla").read_bytes())
data[len(data) // 2] ^= 0x04
Path("damaged.mla").write_bytes(bytes(data))

# verify=True checks every chunk against the checksum saved with it, the first
# time a read touches that chunk.
image = MLArray.open("damaged.mla", verify=True)
try:
    image[...]
except ChecksumError as error:  # also a ValueError
    print(error)  # names the damaged chunk and the array region it covers

# load(verify=True) checks everything while loading.
try:
    MLArray.load("damaged.mla", verify=True)
except ChecksumError as error:
    print(error)

# An intact file reads as usual; without verify=True no checksums are computed.
assert np.array_equal(MLArray.open("scan.mla", verify=True)[...], volume)
