"""SingleKeyBaseMeta: one wrapped value that behaves like the value itself."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping

import pytest

from mlarray_meta import (
    Meta,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaSpatial,
    MetaVersion,
    SingleKeyBaseMeta,
)
from mlarray_meta.errors import MetaTypeError

SINGLE_KEY_CLASSES = [MetaSource, MetaExtra, MetaIsSeg, MetaHasArray, MetaImageFormat, MetaVersion]


@pytest.mark.parametrize(
    ("cls", "key"),
    [
        (MetaSource, "data"),
        (MetaExtra, "data"),
        (MetaIsSeg, "is_seg"),
        (MetaHasArray, "has_array"),
        (MetaImageFormat, "image_meta_format"),
        (MetaVersion, "mlarray_version"),
    ],
)
def test_each_single_key_section_wraps_its_documented_field(
    cls: type[SingleKeyBaseMeta], key: str
) -> None:
    assert issubclass(cls, SingleKeyBaseMeta)
    assert list(cls().to_mapping()) == [key]


@pytest.mark.parametrize(
    ("cls", "default"),
    [
        (MetaSource, {}),
        (MetaExtra, {}),
        (MetaIsSeg, None),
        (MetaHasArray, False),
        (MetaImageFormat, None),
        (MetaVersion, None),
    ],
)
def test_defaults(cls: type[SingleKeyBaseMeta], default: object) -> None:
    assert cls().value == default
    assert cls().is_default()


# --- value / set -----------------------------------------------------------------------


def test_value_reads_and_writes_the_wrapped_value() -> None:
    flag = MetaIsSeg()
    flag.value = True
    assert flag.value is True
    flag.set(False)
    assert flag.value is False
    flag.set(None)
    assert flag.value is None


def test_set_validates_and_keeps_the_old_value_on_failure() -> None:
    flag = MetaIsSeg(True)
    with pytest.raises(TypeError, match=r"meta\.is_seg: expected True, False or None, got int"):
        flag.set(1)
    assert flag.value is True
    source = MetaSource({"a": 1})
    with pytest.raises(TypeError, match=r"meta\.source"):
        source.set(["not", "a", "dict"])
    assert source == {"a": 1}


def test_set_on_a_dict_section_casts_to_json() -> None:
    source = MetaSource()
    source.set({"t": (1, 2)})
    assert source.value == {"t": [1, 2]}


# --- ensure / from_mapping -------------------------------------------------------------


@pytest.mark.parametrize("given", [{"is_seg": True}, True])
def test_ensure_and_from_mapping_take_the_schema_mapping_or_the_raw_value(given: object) -> None:
    for build in (MetaIsSeg.ensure, MetaIsSeg.from_mapping):
        flag = build(given)
        assert type(flag) is MetaIsSeg
        assert flag.value is True


def test_ensure_none_is_the_default() -> None:
    assert MetaIsSeg.ensure(None).value is None
    assert MetaSource.from_mapping(None) == {}
    assert MetaHasArray.ensure(None).value is False


def test_ensure_returns_an_instance_unchanged() -> None:
    flag = MetaIsSeg(False)
    assert MetaIsSeg.ensure(flag) is flag


def test_ensure_rejects_a_different_section() -> None:
    with pytest.raises(TypeError, match="MetaIsSeg") as info:
        MetaIsSeg.ensure(MetaHasArray(True))
    assert isinstance(info.value, MetaTypeError)
    assert "MetaHasArray" in str(info.value)
    with pytest.raises(TypeError, match="MetaSource"):
        MetaSource.ensure(MetaSpatial())


def test_dict_sections_unwrap_the_schema_mapping() -> None:
    assert MetaSource.from_mapping({"data": {"a": 1}}).value == {"a": 1}
    assert MetaExtra.ensure({"data": {}}).value == {}


def test_dict_sections_keep_a_raw_dict_as_the_value() -> None:
    assert MetaSource.from_mapping({"a": 1, "data": 2}).value == {"a": 1, "data": 2}
    # "data" whose value is not a mapping cannot be the schema form: it is user data.
    assert MetaSource.from_mapping({"data": 5}).value == {"data": 5}
    assert MetaExtra.ensure({}).value == {}


def test_an_empty_mapping_is_the_unset_value_of_scalar_sections() -> None:
    # to_mapping(include_none=False) writes {} for a None value; it must read back.
    for cls in (MetaIsSeg, MetaImageFormat, MetaVersion):
        written = cls().to_mapping(include_none=False)
        assert written == {}
        assert cls.from_mapping(written).value is None
    assert MetaHasArray.from_mapping({}).value is False


@pytest.mark.parametrize("bad", ["yes", 1, 0, [True], {"is_seg": "yes"}, {"is_seg": True, "x": 1}])
def test_from_mapping_rejects_invalid_values(bad: object) -> None:
    with pytest.raises(TypeError, match=r"meta\.is_seg"):
        MetaIsSeg.from_mapping(bad)


# --- behaves like the wrapped value ----------------------------------------------------


def test_dict_section_supports_item_access() -> None:
    meta = Meta(source={"k": 1})
    assert meta.source["k"] == 1
    meta.source["k2"] = [1, 2]
    assert meta.source.value == {"k": 1, "k2": [1, 2]}
    del meta.source["k"]
    assert meta.source.value == {"k2": [1, 2]}
    with pytest.raises(KeyError):
        meta.source["missing"]


def test_dict_section_supports_containment_len_iteration_and_truthiness() -> None:
    source = MetaSource({"a": 1, "b": 2})
    assert "a" in source
    assert "z" not in source
    assert len(source) == 2
    assert list(source) == ["a", "b"]
    assert bool(source)
    assert not MetaSource()
    assert len(MetaSource()) == 0


def test_dict_methods_are_reachable_on_the_section() -> None:
    source = Meta(source={"a": 1, "b": 2}).source
    assert source.get("a") == 1
    assert source.get("missing", "fallback") == "fallback"
    assert list(source.keys()) == ["a", "b"]
    assert list(source.items()) == [("a", 1), ("b", 2)]
    assert list(source.values()) == [1, 2]
    assert dict(source) == {"a": 1, "b": 2}
    assert source.pop("b") == 2
    assert source == {"a": 1}


def test_private_attribute_lookups_are_not_delegated() -> None:
    source = MetaSource({"a": 1})
    with pytest.raises(AttributeError):
        source._private  # noqa: B018
    with pytest.raises(AttributeError):
        source.not_a_dict_method  # noqa: B018
    assert not hasattr(MetaIsSeg(True), "keys")


def test_equality_with_the_raw_value() -> None:
    assert MetaSource({"a": 1}) == {"a": 1}
    assert {"a": 1} == MetaSource({"a": 1})  # noqa: SIM300 - reflected equality
    assert MetaSource({"a": 1}) != {"a": 2}
    assert MetaIsSeg(True) == True  # noqa: E712
    assert MetaIsSeg(None) == None  # noqa: E711
    assert MetaVersion("0.0.54") == "0.0.54"
    assert MetaVersion("0.0.54") != "0.0.55"


def test_equality_between_sections_needs_the_same_class() -> None:
    assert MetaIsSeg(True) == MetaIsSeg(True)
    assert MetaIsSeg(True) != MetaIsSeg(False)
    assert MetaIsSeg(True) != MetaHasArray(True)
    assert MetaSource({"a": 1}) != MetaExtra({"a": 1})


def test_sections_are_unhashable_like_their_mutable_values() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(MetaSource())
    with pytest.raises(TypeError, match="unhashable"):
        hash(MetaIsSeg(True))


def test_truthiness_of_flags() -> None:
    assert MetaIsSeg(True)
    assert not MetaIsSeg(False)
    assert not MetaIsSeg(None)
    assert MetaHasArray(True)
    assert not MetaHasArray()


def test_print_shows_the_wrapped_value(capsys: pytest.CaptureFixture[str]) -> None:
    meta = Meta(is_seg=True, source={"a": 1})
    print(meta.is_seg)
    print(meta.source)
    assert capsys.readouterr().out == "True\n{'a': 1}\n"
    assert repr(meta.is_seg) == "True"
    assert repr(MetaVersion("v0")) == "'v0'"
    assert f"{meta.is_seg}" == "True"


def test_the_section_is_not_a_mapping_instance_but_converts_to_one() -> None:
    source = MetaSource({"a": 1})
    assert not isinstance(source, Mapping)
    assert isinstance(source.value, dict)
    assert dict(source.items()) == {"a": 1}


# --- serialisation ---------------------------------------------------------------------


def test_to_mapping_uses_the_single_key() -> None:
    assert MetaIsSeg(True).to_mapping() == {"is_seg": True}
    assert MetaIsSeg().to_mapping() == {"is_seg": None}
    assert MetaIsSeg().to_mapping(include_none=False) == {}
    assert MetaSource({"a": [1]}).to_mapping(include_none=False) == {"data": {"a": [1]}}


def test_to_mapping_returns_a_copy() -> None:
    source = MetaSource({"a": [1]})
    out = source.to_mapping()
    out["data"]["a"].append(2)
    assert source == {"a": [1]}


def test_to_plain_returns_the_wrapped_value() -> None:
    assert MetaIsSeg(False).to_plain() is False
    assert MetaIsSeg().to_plain() is None
    assert MetaIsSeg().to_plain(include_none=True) is None
    assert MetaSource({"a": 1}).to_plain() == {"a": 1}


@pytest.mark.parametrize(
    "section",
    [MetaSource({"a": [1, {"b": None}]}), MetaIsSeg(True), MetaVersion("x"), MetaHasArray(True)],
)
def test_round_trips(section: SingleKeyBaseMeta) -> None:
    cls = type(section)
    assert cls.from_mapping(section.to_mapping()) == section
    assert cls.from_mapping(section.to_mapping(include_none=False)) == section
    assert cls.ensure(section.to_plain()) == section
    assert copy.deepcopy(section) == section
    assert pickle.loads(pickle.dumps(section)) == section
