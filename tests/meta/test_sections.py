"""The sections other than spatial: stats, bbox, flags, blosc2 and the format markers."""

from __future__ import annotations

import copy

import pytest

from mlarray_meta import (
    Meta,
    MetaBbox,
    MetaBlosc2,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaStatistics,
    MetaVersion,
    SingleKeyBaseMeta,
)
from mlarray_meta._facts import ArrayFacts
from mlarray_meta.errors import MetaTypeError, MetaValidationError, ReadOnlyFieldError
from tests.meta._samples import FakeNumpy

STAT_FIELDS = [
    "min",
    "max",
    "mean",
    "median",
    "std",
    "percentile_min",
    "percentile_max",
    "percentile_mean",
    "percentile_median",
    "percentile_std",
    "percentile_min_key",
    "percentile_max_key",
]


# --- MetaStatistics --------------------------------------------------------------------


def test_statistics_fields() -> None:
    assert list(MetaStatistics().to_mapping()) == STAT_FIELDS


def test_statistics_accept_ints_floats_and_numpy_like_scalars() -> None:
    stats = MetaStatistics(
        min=-1024, max=3071.5, mean=FakeNumpy(12.25, "float32"), percentile_min_key=0.05
    )
    assert (stats.min, stats.max, stats.mean, stats.percentile_min_key) == (
        -1024,
        3071.5,
        12.25,
        0.05,
    )
    assert type(stats.mean) is float
    assert type(stats.min) is int


@pytest.mark.parametrize("field", STAT_FIELDS)
@pytest.mark.parametrize("bad", ["1.0", True, [1.0], {"v": 1}])
def test_statistics_reject_non_numbers(field: str, bad: object) -> None:
    with pytest.raises(TypeError, match=rf"meta\.stats\.{field}: expected a number, got") as info:
        MetaStatistics(**{field: bad})
    assert isinstance(info.value, MetaTypeError)


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), float("-inf"), FakeNumpy(float("nan"))]
)
def test_statistics_must_be_finite(bad: object) -> None:
    stats = MetaStatistics(std=1.0)
    with pytest.raises(ValueError, match=r"meta\.stats\.std: expected a finite number") as info:
        stats.std = bad
    assert isinstance(info.value, MetaValidationError)
    assert stats.std == 1.0


# --- MetaBbox --------------------------------------------------------------------------


def test_bbox_accepts_boxes_with_aligned_scores_and_labels() -> None:
    bbox = MetaBbox(
        bboxes=[[[0, 10], [5, 5], [1.5, 2.5]], [[1, 2], [3, 4], [5, 6]]],
        scores=[0.9, 1],
        labels=["tumor", 3],
    )
    assert bbox.bboxes == [[[0, 10], [5, 5], [1.5, 2.5]], [[1, 2], [3, 4], [5, 6]]]
    assert bbox.scores == [0.9, 1]
    assert bbox.labels == ["tumor", 3]


def test_bbox_casts_tuples_and_numpy_like_arrays() -> None:
    bbox = MetaBbox(bboxes=FakeNumpy([[[0, 1], [2, 3]]], "int64"), scores=(FakeNumpy(0.5),))
    assert bbox.bboxes == [[[0, 1], [2, 3]]]
    assert bbox.scores == [0.5]
    assert MetaBbox(bboxes=(((0, 1),),)).bboxes == [[[0, 1]]]


def test_bbox_allows_no_boxes() -> None:
    assert MetaBbox(bboxes=[], scores=[], labels=[]).bboxes == []


@pytest.mark.parametrize(
    ("bboxes", "message"),
    [
        ([[[0, 1, 2]]], r"bboxes\[0\]\[0\]: expected a \[min, max\] pair, got 3 values"),
        ([[[0]]], r"bboxes\[0\]\[0\]: expected a \[min, max\] pair, got 1 values"),
        ([[[5, 1]]], r"bboxes\[0\]\[0\]: min 5 is greater than max 1"),
        ([[[0, 1], [3, 2.5]]], r"bboxes\[0\]\[1\]: min 3 is greater than max 2.5"),
        ([[[0, 1]], [[0, 1], [0, 1]]], r"bboxes\[1\]: expected 1 dimensions like box 0, got 2"),
        ([[[0, float("nan")]]], r"bboxes\[0\]\[0\]\[1\]: expected a finite number"),
    ],
)
def test_bbox_shape_and_order_are_checked(bboxes: list, message: str) -> None:
    with pytest.raises(ValueError, match=rf"meta\.bbox\.{message}") as info:
        MetaBbox(bboxes=bboxes)
    assert isinstance(info.value, MetaValidationError)


