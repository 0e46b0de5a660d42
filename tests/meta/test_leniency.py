"""Strict when writing, lenient when reading: every value 0.0.54 accepts and we do not write.

Each case is a metadata mapping as ``mlarray`` 0.0.54 writes it (its validators
accept the value). Reading it keeps the value and warns once, naming the field;
building or saving the same metadata through the API refuses it.
"""

from __future__ import annotations

import gzip
import math
import warnings
from typing import Any

import pytest

from mlarray_meta import Meta, MetaCompatibilityWarning
from mlarray_meta.codec import decode_legacy
from mlarray_meta.errors import MetaTypeError, MetaValidationError
from mlarray_meta.meta import meta_from_file

NAN, INF = float("nan"), float("inf")
BOX = [[1, 5], [2, 9], [3, 7]]

# (sections of the mapping, the field named, the error raised when writing)
KEPT_WITH_A_WARNING: dict[str, tuple[dict[str, Any], str, type[Exception]]] = {
    "zero spacing": ({"spatial": {"spacing": [1.0, 0.0, 2.0]}}, "spatial.spacing", ValueError),
    "negative spacing": ({"spatial": {"spacing": [1, -1, 2]}}, "spatial.spacing", ValueError),
    "NaN spacing": ({"spatial": {"spacing": [1.0, NAN, 2.0]}}, "spatial.spacing", ValueError),
    "boolean spacing": ({"spatial": {"spacing": [True, 1, 1]}}, "spatial.spacing", TypeError),
    "infinite origin": ({"spatial": {"origin": [0.0, INF]}}, "spatial.origin", ValueError),
    "NaN direction": (
        {"spatial": {"direction": [[1.0, NAN], [0.0, 1.0]]}},
        "spatial.direction",
        ValueError,
    ),
    "affine not homogeneous": (
        {"spatial": {"affine": [[1, 0, 0], [0, 1, 0], [1, 0, 1]]}},
        "spatial.affine",
        ValueError,
    ),
    "unit that is not a string": (
        {"spatial": {"shape": [2, 3], "axis_units": [None, "mm"]}},
        "spatial.axis_units",
        TypeError,
    ),
    "units as one string": ({"spatial": {"axis_units": "mm"}}, "spatial.axis_units", TypeError),
    "one unit too few": (
        {"spatial": {"shape": [2, 3, 4], "axis_units": ["mm", "mm"]}},
        "spatial.axis_units",
        ValueError,
    ),
    "NaN statistic": ({"stats": {"std": NAN, "mean": 1.0}}, "stats.std", ValueError),
    "boolean statistic": ({"stats": {"min": True}}, "stats.min", TypeError),
    "box with min > max": ({"bbox": {"bboxes": [[[5, 1], [2, 9]]]}}, "bbox.bboxes", ValueError),
    "empty box": ({"bbox": {"bboxes": [BOX, []]}}, "bbox.bboxes", TypeError),
    "boxes of two dimensionalities": (
        {"bbox": {"bboxes": [BOX, [[0, 1], [0, 1]]]}},
        "bbox.bboxes",
        ValueError,
    ),
    "NaN box": ({"bbox": {"bboxes": [[[0, NAN], [0, 1]]]}}, "bbox.bboxes", ValueError),
    "NaN score": ({"bbox": {"bboxes": [BOX], "scores": [NAN]}}, "bbox.scores", ValueError),
    "boolean score": ({"bbox": {"bboxes": [BOX], "scores": [True]}}, "bbox.scores", TypeError),
    "scores without boxes": ({"bbox": {"scores": [0.5, 0.7]}}, "bbox.scores", ValueError),
    "labels without boxes": ({"bbox": {"labels": ["a"]}}, "bbox.labels", ValueError),
    "integer key": ({"source": {"data": {1: "one", "a": 2}}}, "source", TypeError),
    "None key": ({"extra": {"data": {None: 1}}}, "extra", TypeError),
    "NaN in source": ({"source": {"data": {"a": {"b": [1.0, NAN]}}}}, "source", ValueError),
}


