"""Write a variety of ``.mla`` files with ``mlarray`` 0.0.54.

Run by the interpreter that has ``mlarray==0.0.54`` installed, not by pytest:

    python legacy_write.py FOLDER

For every case it writes ``FOLDER/<case>.mla`` (and ``FOLDER/<case>.npy`` with the
array it stored), reads the file back with 0.0.54 and prints one JSON object:
``{case: {"meta": Meta.to_mapping(), "has_array": bool}}``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlarray import Meta, MLArray


def values(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Deterministic, varied values that do not depend on NumPy's random streams."""
    count = int(np.prod(shape))
    raw = (np.arange(count, dtype=np.int64) * 7919 + 13) % 65521
    if dtype == "bool":
        return (raw % 3 == 0).reshape(shape)
    if np.dtype(dtype).kind == "f":
        return ((raw - 32760) / 97.0).astype(dtype).reshape(shape)
    info = np.iinfo(dtype)
    return (raw % (int(info.max) - int(info.min) + 1) + int(info.min)).astype(dtype).reshape(shape)


def spatial() -> tuple[MLArray, np.ndarray]:
    array = values((24, 32, 40), "float32")
    image = MLArray(
        array,
        spacing=(0.8, 0.9, 2.5),
        origin=(-120.5, 33.0, 7.25),
        direction=[[0, 0, 1], [0, -1, 0], [1, 0, 0]],
        meta={"PatientID": "legacy-1", "Modality": "CT", "window": [40, 400]},
    )
    return image, array


RICH_META = {
    "source": {"SeriesDescription": "T1 ✓", "nested": {"a": [1, 2.5, None, True]}},
    "extra": {"pipeline": "nnunet", "fold": 3},
    "stats": {"min": -3.5, "max": 1000.0, "mean": 12.25, "percentile_max_key": 0.995},
    "bbox": {
        "bboxes": [[[1, 5], [2, 9], [3, 7]], [[0, 2], [4, 8], [10, 20]]],
        "scores": [0.91, 0.4],
        "labels": ["lesion", 2],
    },
    "is_seg": True,
}
"""Every section filled: both directions of the interop tests write it."""


def rich() -> tuple[MLArray, np.ndarray]:
    array = values((16, 20, 24), "int16")
    image = MLArray(array, spacing=(1.0, 1.0, 3.0), meta=Meta(**RICH_META))
    image.meta.spatial.coord_system = "LPS"
    return image, array


def channels() -> tuple[MLArray, np.ndarray]:
    array = values((3, 12, 14, 16), "float32")
    image = MLArray(
        array,
        spacing=(1.5, 1.5, 1.5),
        origin=(0.0, 0.0, 0.0),
        axis_labels=["channel", "spatial_x", "spatial_y", "spatial_z"],
        meta={"channels": ["t1", "t2", "flair"]},
    )
    image.meta.spatial.coord_system = "RAS+"
    return image, array


def affine() -> tuple[MLArray, np.ndarray]:
    array = values((10, 11, 12), "uint8")
    matrix = [[0.0, 0.0, 2.0, 10.0], [0.0, 1.5, 0.0, -20.0], [0.7, 0.0, 0.0, 5.0], [0, 0, 0, 1]]
    return MLArray(array, affine=matrix), array


def segmentation_2d() -> tuple[MLArray, np.ndarray]:
    array = values((64, 48), "uint8") % 4
    image = MLArray(array, spacing=(0.5, 0.5), meta=Meta(is_seg=True, source={"labels": 4}))
    return image, array


def manual_layout() -> tuple[MLArray, np.ndarray]:
    array = values((20, 30, 40), "int32")
    image = MLArray(array, patch_size=None, chunk_size=(5, 30, 20), block_size=(5, 10, 10))
    return image, array


def boolean() -> tuple[MLArray, np.ndarray]:
    array = values((9, 10, 11), "bool")
    return MLArray(array, meta={"kind": "mask"}), array


def metadata_only() -> tuple[MLArray, None]:
    meta = Meta(
        source={"model": "detector"},
        bbox={"bboxes": [[[1, 2], [3, 4], [5, 6]]], "scores": [0.5], "labels": ["nodule"]},
    )
    return MLArray(meta=meta), None


CASES: dict[str, Callable[[], tuple[MLArray, np.ndarray | None]]] = {
    "spatial": spatial,
    "rich": rich,
    "channels": channels,
    "affine": affine,
    "segmentation_2d": segmentation_2d,
    "manual_layout": manual_layout,
    "boolean": boolean,
    "metadata_only": metadata_only,
}


def edited(folder: Path) -> None:
    """A file whose metadata 0.0.54 rewrote in place (open r+, edit, close)."""
    image, array = spatial()
    path = folder / "edited.mla"
    image.save(path)
    np.save(folder / "edited.npy", array)
    opened = MLArray.open(path, mmap_mode="r+")
    opened.meta.source["PatientID"] = "edited-in-place"
    opened.spacing[2] = 3.0
    opened.close()


def main(folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in CASES.items():
        image, array = make()
        image.save(folder / f"{name}.mla")
        if array is not None:
            np.save(folder / f"{name}.npy", array)
    edited(folder)
    report: dict[str, object] = {}
    for name in [*CASES, "edited"]:
        reread = MLArray(folder / f"{name}.mla")
        report[name] = {
            "meta": reread.meta.to_mapping(),
            "has_array": bool(reread.meta._has_array.has_array),
        }
    return report


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