@pytest.mark.parametrize(
    ("bboxes", "message"),
    [
        ([0, 1], r"bboxes\[0\]: expected \[ndims\]\[2\] pairs"),
        ([[]], r"bboxes\[0\]: expected \[ndims\]\[2\] pairs"),
        ([[0, 1]], r"bboxes\[0\]\[0\]: expected a list"),
        ([[["0", 1]]], r"bboxes\[0\]\[0\]\[0\]: expected a number, got str"),
        ([[[False, True]]], r"bboxes\[0\]\[0\]\[0\]: expected a number, got bool"),
        ("boxes", r"bboxes: expected a list of boxes"),
        ({"a": 1}, r"bboxes: expected a list of boxes"),
    ],
)
def test_bbox_types_are_checked(bboxes: object, message: str) -> None:
    with pytest.raises(TypeError, match=rf"meta\.bbox\.{message}"):
        MetaBbox(bboxes=bboxes)


@pytest.mark.parametrize(
    ("field", "value"),
    [("scores", [0.5]), ("scores", [0.5, 0.5, 0.5]), ("labels", ["a"]), ("labels", [])],
)
def test_bbox_scores_and_labels_must_align(field: str, value: list) -> None:
    with pytest.raises(ValueError, match=rf"meta\.bbox\.{field}: expected one entry per .*\(2\)"):
        MetaBbox(bboxes=[[[0, 1]], [[2, 3]]], **{field: value})


def test_bbox_scores_without_boxes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"scores: expected one entry per bounding box \(0\)"):
        MetaBbox(scores=[1.0])


@pytest.mark.parametrize("bad", [True, None, [1], {"a": 1}])
def test_bbox_labels_are_str_int_or_float(bad: object) -> None:
    with pytest.raises(TypeError, match=r"meta\.bbox\.labels\[0\]: expected a str, int or float"):
        MetaBbox(bboxes=[[[0, 1]]], labels=[bad])


def test_bbox_scores_must_be_finite_numbers() -> None:
    with pytest.raises(ValueError, match=r"scores\[0\]: expected a finite number"):
        MetaBbox(bboxes=[[[0, 1]]], scores=[float("inf")])
    with pytest.raises(TypeError, match=r"scores\[0\]: expected a number"):
        MetaBbox(bboxes=[[[0, 1]]], scores=["high"])


def test_bbox_failed_assignment_keeps_the_boxes() -> None:
    bbox = MetaBbox(bboxes=[[[0, 1]]], scores=[0.5])
    with pytest.raises(ValueError, match="scores"):
        bbox.bboxes = [[[0, 1]], [[2, 3]]]
    assert bbox.bboxes == [[[0, 1]]]


# --- MetaIsSeg -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, None])
def test_is_seg_accepts_bool_or_none(value: bool | None) -> None:
    assert MetaIsSeg(value).value is value


def test_is_seg_accepts_numpy_like_bools() -> None:
    assert MetaIsSeg(FakeNumpy(True, "bool")).value is True


@pytest.mark.parametrize("bad", [1, 0, "True", 1.0, [True]])
def test_is_seg_rejects_non_bools(bad: object) -> None:
    with pytest.raises(TypeError, match=r"meta\.is_seg: expected True, False or None, got"):
        MetaIsSeg(bad)


# --- MetaSource / MetaExtra ------------------------------------------------------------


@pytest.mark.parametrize("cls", [MetaSource, MetaExtra])
def test_dict_sections_hold_json_dicts(cls: type[SingleKeyBaseMeta]) -> None:
    section = cls({"a": 1, "b": [1, 2], "c": {"d": None, "e": "text", "f": 1.5, "g": False}})
    assert section.value == {
        "a": 1,
        "b": [1, 2],
        "c": {"d": None, "e": "text", "f": 1.5, "g": False},
    }
    assert cls(None).value == {}


@pytest.mark.parametrize("bad", [[1, 2], "text", 5, ("a", 1)])
def test_dict_sections_reject_non_dicts(bad: object) -> None:
    with pytest.raises(TypeError, match=r"meta\.extra: expected a dict"):
        MetaExtra(bad)


def test_dict_sections_copy_their_input() -> None:
    given = {"nested": {"x": [1]}}
    source = MetaSource(given)
    given["nested"]["x"].append(2)
    assert source == {"nested": {"x": [1]}}


def test_dict_section_update_merges_and_validates() -> None:
    extra = MetaExtra({"a": 1})
    extra.update({"b": (2, 3)}, c=4)
    assert extra == {"a": 1, "b": [2, 3], "c": 4}
    with pytest.raises(TypeError, match="not JSON-serializable"):
        extra.update({"bad": object()})
    assert extra == {"a": 1, "b": [2, 3], "c": 4}


def test_dict_section_setdefault_validates() -> None:
    extra = MetaExtra({"a": 1})
    assert extra.setdefault("a", 99) == 1
    assert extra.setdefault("t", (1, 2)) == [1, 2]
    with pytest.raises(TypeError, match="not JSON-serializable"):
        extra.setdefault("bad", {1, 2})
    assert extra == {"a": 1, "t": [1, 2]}


# --- MetaBlosc2: everything managed ----------------------------------------------------


