"""BaseMeta: copy_from, ensure, from_mapping, is_default, reset, to_mapping, to_plain."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import types

import pytest

from mlarray_meta import (
    BaseMeta,
    Meta,
    MetaBbox,
    MetaBlosc2,
    MetaIsSeg,
    MetaSource,
    MetaSpatial,
    MetaStatistics,
)
from mlarray_meta._base import FrozenDict, FrozenList
from mlarray_meta._facts import ArrayFacts
from mlarray_meta.errors import (
    MetaTypeError,
    MetaValidationError,
    MLArrayError,
    ReadOnlyFieldError,
    UnknownAttributeError,
    UnknownFieldError,
)

AFFINE_3D = [[2, 0, 0, 10], [0, 3, 0, 20], [0, 0, 4, 30], [0, 0, 0, 1]]
MANAGED_FACTS = ArrayFacts(
    shape=(4, 5, 6),
    chunk_size=(2, 5, 6),
    block_size=(1, 5, 6),
    cparams={"clevel": 5},
    has_array=True,
    image_meta_format="nifti",
    mlarray_version="0.1.0",
)


def managed_meta() -> Meta:
    """A Meta whose container-managed fields were written the way mlarray-core writes them."""
    meta = Meta(spatial={"spacing": [1, 1, 1]}, source={"a": 1})
    meta._set_facts(MANAGED_FACTS)
    return meta


# --- copy_from -------------------------------------------------------------------------


def test_copy_from_without_overwrite_fills_only_unset_fields() -> None:
    dest = MetaStatistics(min=0.0, mean=None)
    dest.copy_from(MetaStatistics(min=-5.0, max=9.0, mean=3.0))
    assert (dest.min, dest.max, dest.mean) == (0.0, 9.0, 3.0)


def test_copy_from_with_overwrite_replaces_every_field() -> None:
    dest = MetaStatistics(min=0.0, max=1.0)
    dest.copy_from(MetaStatistics(min=-5.0, mean=3.0), overwrite=True)
    assert dest == MetaStatistics(min=-5.0, mean=3.0)
    assert dest.max is None  # overwritten by the source's None


def test_copy_from_treats_empty_containers_as_unset() -> None:
    dest = Meta(bbox={"bboxes": []})
    dest.copy_from(Meta(source={"k": "v"}, bbox={"bboxes": [[[0, 1]]]}))
    assert dest.source == {"k": "v"}
    assert dest.bbox.bboxes == [[[0, 1]]]


def test_copy_from_keeps_destination_values_that_are_set() -> None:
    dest = Meta(source={"mine": 1}, is_seg=False)
    dest.copy_from(Meta(source={"theirs": 2}, is_seg=True))
    assert dest.source == {"mine": 1}
    assert dest.is_seg == False  # noqa: E712 - False is set, not unset


def test_copy_from_merges_nested_metas_recursively() -> None:
    dest = Meta(spatial={"spacing": [1, 1, 1]}, stats={"min": 0})
    src = Meta(spatial={"spacing": [9, 9, 9], "origin": [1, 2, 3]}, stats={"min": 5, "max": 7})
    dest.copy_from(src)
    assert dest.spatial.spacing == [1, 1, 1]
    assert dest.spatial.origin == [1, 2, 3]
    assert (dest.stats.min, dest.stats.max) == (0, 7)


def test_copy_from_with_overwrite_replaces_nested_fields() -> None:
    dest = Meta(spatial={"spacing": [1, 1, 1], "origin": [0, 0, 0]})
    dest.copy_from(Meta(spatial={"spacing": [2, 2, 2]}), overwrite=True)
    assert dest.spatial.spacing == [2, 2, 2]
    assert dest.spatial.origin is None


def test_copy_from_replaces_a_default_sub_meta_as_a_whole() -> None:
    # False is not "unset", so a field-by-field merge would keep has_array=False; a default
    # destination section is replaced whole instead.
    src = managed_meta()
    dest = Meta()
    dest.copy_from(src)
    dest._set_facts(dest._facts.filled_from(src._facts))
    assert dest._has_array == True  # noqa: E712
    assert dest == src


def test_copy_from_merges_a_non_default_sub_meta_field_by_field() -> None:
    src = Meta(stats={"min": 1, "max": 2})
    dest = Meta(stats={"max": 100})
    dest.copy_from(src)
    assert dest.stats == MetaStatistics(min=1, max=100)


def test_copy_from_skips_managed_fields() -> None:
    src = managed_meta()
    dest = Meta()
    dest.copy_from(src, overwrite=True)
    assert dest.spatial.shape is None
    assert dest.blosc2.is_default()
    assert dest._has_array == False  # noqa: E712
    assert dest._image_meta_format.value is None
    assert dest._mlarray_version.value is None
    # Everything the user owns was copied.
    assert dest.source == {"a": 1}
    assert dest.spatial.spacing == [1, 1, 1]


def test_copy_from_keeps_the_destination_managed_fields() -> None:
    dest = managed_meta()
    dest.copy_from(Meta(source={"b": 2}), overwrite=True)
    assert dest.source == {"b": 2}
    assert dest.spatial.shape == [4, 5, 6]
    assert dest.blosc2.chunk_size == [2, 5, 6]
    assert dest._mlarray_version == "0.1.0"


def test_copy_from_and_the_facts_filled_from_the_source_copy_everything() -> None:
    src = managed_meta()
    dest = Meta(source={"x": 1})
    dest.copy_from(src)
    dest._set_facts(dest._facts.filled_from(src._facts))
    assert dest.spatial.shape == [4, 5, 6]
    assert dest.blosc2 == src.blosc2
    assert dest._has_array == True  # noqa: E712
    assert dest._image_meta_format == "nifti"
    assert dest.source == {"x": 1}


def test_copy_from_copies_deeply() -> None:
    src = Meta(source={"nested": {"list": [1, 2]}}, spatial={"spacing": [1, 2]})
    dest = Meta()
    dest.copy_from(src)
    src.source["nested"]["list"].append(3)
    src.spatial.spacing[0] = 100
    assert dest.source == {"nested": {"list": [1, 2]}}
    assert dest.spatial.spacing == [1, 2]


@pytest.mark.parametrize(
    ("dest", "other"),
    [
        (MetaStatistics(), MetaBbox()),
        (Meta(), MetaSpatial()),
        (MetaSource(), {"data": {}}),
        (MetaSpatial(), None),
    ],
)
def test_copy_from_rejects_another_class(dest: BaseMeta, other: object) -> None:
    with pytest.raises(TypeError, match=type(dest).__name__) as info:
        dest.copy_from(other)  # type: ignore[arg-type]
    assert isinstance(info.value, MetaTypeError)
    assert type(other).__name__ in str(info.value)


def test_copy_from_that_fails_validation_leaves_destination_unchanged() -> None:
    dest = Meta(spatial={"axis_labels": ["spatial_x", "spatial_y"]}, source={"keep": 1})
    before = copy.deepcopy(dest)
    with pytest.raises(MetaValidationError, match="spacing"):
        dest.copy_from(Meta(spatial={"spacing": [1, 1, 1]}, extra={"new": 1}))
    assert dest == before


def test_copy_from_does_not_mix_affine_into_spacing_geometry() -> None:
    # The two geometry forms are exclusive: filling "unset" affine next to a spacing would
    # build an invalid section, so the destination's geometry form wins.
    dest = MetaSpatial(spacing=[1, 1, 1])
    dest.copy_from(MetaSpatial(affine=AFFINE_3D, coord_system="RAS"))
    assert dest.affine is None
    assert dest.spacing == [1, 1, 1]
    assert dest.coord_system == "RAS"


def test_copy_from_does_not_mix_spacing_into_affine_geometry() -> None:
    dest = MetaSpatial(affine=AFFINE_3D)
    dest.copy_from(MetaSpatial(spacing=[1, 2, 3], origin=[0, 0, 0], axis_units=["mm"] * 3))
    assert dest.affine == AFFINE_3D
    assert (dest.spacing, dest.origin) == (None, None)
    assert dest.axis_units == ["mm", "mm", "mm"]


def test_copy_from_with_overwrite_switches_geometry_form() -> None:
    dest = MetaSpatial(spacing=[1, 1, 1])
    dest.copy_from(MetaSpatial(affine=AFFINE_3D), overwrite=True)
    assert dest.affine == AFFINE_3D
    assert dest.spacing is None


# --- ensure ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Meta, MetaSpatial, MetaStatistics, MetaBbox, MetaBlosc2])
def test_ensure_none_gives_a_new_default_instance(cls: type[BaseMeta]) -> None:
    first, second = cls.ensure(None), cls.ensure(None)
    assert type(first) is cls
    assert first.is_default()
    assert first is not second


def test_ensure_returns_an_instance_unchanged() -> None:
    spatial = MetaSpatial(spacing=[1, 2])
    assert MetaSpatial.ensure(spatial) is spatial


def test_ensure_builds_from_a_mapping() -> None:
    stats = MetaStatistics.ensure({"min": 1, "max": 2})
    assert stats == MetaStatistics(min=1, max=2)


@pytest.mark.parametrize("value", [5, "spacing", [1, 2], (1,), MetaBbox(), 1.5])
def test_ensure_rejects_other_values(value: object) -> None:
    with pytest.raises(TypeError, match="MetaStatistics") as info:
        MetaStatistics.ensure(value)
    assert isinstance(info.value, MLArrayError)
    assert type(value).__name__ in str(info.value)


# --- from_mapping ----------------------------------------------------------------------


def test_from_mapping_builds_nested_sections() -> None:
    meta = Meta.from_mapping({"spatial": {"spacing": [1, 2]}, "is_seg": {"is_seg": False}})
    assert isinstance(meta.spatial, MetaSpatial)
    assert meta.spatial.spacing == [1, 2]
    assert isinstance(meta.is_seg, MetaIsSeg)
    assert meta.is_seg.value is False


def test_from_mapping_accepts_any_mapping() -> None:
    proxy = types.MappingProxyType({"min": 1.5})
    assert MetaStatistics.from_mapping(proxy).min == 1.5


def test_from_mapping_accepts_private_field_names() -> None:
    meta = Meta.from_mapping(
        {
            "_has_array": {"has_array": True},
            "_image_meta_format": {"image_meta_format": "sitk"},
            "_mlarray_version": {"mlarray_version": "0.0.54"},
        }
    )
    assert meta._has_array.value is True
    assert meta._image_meta_format.value == "sitk"
    assert meta._mlarray_version.value == "0.0.54"


def test_from_mapping_accepts_derived_spatial_fields() -> None:
    spatial = MetaSpatial.from_mapping(
        {"axis_labels": ["channel", "spatial"], "_num_spatial_axes": 1, "_num_non_spatial_axes": 1}
    )
    assert spatial._num_spatial_axes == 1


@pytest.mark.parametrize(
    ("cls", "mapping", "bad"),
    [
        (Meta, {"source": {}, "typo": 1}, "typo"),
        (MetaSpatial, {"spacing": [1], "spacings": [1]}, "spacings"),
        (MetaStatistics, {"minimum": 0}, "minimum"),
        (MetaBlosc2, {"chunks": [1]}, "chunks"),
        (Meta, {1: "x"}, "1"),
    ],
)
def test_from_mapping_rejects_unknown_keys(cls: type[BaseMeta], mapping: dict, bad: str) -> None:
    with pytest.raises(KeyError) as info:
        cls.from_mapping(mapping)
    assert isinstance(info.value, UnknownFieldError)
    message = str(info.value)
    assert bad in message
    assert cls.__name__ in message


def test_from_mapping_rejects_unknown_keys_in_nested_sections() -> None:
    with pytest.raises(KeyError, match="spacingg"):
        Meta.from_mapping({"spatial": {"spacingg": [1, 2]}})


@pytest.mark.parametrize("value", [[("min", 1)], "min", 3, None, MetaStatistics()])
def test_from_mapping_rejects_non_mappings(value: object) -> None:
    with pytest.raises(TypeError, match="mapping") as info:
        MetaStatistics.from_mapping(value)  # type: ignore[arg-type]
    assert isinstance(info.value, MetaTypeError)


# --- is_default / reset ----------------------------------------------------------------


@pytest.mark.parametrize("cls", [Meta, MetaSpatial, MetaStatistics, MetaBbox, MetaBlosc2])
def test_fresh_instances_are_default(cls: type[BaseMeta]) -> None:
    assert cls().is_default()


@pytest.mark.parametrize(
    "meta",
    [
        Meta(is_seg=False),
        Meta(source={"a": 1}),
        Meta(spatial={"spacing": [1]}),
        MetaStatistics(std=0),
        MetaBbox(bboxes=[]),
    ],
)
def test_any_set_field_makes_an_instance_non_default(meta: BaseMeta) -> None:
    assert not meta.is_default()


def test_reset_restores_defaults() -> None:
    stats = MetaStatistics(min=1, max=2, percentile_min_key=0.05)
    stats.reset()
    assert stats.is_default()
    meta = Meta(source={"a": 1}, is_seg=True, bbox={"bboxes": [[[0, 1]]]}, stats={"min": 0})
    meta.reset()
    assert meta.is_default()


def test_reset_keeps_managed_fields() -> None:
    meta = managed_meta()
    meta.is_seg = True
    meta.reset()
    assert meta.source == {}
    assert meta.is_seg.value is None
    assert meta.spatial.spacing is None
    assert meta.spatial.shape == [4, 5, 6]
    assert meta.blosc2.chunk_size == [2, 5, 6]
    assert meta._has_array.value is True
    assert meta._image_meta_format.value == "nifti"
    assert meta._mlarray_version.value == "0.1.0"


def test_reset_keeps_spatial_shape_and_recomputes_derived_counts() -> None:
    spatial = MetaSpatial(shape=[3, 4, 5], axis_labels=["channel", "spatial", "spatial"])
    spatial.reset()
    assert spatial.shape == [3, 4, 5]
    assert spatial.axis_labels is None
    assert spatial._num_spatial_axes is None
    assert spatial._num_non_spatial_axes is None


def test_reset_and_empty_facts_clear_everything() -> None:
    meta = managed_meta()
    meta.reset()
    assert not meta.is_default()  # the facts describe the array: reset keeps them
    meta._set_facts(ArrayFacts())
    assert meta.is_default()


def test_reset_of_managed_only_section_changes_nothing() -> None:
    blosc2 = managed_meta().blosc2
    before = copy.deepcopy(blosc2)
    blosc2.reset()
    assert blosc2 == before


# --- to_mapping / to_plain -------------------------------------------------------------


def test_to_mapping_includes_none_by_default() -> None:
    assert MetaBbox(bboxes=[[[0, 1]]]).to_mapping() == {
        "bboxes": [[[0, 1]]],
        "scores": None,
        "labels": None,
    }


def test_to_mapping_can_drop_none() -> None:
    assert MetaBbox(bboxes=[[[0, 1]]]).to_mapping(include_none=False) == {"bboxes": [[[0, 1]]]}
    assert MetaStatistics().to_mapping(include_none=False) == {}


def test_to_mapping_expands_nested_metas_recursively() -> None:
    out = Meta(spatial={"spacing": [1, 2]}, is_seg=True).to_mapping(include_none=False)
    assert out["spatial"] == {"spacing": [1, 2]}
    assert out["is_seg"] == {"is_seg": True}
    assert out["stats"] == {}
    assert out["_has_array"] == {"has_array": False}
    assert list(out) == [
        "source",
        "extra",
        "spatial",
        "stats",
        "bbox",
        "is_seg",
        "blosc2",
        "_has_array",
        "_image_meta_format",
        "_mlarray_version",
    ]


def test_to_mapping_returns_plain_independent_containers() -> None:
    meta = managed_meta()
    out = meta.to_mapping()
    assert type(out["spatial"]["shape"]) is list
    assert type(out["blosc2"]["cparams"]) is dict
    out["spatial"]["shape"].append(99)
    out["spatial"]["spacing"].append(99)
    out["source"]["data"]["a"] = "changed"
    assert meta.spatial.shape == [4, 5, 6]
    assert meta.spatial.spacing == [1, 1, 1]
    assert meta.source == {"a": 1}


def test_to_plain_drops_none_and_expands_nested_metas() -> None:
    plain = MetaSpatial(spacing=[1, 2], axis_labels=["spatial", "spatial"]).to_plain()
    assert plain == {
        "spacing": [1, 2],
        "axis_labels": ["spatial", "spatial"],
        "_num_spatial_axes": 2,
        "_num_non_spatial_axes": 0,
    }


def test_to_plain_can_include_none() -> None:
    plain = MetaStatistics(min=1).to_plain(include_none=True)
    assert plain["min"] == 1
    assert plain["max"] is None
    assert len(plain) == 12


# --- assignment ------------------------------------------------------------------------


def test_assignment_validates_and_casts() -> None:
    spatial = MetaSpatial()
    spatial.spacing = (1, 2.5)
    assert spatial.spacing == [1, 2.5]
    assert type(spatial.spacing) is list


def test_failed_assignment_leaves_the_old_value() -> None:
    stats = MetaStatistics(min=1)
    with pytest.raises(TypeError, match=r"meta\.stats\.min"):
        stats.min = "low"
    assert stats.min == 1
    spatial = MetaSpatial(spacing=[1, 2], origin=[0, 0])
    with pytest.raises(ValueError, match=r"meta\.spatial\.origin"):
        spatial.origin = [0, 0, 0]
    assert spatial.origin == [0, 0]


def test_assign_changes_fields_that_are_only_valid_together() -> None:
    spatial = MetaSpatial(axis_labels=["spatial", "spatial"], spacing=[1, 1])
    with pytest.raises(ValueError, match="spacing"):
        spatial.axis_labels = ["spatial"] * 3
    spatial.assign(axis_labels=["spatial"] * 3, spacing=[1, 2, 3])
    assert spatial.spacing == [1, 2, 3]
    assert spatial._num_spatial_axes == 3


def test_assign_is_atomic() -> None:
    spatial = MetaSpatial(spacing=[1, 1], origin=[0, 0])
    with pytest.raises(ValueError, match="origin"):
        spatial.assign(spacing=[2, 2, 2], origin=[5, 5])
    assert (spatial.spacing, spatial.origin) == ([1, 1], [0, 0])


def test_assign_rejects_unknown_and_managed_fields() -> None:
    spatial = MetaSpatial(spacing=[1, 1])
    with pytest.raises(KeyError, match="spacng") as info:
        spatial.assign(spacng=[2, 2])
    assert isinstance(info.value, UnknownFieldError)
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.spatial\.shape"):
        spatial.assign(spacing=[2, 2], shape=[3, 3])
    assert spatial.spacing == [1, 1]
    assert spatial.shape is None


def test_assign_on_meta_coerces_sections() -> None:
    meta = Meta()
    meta.assign(source={"a": 1}, is_seg=True)
    assert type(meta.source) is MetaSource
    assert meta.is_seg.value is True
    with pytest.raises(ReadOnlyFieldError, match="_has_array"):
        meta.assign(source={"b": 2}, _has_array=True)
    assert meta.source == {"a": 1}


# --- the record of the array's facts and frozen containers -----------------------------


def test_the_facts_record_is_frozen() -> None:
    facts = ArrayFacts(shape=(2, 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.shape = (4, 5)  # type: ignore[misc]
    assert facts.shape == (2, 3)


def test_set_facts_shows_the_record_in_the_views_and_reads_it_back() -> None:
    meta = managed_meta()
    assert meta.spatial.shape == [4, 5, 6]
    assert meta.blosc2.chunk_size == [2, 5, 6]
    assert meta.blosc2.cparams == {"clevel": 5}
    assert meta._has_array.value is True
    assert meta._facts == MANAGED_FACTS


def test_set_facts_checks_the_record_and_changes_nothing_on_failure() -> None:
    meta = managed_meta()
    before = copy.deepcopy(meta)
    bad = dataclasses.replace(meta._facts, chunk_size=(2, 5), block_size=None, has_array=False)
    with pytest.raises(ValueError, match=r"meta\.blosc2\.chunk_size: expected 3 values"):
        meta._set_facts(bad)
    assert meta == before
    meta = Meta()
    meta._set_facts(ArrayFacts(shape=(4, 5, 6), chunk_size=(2, 5, 6)))
    with pytest.raises(ValueError, match=r"meta\.blosc2\.chunk_size: expected 2 values"):
        meta._set_facts(ArrayFacts(shape=(4, 5), chunk_size=(2, 5, 6)))
    assert meta._facts == ArrayFacts(shape=(4, 5, 6), chunk_size=(2, 5, 6))
    assert meta.spatial.shape == [4, 5, 6]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda x: x.append(1),
        lambda x: x.extend([1]),
        lambda x: x.insert(0, 1),
        lambda x: x.pop(),
        lambda x: x.remove(1),
        lambda x: x.clear(),
        lambda x: x.sort(),
        lambda x: x.reverse(),
        lambda x: x.__setitem__(0, 5),
        lambda x: x.__setitem__(slice(0, 1), [5]),
        lambda x: x.__delitem__(0),
        lambda x: x.__iadd__([1]),
        lambda x: x.__imul__(2),
    ],
)
def test_frozen_list_refuses_every_in_place_change(mutate: object) -> None:
    frozen = FrozenList([1, 2, 3], "meta.spatial.shape")
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.spatial\.shape"):
        mutate(frozen)  # type: ignore[operator]
    assert frozen == [1, 2, 3]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda x: x.__setitem__("k", 1),
        lambda x: x.__delitem__("a"),
        lambda x: x.update(k=1),
        lambda x: x.setdefault("k", 1),
        lambda x: x.pop("a"),
        lambda x: x.popitem(),
        lambda x: x.clear(),
        lambda x: x.__ior__({"k": 1}),
    ],
)
def test_frozen_dict_refuses_every_in_place_change(mutate: object) -> None:
    frozen = FrozenDict({"a": 1}, "meta.blosc2.cparams")
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.blosc2\.cparams"):
        mutate(frozen)  # type: ignore[operator]
    assert frozen == {"a": 1}


def test_frozen_containers_read_like_plain_ones() -> None:
    frozen = FrozenList([3, 1, 2])
    assert frozen == [3, 1, 2]
    assert sorted(frozen) == [1, 2, 3]
    assert [*frozen, 4] == [3, 1, 2, 4]
    assert type(frozen + [4]) is list  # noqa: RUF005 - concatenation is the point
    assert isinstance(frozen, list)
    frozen_dict = FrozenDict({"a": 1})
    assert frozen_dict.get("a") == 1
    assert frozen_dict | {"b": 2} == {"a": 1, "b": 2}


def test_frozen_containers_stay_frozen_through_copies_and_pickle() -> None:
    frozen = FrozenList([1, 2], "meta.spatial.shape")
    for clone in (copy.copy(frozen), copy.deepcopy(frozen), pickle.loads(pickle.dumps(frozen))):
        assert clone == [1, 2]
        with pytest.raises(ReadOnlyFieldError, match=r"meta\.spatial\.shape"):
            clone.append(3)
    frozen_dict = pickle.loads(pickle.dumps(FrozenDict({"a": 1}, "meta.blosc2.dparams")))
    with pytest.raises(ReadOnlyFieldError, match="dparams"):
        frozen_dict["b"] = 2


def test_read_only_error_is_an_attribute_error() -> None:
    assert issubclass(ReadOnlyFieldError, AttributeError)
    assert issubclass(ReadOnlyFieldError, MLArrayError)


def test_a_misspelled_field_is_an_error_not_a_new_attribute() -> None:
    meta = Meta()
    with pytest.raises(AttributeError, match=r"meta\.spatial\.spacng: no such field.*'spacing'"):
        meta.spatial.spacng = [1.0, 2.0, 3.0]  # type: ignore[attr-defined]
    with pytest.raises(UnknownAttributeError, match=r"meta\.is_sg: no such field"):
        meta.is_sg = True  # type: ignore[attr-defined]
    assert not hasattr(meta.spatial, "spacng")
    meta.spatial.spacing = [1.0, 2.0, 3.0]  # real fields and properties still work
    meta.is_seg.value = True
    assert meta.to_plain() == {"spatial": {"spacing": [1.0, 2.0, 3.0]}, "is_seg": True}
