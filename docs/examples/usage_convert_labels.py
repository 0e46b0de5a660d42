"""Save a predicted label map on the grid of its scan, as integer labels."""

from pathlib import Path

import nibabel
import numpy as np

import mlarray_io
from mlarray import Meta, MLArray
from mlarray.errors import MetaValidationError

samples = Path(nibabel.__file__).parent / "tests" / "data"
scan = mlarray_io.load(samples / "anatomical.nii")  # keeps the NIfTI header in meta.source

# A prediction: copy= gives it the scan's geometry, is_seg=True makes it a label map.
values = scan.to_numpy()
labels = np.digitize(values, np.percentile(values, [60, 90])).astype(np.int64)
prediction = MLArray(labels, copy=scan, meta=Meta(is_seg=True))
mlarray_io.save(prediction, "prediction.nii.gz")
mlarray_io.save(prediction, "prediction.nrrd")

written = nibabel.load("prediction.nii.gz")
assert written.get_data_dtype() == np.uint8  # the smallest type that holds labels 0-2
assert written.header.get_intent()[0] == "label"  # NIFTI_INTENT_LABEL
assert (written.dataobj.slope, written.dataobj.inter) == (1.0, 0.0)  # no intensity scaling
assert np.allclose(written.affine, nibabel.load(samples / "anatomical.nii").affine)
assert mlarray_io.load("prediction.nrrd").dtype == np.uint8

# Probabilities are not labels: saving them as a label map is refused.
probabilities = MLArray(labels / 2.0, copy=scan, meta=Meta(is_seg=True))
try:
    mlarray_io.save(probabilities, "probabilities.nii.gz")
except MetaValidationError as error:
    print(error)  # ...: found the fractional value 0.5 (a label map holds integers >= 0)
