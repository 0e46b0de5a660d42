"""Inspect and edit metadata: geometry, source header, flags, statistics, boxes."""

import numpy as np

from mlarray import MLArray

mask = np.zeros((40, 64, 64), np.uint8)
mask[10:20, 20:40, 24:44] = 1
image = MLArray(mask, spacing=[2.0, 0.9, 0.9], meta={"PatientID": "anon-017"})

# Everything lives in image.meta, one section per topic.
print(image.meta.spatial.spacing)  # [2.0, 0.9, 0.9]
print(image.meta.spatial.shape)  # [40, 64, 64]
print(image.meta.source["PatientID"])  # anon-017
print(image.meta.to_plain())  # the non-empty sections as plain dicts and lists

# Edit: assignments are validated at once and name the field on error.
image.meta.is_seg = True
image.meta.source["Modality"] = "SEG"
image.meta.update_extra({"annotator": "rater-2", "version": 3})
image.meta.stats = {"min": 0, "max": 1, "mean": float(mask.mean())}
image.meta.add_bbox([[10, 19], [20, 39], [24, 43]], score=1.0, label="lesion")
try:
    image.meta.spatial.spacing = [2.0, 0.9]  # one value per spatial axis is needed
except ValueError as error:
    print(error)

# Geometry is also reachable on the image itself.
image.spacing = [2.0, 0.8, 0.8]
image.origin = [0.0, 10.0, -5.0]
image.direction = np.eye(3)
assert image.affine[1, 1] == 0.8
assert list(image.translation) == [0.0, 10.0, -5.0]

# Fields that describe the stored array are managed by MLArray and read-only.
try:
    image.meta.spatial.shape = [1, 2, 3]
except AttributeError as error:  # an mlarray ReadOnlyFieldError
    print(error)
print(image.meta.blosc2.chunk_size)  # chosen when the array was compressed

# Several fields that are only valid together: assign() validates them at once.
image.meta.spatial.assign(spacing=[2.0, 0.8, 0.8], axis_units=["mm", "mm", "mm"])

# After in-place edits of nested lists, validate() checks everything again.
image.meta.extra["history"] = ["resampled"]
image.meta.validate()

image.save("mask.mla")
back = MLArray.open("mask.mla")
assert back.meta.is_seg.value is True
assert back.meta.bbox.labels == ["lesion"]
assert back.meta.extra["annotator"] == "rater-2"