def blosc2_section() -> MetaBlosc2:
    return MetaBlosc2(
        chunk_size=[1, 30, 40, 50],
        block_size=[1, 22, 24, 24],
        patch_size=[192, 192, 192],
        cparams={"codec": 2, "clevel": 8, "filters": [0, 1]},
        dparams={"nthreads": 1},
    )


def test_blosc2_fields_are_cast() -> None:
    section = MetaBlosc2(chunk_size=(2.0, FakeNumpy(3, "int64")), cparams={"t": (1, 2)})
    assert section.chunk_size == [2, 3]
    assert section.cparams == {"t": [1, 2]}


@pytest.mark.parametrize("field", ["chunk_size", "block_size", "patch_size", "cparams", "dparams"])
def test_every_blosc2_field_is_read_only(field: str) -> None:
    section = blosc2_section()
    before = copy.deepcopy(section)
    with pytest.raises(ReadOnlyFieldError, match=rf"meta\.blosc2\.{field} .*read-only"):
        setattr(section, field, None)
    assert section == before


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("chunk_size", lambda v: v.append(1)),
        ("block_size", lambda v: v.__setitem__(0, 2)),
        ("patch_size", lambda v: v.sort()),
        ("cparams", lambda v: v.__setitem__("clevel", 1)),
        ("cparams", lambda v: v.update(clevel=1)),
        ("dparams", lambda v: v.pop("nthreads")),
    ],
)
def test_blosc2_lists_and_dicts_refuse_in_place_changes(field: str, mutate: object) -> None:
    meta = Meta(blosc2=blosc2_section().to_mapping(), spatial={"shape": [2, 30, 40, 50]})
    before = copy.deepcopy(meta.blosc2)
    with pytest.raises(ReadOnlyFieldError, match=rf"meta\.blosc2\.{field}"):
        mutate(getattr(meta.blosc2, field))  # type: ignore[operator]
    assert meta.blosc2 == before


def test_nested_blosc2_params_are_read_only_too() -> None:
    section = MetaBlosc2(cparams={"filters": [0, 1], "tuner": {"name": "stune"}})
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.blosc2\.cparams"):
        section.cparams["filters"].append(9)
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.blosc2\.cparams"):
        section.cparams["tuner"]["name"] = "btune"
    assert section.cparams == {"filters": [0, 1], "tuner": {"name": "stune"}}
    out = section.to_mapping()
    assert type(out["cparams"]["filters"]) is list
    assert type(out["cparams"]["tuner"]) is dict
    out["cparams"]["filters"].append(9)
    assert section.cparams["filters"] == [0, 1]


def test_blosc2_is_written_by_setting_the_facts() -> None:
    meta = Meta()
    meta._set_facts(ArrayFacts(chunk_size=(4, 4), cparams={"clevel": 1}))
    section = meta.blosc2
    assert section.chunk_size == [4, 4]
    assert section.cparams == {"clevel": 1}
    with pytest.raises(ReadOnlyFieldError):
        section.cparams["clevel"] = 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"chunk_size": [0, 4]}, ValueError, r"chunk_size\[0\]: expected an integer >= 1"),
        ({"block_size": [1.5]}, TypeError, r"block_size\[0\]: expected an integer"),
        ({"patch_size": "64"}, TypeError, r"patch_size: expected a list"),
        (
            {"chunk_size": [4, 4], "block_size": [4]},
            ValueError,
            r"block_size: expected 2 values like chunk_size, got 1",
        ),
        (
            {"chunk_size": [4, 4], "block_size": [2, 8]},
            ValueError,
            r"block_size\[1\]: block 8 is larger than chunk 4",
        ),
        ({"cparams": [("clevel", 5)]}, TypeError, r"cparams: expected a dict or None"),
        ({"dparams": {"n": float("nan")}}, ValueError, r"dparams\['n'\]: expected a finite"),
    ],
)
def test_blosc2_values_are_validated(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=rf"meta\.blosc2\.{message}"):
        MetaBlosc2(**kwargs)


# --- format markers: managed single-key sections ---------------------------------------


@pytest.mark.parametrize(
    ("section", "value"),
    [(MetaHasArray(), True), (MetaImageFormat(), "nifti"), (MetaVersion(), "0.1.0")],
)
def test_format_markers_are_read_only(section: SingleKeyBaseMeta, value: object) -> None:
    before = section.value
    for write in (section.set, lambda v: setattr(section, "value", v)):
        with pytest.raises(ReadOnlyFieldError, match="read-only"):
            write(value)
    assert section.value == before
    meta = Meta()
    meta._set_facts(ArrayFacts(**{section._key(): value}))
    assert getattr(meta, section._section.removeprefix("meta.")).value == value


def test_format_markers_validate_their_types() -> None:
    with pytest.raises(TypeError, match=r"meta\._has_array: expected True or False, got NoneType"):
        MetaHasArray(None)
    with pytest.raises(TypeError, match=r"meta\._image_meta_format: expected a string or None"):
        MetaImageFormat(3)
    with pytest.raises(TypeError, match=r"meta\._mlarray_version: expected a string or None"):
        MetaVersion(0.54)
