"""Statistics computed while converting: exact, as the schema defines them, off on request."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlarray import Meta, MLArray
from mlarray.cli import main
from mlarray_io._label_stats import label_statistics
from mlarray_io._stats import image_statistics
from mlarray_io.convert import convert_file
from mlarray_io.dataset import convert_dataset


def reference(values: np.ndarray) -> dict[str, float]:
    """The statistics computed the obvious way with NumPy, in float64."""
    values = values.astype(np.float64).ravel()
    values = values[np.isfinite(values)]
    low, median, high = np.percentile(values, [0.5, 50, 99.5])
    inside = values[(values >= low) & (values <= high)]
    found = {"min": values.min(), "max": values.max(), "mean": values.mean(), "median": median,
             "std": values.std(), "percentile_min": low, "percentile_max": high,
             "percentile_min_key": 0.005, "percentile_max_key": 0.995}  # fmt: skip
    if inside.size:
        found |= {"percentile_mean": inside.mean(), "percentile_median": np.percentile(inside, 50),
                  "percentile_std": inside.std()}  # fmt: skip
    return found


def assert_matches(found: dict[str, float] | None, values: np.ndarray) -> None:
    assert found is not None
    expected = reference(values)
    assert found.keys() == expected.keys()
    scale = max(1.0, float(np.abs(expected["max"]) + np.abs(expected["min"])))
    for key, value in expected.items():
        # A standard deviation near 0 is the root of a float64 difference: ~1e-8 of the range.
        slack = 1e-7 if key.endswith("std") else 1e-9
        assert found[key] == pytest.approx(value, rel=1e-9, abs=slack * scale), key


RNG = np.random.default_rng(11)
CASES = {
    "ct-int16": RNG.integers(-1024, 3071, (30, 40, 20), dtype=np.int16),
    "uint8": RNG.integers(0, 256, (20, 30, 10), dtype=np.uint8),
    "int32-wide": RNG.integers(-(2**30), 2**30, (20, 30, 10), dtype=np.int32),
    "float32-normal": RNG.standard_normal((30, 40, 20)).astype(np.float32),
    "float64-skewed": RNG.exponential(3.0, (20, 30, 10)),
    "mostly-zero": np.where(RNG.random((30, 20, 10)) < 0.7, 0, RNG.random((30, 20, 10)) * 100),
    "with-nan-and-inf": np.array([[1.0, np.nan, 2.0], [np.inf, 5.0, -np.inf]], np.float32),
    "bool": RNG.random((10, 10)) < 0.3,
    "constant": np.full((4, 5), 7.5),
}


@pytest.mark.parametrize("name", CASES)
def test_image_statistics_equal_numpy(name: str) -> None:
    assert_matches(image_statistics(CASES[name]), CASES[name])
    assert_matches(image_statistics(np.asfortranarray(CASES[name])), CASES[name])


SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, max_side=9)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        hnp.arrays(dtype=st.sampled_from([np.int8, np.uint16, np.int16]), shape=SHAPES),
        hnp.arrays(dtype=np.int64, shape=SHAPES, elements=st.integers(-(2**40), 2**40)),
        hnp.arrays(
            dtype=st.sampled_from([np.float32, np.float64]),
            shape=SHAPES,
            elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
        ),
    )
)
def test_image_statistics_equal_numpy_on_any_array(values: np.ndarray) -> None:
    assert_matches(image_statistics(values), values)


def test_no_statistics_without_finite_real_values() -> None:
    assert image_statistics(np.array([np.nan, np.inf])) is None
    assert image_statistics(np.zeros((0, 3))) is None
    assert image_statistics(np.array([1 + 1j])) is None
    few = image_statistics(np.array([1.0, 3.0]))  # nothing between 1.01 and 2.99
    assert few is not None
    assert "percentile_mean" not in few


def brute_force_boxes(labels: np.ndarray) -> dict[int, list[list[int]]]:
    boxes = {}
    for label in np.unique(labels):
        if label:
            where = np.argwhere(labels == label)
            boxes[int(label)] = [
                [int(a), int(b) + 1] for a, b in zip(where.min(0), where.max(0), strict=True)
            ]
    return boxes


@pytest.mark.parametrize(
    "labels",
    [
        RNG.integers(0, 4, (9, 7, 5)).astype(np.uint8),
        np.pad(np.ones((2, 3, 1), np.uint16) * 700, ((3, 4), (1, 2), (5, 0))),
        np.array([0, 0, 5, 0, 5, 0, 70000], np.uint32),  # labels beyond 65535
        np.zeros((3, 4), np.uint8),
    ],
    ids=["dense", "one-box", "huge-labels", "background-only"],
)
@pytest.mark.parametrize("order", ["C", "F"])  # NIfTI arrays come in Fortran order
def test_label_statistics_equal_brute_force(labels: np.ndarray, order: str) -> None:
    found = label_statistics(np.asarray(labels, order=order))
    values, counts = np.unique(labels, return_counts=True)
    assert found.voxels == dict(zip(values.tolist(), counts.tolist(), strict=True))
    assert found.boxes == brute_force_boxes(labels)


def test_converted_scan_records_its_statistics(nibabel_data: Path, tmp_path: Path) -> None:
    convert_file(nibabel_data / "anatomical.nii", tmp_path / "scan.mla")
    image = MLArray.open(tmp_path / "scan.mla")
    recorded = {k: v for k, v in image.meta.stats.to_plain().items() if v is not None}
    assert_matches(recorded, np.asanyarray(nib.load(nibabel_data / "anatomical.nii").dataobj))
    assert image.meta.bbox.bboxes is None


def test_converted_label_map_records_voxels_and_boxes(nibabel_data: Path, tmp_path: Path) -> None:
    scan = np.asanyarray(nib.load(nibabel_data / "anatomical.nii").dataobj)
    labels = np.digitize(scan, np.percentile(scan, [60, 85, 97])).astype(np.uint8)
    nib.save(nib.Nifti1Image(labels, np.eye(4)), tmp_path / "labels.nii.gz")
    convert_file(tmp_path / "labels.nii.gz", tmp_path / "labels.mla", is_seg=True)
    mask = MLArray.open(tmp_path / "labels.mla")
    assert mask.meta.bbox.labels == [1, 2, 3]
    assert mask.meta.bbox.bboxes == [brute_force_boxes(labels)[k] for k in (1, 2, 3)]
    for label, box in zip(mask.meta.bbox.labels, mask.meta.bbox.bboxes, strict=True):
        inside = mask[tuple(slice(start, stop) for start, stop in box)]
        assert np.count_nonzero(inside == label) == np.count_nonzero(labels == label)
    assert mask.meta.extra["label_voxels"] == {
        str(label): int(np.count_nonzero(labels == label)) for label in range(4)
    }
    assert mask.meta.stats.to_plain() is None or mask.meta.stats.is_default()


def test_no_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    MLArray(RNG.integers(0, 9, (6, 5, 4)).astype(np.int16)).save(data / "ct.mla")
    MLArray(np.eye(6, dtype=np.uint8)[:, :, None], meta=Meta(is_seg=True)).save(data / "s.mla")
    args = ["convert", str(data), str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    assert main([*args, "--no-stats"]) == 0
    assert MLArray.open(tmp_path / "out" / "ct.mla").meta.stats.is_default()
    plain = MLArray.open(tmp_path / "out" / "s.mla").meta
    assert plain.bbox.is_default()
    assert "label_voxels" not in plain.extra.value
    summary = convert_dataset(data, tmp_path / "with", workers=1, progress=False)
    assert summary.ok
    assert MLArray.open(tmp_path / "with" / "ct.mla").meta.stats.max is not None
    assert MLArray.open(tmp_path / "with" / "s.mla").meta.bbox.labels == [1]
    capsys.readouterr()
