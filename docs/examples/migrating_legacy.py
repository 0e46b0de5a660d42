"""Files of the mlarray 0.0.54 package open as they are; saving upgrades them."""

from pathlib import Path

import blosc2
import numpy as np

from mlarray import MLArray, config
from mlarray_meta import read_header
from mlarray_meta.codec import encode_legacy

# A file as mlarray 0.0.54 wrote it: a Blosc2 frame whose metadata is the gzip
# pickle under vlmeta key "mlarray" (made here with the plain-builtins encoder).
volume = np.arange(32 * 48 * 48, dtype=np.int16).reshape(32, 48, 48)
old = blosc2.asarray(volume, urlpath="old.mla", mode="w")
old.schunk.vlmeta["mlarray"] = encode_legacy(
    {
        "source": {"data": {"Modality": "CT"}},
        "spatial": {"spacing": [3.0, 0.9, 0.9], "shape": [32, 48, 48]},
        "is_seg": {"is_seg": False},
        "_has_array": {"has_array": True},
    }
)
del old

# Open it like any other file: the metadata is decoded without running any code.
image = MLArray.open("old.mla")
assert image.spacing == [3.0, 0.9, 0.9]
assert image.meta.source["Modality"] == "CT"
assert np.array_equal(image[...], volume)
print(read_header("old.mla").mapping.origin)  # legacy

# Saving writes the JSON metadata (and, by default, the legacy entry as well).
image.save("new.mla")
print(read_header("new.mla").mapping.origin)  # mla

# Once nobody reads your files with 0.0.54 any more, stop writing the legacy entry.
config.write_legacy_metadata = False
image.save("json_only.mla")

# Upgrade every file below a folder in place (each save is atomic).
for path in sorted(Path(".").rglob("*.mla")):
    MLArray.load(path).save(path)
assert read_header("old.mla").mapping.origin == "mla"
