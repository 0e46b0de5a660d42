"""Meta: coercion of sections, convenience setters, managed sections, layout checks, I/O shape."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlarray_meta import (
    AxisLabel,
    CoordSystem,
    Meta,
    MetaBbox,
    MetaBlosc2,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaSpatial,
    MetaStatistics,
    MetaVersion,
)
from mlarray_meta._facts import ArrayFacts
from mlarray_meta.errors import MetaValidationError, ReadOnlyFieldError
from tests.meta._samples import LEGACY_0054_MAPPING, FakeNumpy, legacy_mapping

SECTION_CLASSES = {
    "source": MetaSource,
    "extra": MetaExtra,
    "spatial": MetaSpatial,
    "stats": MetaStatistics,
    "bbox": MetaBbox,
    "is_seg": MetaIsSeg,
    "blosc2": MetaBlosc2,
    "_has_array": MetaHasArray,
    "_image_meta_format": MetaImageFormat,
    "_mlarray_version": MetaVersion,
}
MANAGED_SECTIONS = ["blosc2", "_has_array", "_image_meta_format", "_mlarray_version"]


# --- construction and assignment coerce to the section classes -------------------------


def test_default_meta_has_every_section() -> None:
    meta = Meta()
    for name, cls in SECTION_CLASSES.items():
        assert type(getattr(meta, name)) is cls
        assert getattr(meta, name).is_default()
    assert list(meta.to_mapping()) == list(SECTION_CLASSES)


def test_construction_coerces_raw_values_and_mappings() -> None:
    meta = Meta(
        source={"patient": "anon"},
        extra=MetaExtra({"note": 1}),
        spatial={"spacing": [1, 1]},
        stats={"min": 0},
        bbox={"bboxes": [[[0, 1], [0, 1]]]},
        is_seg=True,
        _mlarray_version="0.0.54",
    )
    assert type(meta.source) is MetaSource
    assert meta.source["patient"] == "anon"
    assert meta.extra == {"note": 1}
    assert type(meta.spatial) is MetaSpatial
    assert meta.spatial.spacing == [1, 1]
    assert meta.stats.min == 0
    assert meta.bbox.bboxes == [[[0, 1], [0, 1]]]
    assert type(meta.is_seg) is MetaIsSeg
    assert meta.is_seg.value is True
    assert meta._mlarray_version == "0.0.54"


def test_construction_accepts_schema_shaped_single_keys() -> None:
    meta = Meta(source={"data": {"a": 1}}, is_seg={"is_seg": False})
    assert meta.source == {"a": 1}
    assert meta.is_seg.value is False


def test_construction_rejects_wrong_section_types() -> None:
    with pytest.raises(TypeError, match="MetaSpatial"):
        Meta(spatial=[1, 2, 3])
    with pytest.raises(TypeError, match=r"meta\.is_seg"):
        Meta(is_seg="yes")
    with pytest.raises(TypeError, match="MetaIsSeg"):
        Meta(is_seg=MetaSource())


@pytest.mark.parametrize(
    ("name", "raw", "check"),
    [
        ("source", {"k": "v"}, lambda s: s == {"k": "v"}),
        ("extra", {"n": [1, 2]}, lambda s: s["n"] == [1, 2]),
        ("is_seg", True, lambda s: s.value is True),
        ("bbox", {"bboxes": [[[0, 4]]], "scores": [0.5]}, lambda s: s.scores == [0.5]),
        ("spatial", {"spacing": [2, 2]}, lambda s: s.spacing == [2, 2]),
        ("stats", {"max": 9}, lambda s: s.max == 9),
        ("stats", MetaStatistics(mean=3), lambda s: s.mean == 3),
    ],
)
def test_assignment_coerces_to_the_section_class(name: str, raw: Any, check: Any) -> None:
    meta = Meta()
    setattr(meta, name, raw)
    section = getattr(meta, name)
    assert type(section) is SECTION_CLASSES[name]
    assert check(section)


def test_assigning_none_resets_a_section() -> None:
    meta = Meta(source={"a": 1}, is_seg=True)
    meta.source = None
    meta.is_seg = None
    assert meta.source == {}
    assert meta.is_seg.value is None


@pytest.mark.parametrize(
    ("name", "bad", "error"),
    [
        ("source", [1, 2], TypeError),
        ("source", {"x": float("nan")}, ValueError),
        ("is_seg", "true", TypeError),
        ("bbox", {"bboxes": [[[3, 1]]]}, ValueError),
        ("spatial", {"spacing": [1], "origin": [1, 2]}, ValueError),
        ("stats", {"mean": "high"}, TypeError),
        ("spatial", 5, TypeError),
    ],
)
def test_failed_assignment_leaves_the_old_section(name: str, bad: Any, error: type) -> None:
    meta = Meta(
        source={"a": 1}, is_seg=False, bbox={"bboxes": [[[0, 1]]]}, spatial={"spacing": [1]}
    )
    before = copy.deepcopy(meta)
    old_section = getattr(meta, name)
    with pytest.raises(error, match=r"meta\b"):
        setattr(meta, name, bad)
    assert getattr(meta, name) is old_section
    assert meta == before


# --- managed sections ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("_has_array", True),
        ("_image_meta_format", "nifti"),
        ("_mlarray_version", "9.9"),
        ("blosc2", {"chunk_size": [1]}),
        ("blosc2", None),
    ],
)
def test_managed_sections_cannot_be_assigned(name: str, value: Any) -> None:
    meta = Meta()
    with pytest.raises(ReadOnlyFieldError, match=rf"meta\.{name} is managed by MLArray") as info:
        setattr(meta, name, value)
    assert isinstance(info.value, AttributeError)
    assert getattr(meta, name).is_default()


def test_managed_sections_cannot_be_changed_through_their_values() -> None:
    meta = Meta.from_mapping(legacy_mapping())
    with pytest.raises(ReadOnlyFieldError):
        meta._has_array.set(False)
    with pytest.raises(ReadOnlyFieldError):
        meta._mlarray_version.value = "v1"
    with pytest.raises(ReadOnlyFieldError):
        meta.blosc2.chunk_size = [1, 1, 1, 1]
    with pytest.raises(ReadOnlyFieldError):
        meta.blosc2.chunk_size[0] = 2
    with pytest.raises(ReadOnlyFieldError):
        meta.blosc2.cparams["clevel"] = 1
    with pytest.raises(ReadOnlyFieldError):
        meta.spatial.shape[0] = 3
    assert meta.to_mapping() == LEGACY_0054_MAPPING


def test_managed_sections_are_written_by_setting_the_facts() -> None:
    meta = Meta(spatial={"axis_labels": ["channel", "spatial", "spatial"]})
    meta._set_facts(
        ArrayFacts(
            has_array=True,
            image_meta_format="sitk",
            mlarray_version="0.1.0",
            shape=(2, 64, 64),
            chunk_size=(1, 64, 64),
            block_size=(1, 16, 16),
            patch_size=(64, 64),
        )
    )
    assert meta._has_array.value is True
    assert meta._image_meta_format == "sitk"
    assert meta.spatial.shape == [2, 64, 64]
    assert meta.blosc2.patch_size == [64, 64]


def test_spatial_assignment_keeps_the_managed_shape() -> None:
    meta = Meta()
    meta._set_facts(ArrayFacts(shape=(4, 5)))
    meta.spatial = {"spacing": [0.5, 0.5], "shape": [9, 9]}
    assert meta.spatial.shape == [4, 5]
    assert meta.spatial.spacing == [0.5, 0.5]
    returned = meta.set_spatial(MetaSpatial(origin=[1, 2]))
    assert returned is meta
    assert meta.spatial.shape == [4, 5]
    assert meta.spatial.origin == [1, 2]


def test_spatial_assignment_is_checked_against_the_managed_shape() -> None:
    meta = Meta()
    meta._set_facts(ArrayFacts(shape=(4, 5)))
    with pytest.raises(ValueError, match=r"spacing: expected 2 values"):
        meta.spatial = {"spacing": [1, 1, 1]}
    assert meta.spatial.spacing is None
    assert meta.spatial.shape == [4, 5]


# --- layout checks ---------------------------------------------------------------------


def test_chunk_and_block_lengths_match_the_shape() -> None:
    with pytest.raises(ValueError, match=r"meta\.blosc2\.chunk_size: expected 3 values .*got 2"):
        Meta(spatial={"shape": [4, 5, 6]}, blosc2={"chunk_size": [4, 5]})
    with pytest.raises(ValueError, match=r"meta\.blosc2\.block_size: expected 3 values"):
        Meta(spatial={"shape": [4, 5, 6]}, blosc2={"block_size": [4, 5, 6, 1]})


def test_patch_size_matches_the_labelled_spatial_axes() -> None:
    with pytest.raises(ValueError, match=r"patch_size: expected 3 values .*spatial axis.*got 4"):
        Meta(spatial={"axis_labels": ["channel", *["spatial"] * 3]}, blosc2={"patch_size": [8] * 4})
    meta = Meta(
        spatial={"axis_labels": ["channel", *["spatial"] * 3]}, blosc2={"patch_size": [8] * 3}
    )
    assert meta.blosc2.patch_size == [8, 8, 8]


def test_relabelling_against_the_managed_patch_size_fails_atomically() -> None:
    meta = Meta.from_mapping(legacy_mapping())
    with pytest.raises(ValueError, match="patch_size"):
        meta.spatial = {"axis_labels": ["spatial"] * 4}
    assert meta.spatial.axis_labels == LEGACY_0054_MAPPING["spatial"]["axis_labels"]


def test_validate_catches_in_place_edits() -> None:
    meta = Meta(spatial={"spacing": [1, 1]}, source={"a": 1})
    meta.validate()
    meta.spatial.spacing.append(-1)
    with pytest.raises(ValueError, match=r"meta\.spatial\.spacing\[2\]: expected a value > 0"):
        meta.validate()
    meta.spatial.spacing.pop()
    meta.source.value["bad"] = object()
    with pytest.raises(TypeError, match=r"meta\.source\['bad'\]: value of type object"):
        meta.validate()


def test_validate_passes_on_a_valid_legacy_meta() -> None:
    meta = Meta.from_mapping(legacy_mapping())
    meta.validate()
    assert meta.to_mapping() == LEGACY_0054_MAPPING


# --- convenience setters ---------------------------------------------------------------


def test_every_setter_returns_self_and_coerces() -> None:
    meta = Meta()
    result = (
        meta.set_source({"s": 1})
        .set_extra({"e": 2})
        .set_spatial({"spacing": [1, 2, 3]})
        .set_stats({"min": -1})
        .set_bbox({"bboxes": [[[0, 1], [0, 1], [0, 1]]]})
        .set_is_seg(True)
        .update_source({"s2": 3})
        .update_extra({"e2": 4})
        .add_bbox([[1, 2], [1, 2], [1, 2]])
    )
    assert result is meta
    assert meta.source == {"s": 1, "s2": 3}
    assert meta.extra == {"e": 2, "e2": 4}
    assert meta.spatial.spacing == [1, 2, 3]
    assert meta.stats.min == -1
    assert meta.bbox.bboxes == [[[0, 1], [0, 1], [0, 1]], [[1, 2], [1, 2], [1, 2]]]
    assert meta.is_seg.value is True
    for name, cls in SECTION_CLASSES.items():
        assert type(getattr(meta, name)) is cls


def test_setters_accept_section_instances() -> None:
    meta = Meta()
    source = MetaSource({"a": 1})
    meta.set_source(source).set_is_seg(MetaIsSeg(False)).set_stats(MetaStatistics(max=1))
    assert meta.source is source
    assert meta.is_seg.value is False
    assert meta.stats.max == 1


def test_set_bbox_accepts_a_plain_list_of_boxes() -> None:
    meta = Meta().set_bbox([[[0, 1]], [[2, 3]]])
    assert meta.bbox == MetaBbox(bboxes=[[[0, 1]], [[2, 3]]])
    meta.set_bbox((((5, 6),),))
    assert meta.bbox.bboxes == [[[5, 6]]]


def test_set_is_seg_accepts_none() -> None:
    assert Meta(is_seg=True).set_is_seg(None).is_seg.value is None


def test_setters_fail_atomically() -> None:
    meta = Meta(source={"a": 1}, bbox={"bboxes": [[[0, 1]]]})
    before = copy.deepcopy(meta)
    with pytest.raises(TypeError):
        meta.set_source({1: "int key"})
    with pytest.raises(TypeError):
        meta.update_source({"bad": {1, 2}})
    with pytest.raises(ValueError, match="min 2 is greater than max 1"):
        meta.set_bbox([[[2, 1]]])
    with pytest.raises(TypeError):
        meta.set_is_seg("no")
    assert meta == before


def test_update_source_merges_and_overrides_keys() -> None:
    meta = Meta(source={"a": 1, "b": 2})
    meta.update_source({"b": 20, "c": (3,)})
    assert meta.source == {"a": 1, "b": 20, "c": [3]}
    meta.update_extra({})
    assert meta.extra == {}


def test_add_bbox_builds_scores_and_labels() -> None:
    meta = Meta()
    meta.add_bbox([[0, 1], [2, 3]], score=0.9, label="lesion").add_bbox(
        [[1, 2], [3, 4]], score=FakeNumpy(0.5), label=2
    )
    assert meta.bbox.bboxes == [[[0, 1], [2, 3]], [[1, 2], [3, 4]]]
    assert meta.bbox.scores == [0.9, 0.5]
    assert meta.bbox.labels == ["lesion", 2]


def test_add_bbox_without_scores_keeps_scores_unset() -> None:
    meta = Meta().add_bbox([[0, 1]]).add_bbox([[2, 3]])
    assert meta.bbox.scores is None
    assert meta.bbox.labels is None


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"score": 0.5}, {}, "scores"),
        ({}, {"score": 0.5}, "scores"),
        ({"label": "a"}, {}, "labels"),
        ({}, {"label": 1}, "labels"),
    ],
)
def test_add_bbox_keeps_scores_and_labels_aligned(first: dict, second: dict, field: str) -> None:
    meta = Meta().add_bbox([[0, 1]], **first)
    before = copy.deepcopy(meta)
    with pytest.raises(ValueError, match=rf"meta\.bbox\.{field}: the 1 existing boxes") as info:
        meta.add_bbox([[2, 3]], **second)
    assert isinstance(info.value, MetaValidationError)
    assert meta == before


def test_add_bbox_rejects_a_box_of_other_dimensions() -> None:
    meta = Meta().add_bbox([[0, 1], [0, 1]])
    with pytest.raises(ValueError, match=r"bboxes\[1\]: expected 2 dimensions like box 0, got 3"):
        meta.add_bbox([[0, 1], [0, 1], [0, 1]])
    assert len(meta.bbox.bboxes) == 1


# --- to_plain --------------------------------------------------------------------------


def test_to_plain_suppresses_default_sections() -> None:
    assert Meta().to_plain() == {}
    plain = Meta(source={"a": 1}, is_seg=False, spatial={"spacing": [1]}).to_plain()
    assert plain == {
        "source": {"a": 1},
        "spatial": {"spacing": [1]},
        "is_seg": False,
    }


def test_to_plain_with_none_shows_default_sections_as_none() -> None:
    plain = Meta(is_seg=True).to_plain(include_none=True)
    assert list(plain) == list(SECTION_CLASSES)
    assert plain["is_seg"] is True
    assert plain["source"] is None
    assert plain["spatial"] is None
    assert plain["_has_array"] is None


def test_to_plain_of_the_legacy_meta() -> None:
    plain = Meta.from_mapping(legacy_mapping()).to_plain()
    assert set(plain) == {
        "source",
        "spatial",
        "bbox",
        "is_seg",
        "blosc2",
        "_has_array",
        "_mlarray_version",
    }
    assert plain["is_seg"] is True
    assert plain["_has_array"] is True
    assert plain["_mlarray_version"] == "v0"
    assert plain["spatial"]["shape"] == [2, 30, 40, 50]
    assert "affine" not in plain["spatial"]
    assert json.loads(json.dumps(plain)) == plain


# --- the mapping written by mlarray 0.0.54 ---------------------------------------------


def test_legacy_mapping_loads_with_every_field_intact() -> None:
    meta = Meta.from_mapping(legacy_mapping())
    assert meta.source == {"a": 1, "b": [1, 2]}
    assert meta.extra == {}
    spatial = meta.spatial
    assert spatial.spacing == [1, 2, 3]
    assert spatial.origin == [4, 5, 6]
    assert spatial.direction == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert spatial.affine is None
    assert spatial.shape == [2, 30, 40, 50]
    assert spatial.axis_labels == ["channel", "spatial_z", "spatial_y", "spatial_x"]
    assert spatial.axis_labels[0] == AxisLabel.channel
    assert spatial.coord_system is None
    assert spatial.axis_units is None
    assert (spatial._num_spatial_axes, spatial._num_non_spatial_axes) == (3, 1)
    assert meta.stats.is_default()
    assert meta.bbox.bboxes == [[[0, 1], [2, 3], [4, 5]]]
    assert (meta.bbox.scores, meta.bbox.labels) == (None, None)
    assert meta.is_seg.value is True
    assert meta.blosc2.chunk_size == [1, 30, 40, 50]
    assert meta.blosc2.block_size == [1, 22, 24, 24]
    assert meta.blosc2.patch_size == [192, 192, 192]
    assert meta.blosc2.cparams == {"codec": 2, "clevel": 8}
    assert meta.blosc2.dparams == {"nthreads": 1}
    assert meta._has_array.value is True
    assert meta._image_meta_format.value is None
    assert meta._mlarray_version.value == "v0"


def test_legacy_mapping_round_trips_exactly() -> None:
    mapping = legacy_mapping()
    meta = Meta.from_mapping(mapping)
    assert mapping == LEGACY_0054_MAPPING  # the input was not modified
    out = meta.to_mapping()
    assert out == LEGACY_0054_MAPPING
    assert json.loads(json.dumps(out, allow_nan=False)) == LEGACY_0054_MAPPING
    assert Meta.from_mapping(out) == meta
    assert Meta.from_mapping(meta.to_mapping(include_none=False)) == meta


def test_legacy_meta_can_be_reset_and_edited() -> None:
    meta = Meta.from_mapping(legacy_mapping())
    meta.reset()
    assert meta.source == {}
    assert meta.spatial.axis_labels is None
    assert meta.spatial.shape == [2, 30, 40, 50]
    assert meta.blosc2.patch_size == [192, 192, 192]
    assert meta._has_array.value is True
    meta.spatial = {"axis_labels": ["channel", "spatial_z", "spatial_y", "spatial_x"]}
    meta.spatial.spacing = [0.5, 0.5, 0.5]
    meta.spatial.coord_system = CoordSystem.RAS
    assert meta.spatial.spacing == [0.5, 0.5, 0.5]


def test_legacy_meta_copies_into_a_fresh_meta() -> None:
    legacy = Meta.from_mapping(legacy_mapping())
    user_copy = Meta()
    user_copy.copy_from(legacy)
    assert user_copy.source == legacy.source
    assert user_copy.spatial.spacing == [1, 2, 3]
    assert user_copy.spatial.shape is None
    assert user_copy.blosc2.is_default()
    internal_copy = Meta()
    internal_copy.copy_from(legacy)
    internal_copy._set_facts(internal_copy._facts.filled_from(legacy._facts))
    assert internal_copy == legacy


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("spatial", "spacing", [1, 2]),
        ("spatial", "shape", [2, 30, 40]),
        ("blosc2", "patch_size", [192, 192, 192, 192]),
        ("bbox", "scores", [0.5, 0.5]),
        ("stats", "min", "zero"),
    ],
)
def test_a_corrupted_legacy_mapping_is_refused(section: str, key: str, value: Any) -> None:
    mapping = legacy_mapping()
    mapping[section][key] = value
    with pytest.raises((ValueError, TypeError), match=rf"meta\.{section}"):
        Meta.from_mapping(mapping)


# --- properties: any valid Meta round-trips through plain JSON -------------------------

_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
_number = st.one_of(st.integers(-(10**6), 10**6), _finite)
_positive = st.one_of(st.integers(1, 1000), st.floats(min_value=1e-6, max_value=1e6))
_text = st.text(max_size=8)
_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), _finite, _text)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=10,
)
_json_dict = st.dictionaries(_text, _json, max_size=4)
_maybe = st.booleans()


@st.composite
def metas(draw: st.DrawFn) -> Meta:
    n_spatial = draw(st.integers(1, 4))
    extra_axes = draw(st.lists(st.sampled_from(["channel", "temporal", "rgb"]), max_size=2))
    use_labels = draw(_maybe) or bool(extra_axes)
    labels: list[str] | None = None
    if use_labels:
        labels = draw(st.permutations([*["spatial"] * n_spatial, *extra_axes]))
    ndim = n_spatial + len(extra_axes)
    shape = (
        draw(st.lists(st.integers(0, 64), min_size=ndim, max_size=ndim)) if draw(_maybe) else None
    )
    if labels is None and shape is None and draw(_maybe):
        shape = [5] * ndim

    spatial: dict[str, Any] = {"axis_labels": labels, "shape": shape}
    vector = st.lists(_number, min_size=n_spatial, max_size=n_spatial)
    form = draw(st.sampled_from(["none", "vectors", "affine"]))
    if form == "vectors":
        if draw(_maybe):
            spatial["spacing"] = draw(st.lists(_positive, min_size=n_spatial, max_size=n_spatial))
        if draw(_maybe):
            spatial["origin"] = draw(vector)
        if draw(_maybe):
            spatial["direction"] = draw(st.lists(vector, min_size=n_spatial, max_size=n_spatial))
    elif form == "affine":
        top = draw(
            st.lists(
                st.lists(_number, min_size=n_spatial + 1, max_size=n_spatial + 1),
                min_size=n_spatial,
                max_size=n_spatial,
            )
        )
        spatial["affine"] = [*top, [0] * n_spatial + [1]]
    spatial["coord_system"] = draw(st.one_of(st.none(), st.sampled_from(list(CoordSystem)), _text))
    if draw(_maybe):
        spatial["axis_units"] = draw(
            st.lists(st.sampled_from(["mm", "s", "a.u."]), min_size=ndim, max_size=ndim)
        )

    n_boxes = draw(st.integers(0, 3))
    box_dims = draw(st.integers(1, 3))
    pair = st.tuples(_number, _number).map(sorted)
    bbox: dict[str, Any] = {
        "bboxes": draw(
            st.lists(
                st.lists(pair, min_size=box_dims, max_size=box_dims),
                min_size=n_boxes,
                max_size=n_boxes,
            )
        )
        if draw(_maybe)
        else None
    }
    if bbox["bboxes"] is not None:
        if draw(_maybe):
            bbox["scores"] = draw(st.lists(_number, min_size=n_boxes, max_size=n_boxes))
        if draw(_maybe):
            bbox["labels"] = draw(
                st.lists(st.one_of(_text, _number), min_size=n_boxes, max_size=n_boxes)
            )

    blosc2: dict[str, Any] = {}
    if shape is not None and draw(_maybe):
        blosc2["chunk_size"] = [max(1, size) for size in shape]
        blosc2["block_size"] = [1] * ndim
    if draw(_maybe):
        blosc2["patch_size"] = draw(
            st.lists(st.integers(1, 256), min_size=n_spatial, max_size=n_spatial)
        )
    if draw(_maybe):
        blosc2["cparams"] = draw(_json_dict)

    stat_values = st.one_of(st.none(), _number)
    return Meta(
        source=draw(_json_dict),
        extra=draw(_json_dict),
        spatial=spatial,
        stats={name: draw(stat_values) for name in MetaStatistics().to_mapping()},
        bbox=bbox,
        is_seg=draw(st.sampled_from([None, True, False])),
        blosc2=blosc2,
        _has_array=draw(st.booleans()),
        _image_meta_format=draw(st.one_of(st.none(), _text)),
        _mlarray_version=draw(st.one_of(st.none(), st.just("0.1.0"))),
    )


_settings = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@_settings
@given(metas())
def test_any_valid_meta_round_trips_through_to_mapping(meta: Meta) -> None:
    assert Meta.from_mapping(meta.to_mapping()) == meta
    assert Meta.from_mapping(meta.to_mapping(include_none=False)) == meta


@_settings
@given(metas())
def test_to_mapping_output_is_strict_json(meta: Meta) -> None:
    mapping = meta.to_mapping()
    text = json.dumps(mapping, allow_nan=False)
    assert json.loads(text) == mapping
    assert Meta.from_mapping(json.loads(text)) == meta


@_settings
@given(metas())
def test_a_copy_is_equal_and_independent(meta: Meta) -> None:
    clone = Meta()
    clone.copy_from(meta)
    clone._set_facts(clone._facts.filled_from(meta._facts))
    assert clone == meta
    clone.source["__marker__"] = 1
    assert "__marker__" not in meta.source
