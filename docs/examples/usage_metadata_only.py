"""Files without an array: detections, classifications, study-level records."""

from mlarray import Meta, MLArray

# Detections of a model on some scan: boxes with scores and labels, no voxels.
detections = MLArray(
    meta=Meta(
        source={"scan": "case_0042.mla", "model": "detector-v3"},
        bbox={
            "bboxes": [[[10, 30], [40, 80], [52, 90]], [[5, 9], [0, 12], [30, 41]]],
            "scores": [0.93, 0.41],
            "labels": ["nodule", "nodule"],
        },
    )
)
detections.meta.add_bbox([[60, 70], [20, 25], [8, 19]], score=0.77, label="mass")
detections.save("case_0042_detections.mla")

loaded = MLArray.load("case_0042_detections.mla")
assert loaded.shape is None  # no array
assert loaded.meta._has_array.value is False
assert loaded.meta.bbox.labels == ["nodule", "nodule", "mass"]

# A classification result in extra, metadata only.
result = MLArray(meta={"scan": "case_0042.mla"})
result.meta.extra["diagnosis"] = {"label": "benign", "probability": 0.88}
result.save("case_0042_class.mla")
print(MLArray.load("case_0042_class.mla").meta.extra["diagnosis"])