def _read(mapping: dict[str, Any]) -> tuple[Meta, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = meta_from_file(mapping, source="case.mla")
    return meta, list(caught)


def _same(a: Any, b: Any) -> bool:
    """Equality that counts NaN as equal to NaN and compares dict keys by value and type."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("case", sorted(KEPT_WITH_A_WARNING))
def test_read_keeps_the_value_with_one_warning_and_write_refuses(case: str) -> None:
    mapping, field, write_error = KEPT_WITH_A_WARNING[case]
    meta, caught = _read(mapping)
    assert [w.category for w in caught] == [MetaCompatibilityWarning], [
        str(w.message) for w in caught
    ]
    message = str(caught[0].message)
    assert message.startswith(f"case.mla: meta.{field}"), message
    assert "mlarray 0.0.54 accepted" in message
    written = meta.to_mapping()
    for section, values in mapping.items():
        for name, value in values.items():
            assert _same(written[section][name], value), (section, name)
    with pytest.raises(write_error, match=f"meta.{field}"):
        meta.validate()
    with pytest.raises(write_error, match=f"meta.{field}"):
        Meta.from_mapping(mapping)


def test_several_problems_in_one_field_give_one_warning() -> None:
    meta, caught = _read({"spatial": {"spacing": [0.0, -1.0, NAN]}, "stats": {"min": NAN}})
    assert len(caught) == 2
    assert "meta.spatial.spacing" in str(caught[0].message)
    assert "(and 2 more in meta.spatial.spacing)" in str(caught[0].message)
    assert str(caught[1].message).startswith("case.mla: meta.stats.min")
    assert meta.spatial.spacing[:2] == [0.0, -1.0]


@pytest.mark.parametrize(
    "spatial",
    [
        {"shape": [3, 4, 5], "axis_units": ["", "mm", "mm"]},
        {"shape": [3, 4], "axis_units": ["µm", "秒"], "axis_labels": ["", "spatial"]},
        {"axis_labels": ["channel", "spatial_x"], "axis_units": ["", ""], "coord_system": ""},
        {"axis_labels": ["spatial", "spatial"], "coord_system": "scanner-XYZ"},
    ],
)
def test_empty_and_unicode_units_and_labels_are_accepted_both_ways(spatial: dict) -> None:
    meta, caught = _read({"spatial": spatial})
    assert caught == []
    strict = Meta(spatial=spatial)
    strict.validate()
    for name, value in spatial.items():
        assert getattr(strict.spatial, name) == getattr(meta.spatial, name) == value


@pytest.mark.parametrize(
    ("mapping", "error"),
    [  # refused by 0.0.54 as well: refused when reading too
        ({"spatial": {"spacing": [1.0, "2"]}}, TypeError),
        ({"spatial": {"axis_labels": ["spatial", 3]}}, TypeError),
        ({"spatial": {"shape": [2, 3], "spacing": [1.0]}}, ValueError),
        ({"spatial": {"spacing": [1.0, 1.0], "affine": [[1, 0], [0, 1]]}}, ValueError),
        ({"stats": {"min": "0"}}, TypeError),
        ({"bbox": {"bboxes": [[[1, 2, 3]]]}}, ValueError),
        ({"bbox": {"bboxes": [BOX], "scores": [0.1, 0.2]}}, ValueError),
        ({"is_seg": {"is_seg": "yes"}}, TypeError),
        ({"source": {"data": {(1, 2): "tuple key"}}}, TypeError),
    ],
)
def test_values_0054_refuses_are_refused_when_reading(mapping: dict, error: type) -> None:
    with pytest.raises(error):
        meta_from_file(mapping, source="case.mla")


def test_numpy_scalars_and_ordered_dicts_in_legacy_pickles_are_decoded() -> None:
    # pickle.dumps(..., protocol=5) by mlarray 0.0.54's environment (NumPy 2) of
    # {"stats": {"mean": np.float64(0.5), "std": np.float64(-2.25)},
    #  "spatial": {"axis_labels": [np.str_("spatial_x"), np.str_("chännel")]},
    #  "source": {"data": collections.OrderedDict(a=np.float64(1e300))}}
    raw = bytes.fromhex(NUMPY_PICKLE)
    mapping = decode_legacy(gzip.compress(raw), source="numpy.mla")
    assert mapping["stats"] == {"mean": 0.5, "std": -2.25}
    assert mapping["spatial"]["axis_labels"] == ["spatial_x", "chännel"]
    assert type(mapping["spatial"]["axis_labels"][0]) is str
    assert mapping["source"] == {"data": {"a": 1e300}}
    assert type(mapping["source"]["data"]) is dict


NUMPY_PICKLE = (
    "80059593010000000000007d94288c057374617473947d94288c046d65616e948c166e756d70792e5f636f"
    "72652e6d756c74696172726179948c067363616c61729493948c056e756d7079948c056474797065949394"
    "8c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624308000000000000"
    "e03f94869452948c03737464946806680c430800000000000002c09486945294758c077370617469616c94"
    "7d948c0b617869735f6c6162656c73945d9428680668098c02553994898887945294284b03680d4e4e4e4b"
    "244b044b0874946243247300000070000000610000007400000069000000610000006c0000005f00000078"
    "0000009486945294680668098c02553794898887945294284b03680d4e4e4e4b1c4b044b08749462431c63"
    "00000068000000e40000006e0000006e000000650000006c000000948694529465738c06736f7572636594"
    "7d948c0464617461948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c"
    "0161946806680c43089c7500883ce4377e94869452947373752e"
)


def test_write_refusal_names_the_field_for_a_meta_read_leniently() -> None:
    meta, _ = _read({"stats": {"std": NAN}})
    meta.source["ok"] = 1  # other sections can be edited
    meta.spatial.coord_system = "RAS"
    with pytest.raises(MetaValidationError, match=r"meta\.stats\.std: expected a finite number"):
        meta.validate()
    with pytest.raises(MetaValidationError, match=r"meta\.stats\.std"):
        meta.stats.min = 0.0  # the section is checked as a whole
    meta.stats.std = None
    meta.stats.min = 0.0
    meta.validate()
    meta_keys, _ = _read({"source": {"data": {1: "one"}}})
    with pytest.raises(MetaTypeError, match=r"meta\.source: mapping keys must be strings"):
        meta_keys.validate()


def test_a_fractional_patch_size_0054_recorded_is_accepted() -> None:
    meta, caught = _read({"blosc2": {"patch_size": [64.5, 64, 64]}})
    assert caught == []
    assert meta.blosc2.patch_size == [64.5, 64, 64]
    meta.validate()
