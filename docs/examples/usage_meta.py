"""Build standardized metadata with Meta; serialize it as plain JSON."""

import json

import numpy as np

from mlarray import Meta, MLArray
from mlarray.meta import MetaSpatial, MetaStatistics

meta = Meta(
    source={"Modality": "MR", "EchoTime": 0.03},
    spatial=MetaSpatial(spacing=[1.2, 1.0, 1.0], origin=[0, 0, 0], coord_system="RAS"),
    stats=MetaStatistics(percentile_min=12.0, percentile_max=840.0, percentile_min_key=0.5),
    is_seg=False,
)
image = MLArray(np.zeros((30, 40, 50), np.float32), meta=meta)
assert image.spacing == [1.2, 1.0, 1.0]
assert image.meta.stats.percentile_max == 840.0

# Sections accept instances, mappings or raw values, at construction and later.
meta.bbox = {"bboxes": [[[0, 4], [0, 4], [0, 4]]], "labels": [1]}
meta.is_seg = None  # unknown

# The schema is plain data: a mapping in, a mapping out, JSON in between.
text = json.dumps(image.meta.to_mapping())
restored = Meta.from_mapping(json.loads(text))
assert restored == image.meta

# to_plain() drops empty sections and unwraps single-value sections.
print(image.meta.to_plain())

# Invalid values are refused with the field's full name.
try:
    Meta(spatial={"spacing": [1.0, -1.0]})
except ValueError as error:
    print(error)  # meta.spatial.spacing[1]: expected a value > 0, got -1.0
try:
    Meta.from_mapping({"sorce": {}})
except KeyError as error:
    print(error)  # names the unknown key and the expected ones
try:
    Meta(source={"acquired": object()})
except TypeError as error:
    print(error)  # metadata must be JSON-serializable
