"""Derive an image from another: copy its metadata, override what changes."""

import numpy as np

from mlarray import MLArray

ct = MLArray(
    np.zeros((48, 64, 64), np.int16),
    spacing=[2.5, 0.7, 0.7],
    origin=[10.0, -20.0, 30.0],
    meta={"Modality": "CT", "SeriesDescription": "abdomen"},
)
ct.meta.spatial.coord_system = "RAS+"

# A prediction on the same grid: copy every metadata field from the CT ...
prediction = MLArray(np.ones((48, 64, 64), np.uint8), copy=ct)
assert prediction.spacing == [2.5, 0.7, 0.7]
assert prediction.meta.source["Modality"] == "CT"

# ... but what you pass explicitly wins over what copy= brings.
resampled = MLArray(np.ones((24, 64, 64), np.uint8), spacing=[5.0, 0.7, 0.7], copy=ct)
assert resampled.spacing == [5.0, 0.7, 0.7]  # explicit
assert resampled.origin == [10.0, -20.0, 30.0]  # from copy
assert resampled.meta.spatial.coord_system == "RAS+"  # from copy
assert resampled.shape == (24, 64, 64)  # the new array's own shape

# The *_like constructors copy metadata too, with a new dtype if asked.
probabilities = MLArray.zeros_like(ct, dtype=np.float32)
assert probabilities.dtype == np.float32
assert probabilities.spacing == [2.5, 0.7, 0.7]

# Copy between metadata objects: fill only what is unset, or overwrite everything.
resampled.meta.source.update({"SeriesDescription": "abdomen, 5 mm"})
prediction.meta.source.copy_from(resampled.meta.source, overwrite=True)
assert prediction.meta.source["SeriesDescription"] == "abdomen, 5 mm"
