"""Regenerate the small ``.mla`` fixtures that tests/meta reads with the standard library.

Run from the repository root with an interpreter that has blosc2 and numpy, and
point ``--legacy-python`` at one that has the peer package ``mlarray==0.0.54``::

    python tests/meta/data/make_fixtures.py --legacy-python /tmp/legacy/bin/python

It writes, next to this script:

* ``ours.mla``: a 4x5x6 int16 array written with plain blosc2 the way mlarray does:
  the ``"mla"`` JSON envelope and the legacy ``"mlarray"`` gzip pickle, both stored as
  msgpack bin values in memcpyed (uncompressed) vlmeta chunks;
* ``legacy_0054.mla``: a 4x5x6 int16 array saved by ``mlarray`` 0.0.54 with spacing,
  origin, direction, source metadata, a bounding box and ``is_seg`` set;
* ``legacy_0054_metaonly.mla``: a metadata-only file (array shape ``(0,)``) saved by
  ``mlarray`` 0.0.54 with bounding boxes;
* ``expected.json``: per file, the shape, dtype, chunks, blocks and metadata mappings
  the tests expect.

The legacy files embed a gzip timestamp, so they change on every run; the tests
only compare decoded content.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LEGACY_FILES = ("legacy_0054.mla", "legacy_0054_metaonly.mla")

# A realistic Meta.to_mapping() of a small CT-like volume.
OURS_META: dict[str, Any] = {
    "source": {"data": {"PatientID": "anon-001", "Modality": "CT", "SliceThickness": 2.5}},
    "extra": {"data": {"pipeline": "fixture"}},
    "spatial": {
        "spacing": [0.8, 0.8, 2.5],
        "origin": [-120.5, -98.25, 30.0],
        "direction": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "affine": None,
        "shape": [4, 5, 6],
        "axis_labels": ["spatial_x", "spatial_y", "spatial_z"],
        "coord_system": "RAS",
        "axis_units": ["mm", "mm", "mm"],
    },
    "stats": {"min": 0, "max": 119, "mean": 59.5, "median": 59.5, "std": 34.64},
    "bbox": {"bboxes": [[[0, 2], [1, 4], [2, 5]]], "scores": [0.9], "labels": ["lesion"]},
    "is_seg": {"is_seg": False},
    "blosc2": {"chunk_size": [2, 5, 6], "block_size": [1, 5, 6], "patch_size": None},
    "_has_array": {"has_array": True},
    "_image_meta_format": {"image_meta_format": "nifti"},
    "_mlarray_version": "1.0.0",
}
OURS_INTEGRITY: dict[str, Any] = {"algorithm": "crc32", "chunks": [305419896, 2596069104]}


def write_ours(path: Path) -> dict[str, Any]:
    """Write ``ours.mla`` with blosc2 and return what the tests should find in it."""
    import blosc2
    import numpy as np
    from blosc2.msgpack_utils import msgpack_packb

    sys.path.insert(0, str(ROOT / "packages" / "mlarray-meta" / "src"))
    from mlarray_meta.codec import encode_envelope, encode_legacy

    data = np.arange(120, dtype="<i2").reshape(4, 5, 6)
    path.unlink(missing_ok=True)
    array = blosc2.asarray(data, urlpath=str(path), mode="w", chunks=(2, 5, 6), blocks=(1, 5, 6))
    envelope = encode_envelope(OURS_META, integrity=OURS_INTEGRITY)
    legacy = encode_legacy(OURS_META)
    # Set after the array is final, uncompressed: a stdlib reader can always decode it.
    array.schunk.vlmeta.set_vlmeta("mla", msgpack_packb(envelope), typesize=1, clevel=0)
    array.schunk.vlmeta.set_vlmeta("mlarray", msgpack_packb(legacy), typesize=1, clevel=0)
    del array
    reopened = blosc2.open(str(path), mode="r")
    assert reopened.schunk.vlmeta["mla"] == envelope
    assert reopened.schunk.vlmeta["mlarray"] == legacy
    return {
        "shape": [4, 5, 6],
        "dtype": "<i2",
        "chunks": [2, 5, 6],
        "blocks": [1, 5, 6],
        "meta": OURS_META,
        "integrity": OURS_INTEGRITY,
        "legacy_meta": OURS_META,
    }


def write_legacy(folder: Path) -> dict[str, Any]:
    """Write the two 0.0.54 files (run under the legacy interpreter); return expectations."""
    import numpy as np

    from mlarray import MLArray

    data = (np.arange(120, dtype=np.int16) % 7).reshape(4, 5, 6)
    image = MLArray(
        data,
        spacing=[1.0, 0.5, 2.5],
        origin=[10.0, -3.0, 0.25],
        direction=[[1, 0, 0], [0, 0, -1], [0, 1, 0]],
        meta={"PatientID": "anon-002", "Modality": "MR"},
    )
    image.meta.is_seg.is_seg = True
    image.meta.bbox.bboxes = [[[0, 2], [1, 4], [2, 5]]]
    image.meta.bbox.scores = [0.75]
    image.meta.bbox.labels = ["tumour"]
    image.save(str(folder / LEGACY_FILES[0]))

    boxes = MLArray()
    boxes.meta.bbox.bboxes = [[[0, 2], [1, 4]], [[3, 5], [0.5, 1.5]]]
    boxes.meta.bbox.labels = [1, "vessel"]
    boxes.save(str(folder / LEGACY_FILES[1]))

    return {name: _stored_legacy(folder / name) for name in LEGACY_FILES}


def _stored_legacy(path: Path) -> dict[str, Any]:
    """Read back what 0.0.54 stored (trusted: we just wrote it) as plain JSON data."""
    import gzip
    import pickle

    import blosc2

    array = blosc2.open(str(path), mode="r")
    stored = pickle.loads(gzip.decompress(array.schunk.vlmeta["mlarray"]))
    return {
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "chunks": list(array.chunks),
        "blocks": list(array.blocks),
        "meta": json.loads(json.dumps(stored)),
    }


def main() -> None:
    """Write every fixture and ``expected.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy-python", help="interpreter with mlarray==0.0.54 installed")
    parser.add_argument("--legacy-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.legacy_only:
        json.dump(write_legacy(HERE), sys.stdout)
        return
    if not args.legacy_python:
        parser.error("--legacy-python is required")
    expected = {"ours.mla": write_ours(HERE / "ours.mla")}
    result = subprocess.run(
        [args.legacy_python, str(Path(__file__).resolve()), "--legacy-only"],
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE,  # so that our own ``mlarray`` package cannot shadow the peer
    )
    expected.update(json.loads(result.stdout))
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    for name in sorted(expected):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
