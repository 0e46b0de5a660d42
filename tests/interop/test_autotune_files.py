"""The automatic storage choice and `mlarray` 0.0.54: its layout, its reading our files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._autotune import RECORD_KEY
from mlarray._autotune._choice import Candidate
from mlarray._autotune._layouts import legacy_layout
from mlarray_meta.format import read_frame
from tests.interop.conftest import RunLegacy

SHAPES = [
    (256, 512, 512),
    (197, 233, 189),
    (151, 409, 347),
    (40, 50, 60),
    (1, 300, 300),
    (12, 700, 20),
    (3, 197, 233, 189),
    (5, 64, 64),
]
PATCHES = [192, 128, 100, 64]
LEGACY = {"patch": [192] * 3, "mask": [True] * 3}


def test_the_reference_layout_is_0054s(run_legacy: RunLegacy) -> None:
    cases = [
        [list(shape), itemsize, [patch] * len(shape)]
        for shape in SHAPES
        for itemsize in (1, 2, 4)
        for patch in PATCHES
    ]
    cases += [[[64, 160, 160], 2, [48, 160, 160]], [[30, 600, 600], 4, [30, 192, 192]]]
    theirs = run_legacy("legacy_layouts.py", json.dumps(cases))
    for (shape, itemsize, patch), (chunks, blocks) in zip(cases, theirs, strict=True):
        ours = legacy_layout(shape, itemsize, patch=patch, mask=[True] * len(shape))
        assert (list(ours.chunks), list(ours.blocks)) == (chunks, blocks), (shape, itemsize, patch)


def test_0054_reads_tuned_files(tmp_path: Path, run_legacy: RunLegacy) -> None:
    """The automatic choice's file, and one with its byte streams split (a candidate)."""
    rng = np.random.default_rng(11)
    shape = (64, 256, 256)  # 8 MiB: tuned
    values = (rng.normal(0, 30, shape) + np.linspace(-500, 500, 256)).astype(np.int16)
    values[:, :40] = -1024  # some air: uniform blocks
    MLArray(values, spacing=(2.0, 0.7, 0.7), meta={"kind": "tuned"}).save(tmp_path / "tuned.mla")
    assert RECORD_KEY in read_frame(tmp_path / "tuned.mla").vlmeta
    split = Candidate(blosc2.Codec.LZ4HC, 8, "shuffle", legacy_layout(shape, 2, **LEGACY), True)
    MLArray(
        values,
        spacing=(2.0, 0.7, 0.7),
        meta={"kind": "tuned"},
        patch_size=None,
        chunk_size=split.layout.chunks,
        block_size=split.layout.blocks,
        cparams=split.cparams(2),
    ).save(tmp_path / "split.mla")
    assert (
        blosc2.open(str(tmp_path / "split.mla")).cparams.splitmode == blosc2.SplitMode.ALWAYS_SPLIT
    )
    seen = run_legacy("legacy_read.py", tmp_path)
    digest = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()
    for name in ("tuned", "split"):
        assert "error" not in seen[name], seen[name]
        for how in ("open", "load"):
            view = seen[name][how]
            assert view["shape"] == list(values.shape)
            assert view["spacing"] == [2.0, 0.7, 0.7]
            assert view["meta"]["source"] == {"data": {"kind": "tuned"}}
            assert view["sha256"] == digest
        theirs = seen[name]["open"]["meta"]["blosc2"]
        given = {key: value for key, value in theirs.items() if value is not None}
        assert given == MLArray.open(tmp_path / f"{name}.mla").meta.blosc2.to_plain()


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_0054_edits_a_tuned_file_and_ours_reads_it(
    tmp_path: Path, run_legacy: RunLegacy, dtype: str
) -> None:
    shape = (128, 256, 256)  # 8 MiB of uint8, 32 MiB of float32: tuned
    values = (np.arange(np.prod(shape)) % 251).reshape(shape).astype(dtype)
    path = tmp_path / "edit.mla"
    MLArray(values, meta={"a": 1}).save(path)
    assert RECORD_KEY in read_frame(path).vlmeta
    theirs = run_legacy("legacy_edit.py", path, "reviewer", "0.0.54")
    assert theirs["source"]["data"]["reviewer"] == "0.0.54"
    reread = MLArray.open(path)
    assert reread.meta.source["reviewer"] == "0.0.54"
    expected = values.copy()
    expected[0] = expected[0] * 2
    np.testing.assert_array_equal(reread[...], expected)
