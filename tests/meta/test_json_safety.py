"""JSON-safety of free-form metadata (``source``, ``extra``) without importing numpy."""

from __future__ import annotations

import json
import math
import types
from enum import Enum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlarray_meta import Meta, MetaExtra, MetaSource, is_json_safe
from mlarray_meta._json import to_json_safe
from mlarray_meta.codec import encode_envelope
from mlarray_meta.errors import MetaTypeError, MetaValidationError
from tests.meta._samples import FakeNumpy, ToListOnly


class Color(StrEnum):
    RED = "red"


class Level(int, Enum):
    HIGH = 3


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


# --- accepted and converted ------------------------------------------------------------


def test_plain_json_values_are_kept() -> None:
    data = {"s": "text", "i": -3, "big": 2**70, "f": 1.5, "b": True, "n": None, "l": [1, "a"]}
    assert MetaSource(data).value == data
    assert type(MetaSource(data)["b"]) is bool


def test_tuples_become_lists_at_any_depth() -> None:
    source = MetaSource({"t": (1, (2, 3)), "l": [(4,), {"u": ()}]})
    assert source.value == {"t": [1, [2, 3]], "l": [[4], {"u": []}]}
    assert json.loads(json.dumps(source.value)) == source.value


def test_numpy_like_scalars_and_arrays_become_python_values() -> None:
    source = MetaSource(
        {
            "spacing": FakeNumpy([0.5, 0.5], "float32"),
            "count": FakeNumpy(7, "int64"),
            "flag": FakeNumpy(False, "bool"),
            "matrix": FakeNumpy([[1, 0], [0, 1]], "int16"),
            "nested": [FakeNumpy(1.25)],
        }
    )
    assert source.value == {
        "spacing": [0.5, 0.5],
        "count": 7,
        "flag": False,
        "matrix": [[1, 0], [0, 1]],
        "nested": [1.25],
    }
    assert type(source["count"]) is int
    assert type(source["flag"]) is bool


def test_numpy_like_keys_and_enums_become_plain() -> None:
    source = MetaSource({FakeNumpy("k", "<U1"): Color.RED, Color.RED: Level.HIGH})
    assert source.value == {"k": "red", "red": 3}
    assert all(type(key) is str for key in source)
    assert type(source["k"]) is str
    assert type(source["red"]) is int


def test_any_mapping_is_accepted_and_stored_as_a_dict() -> None:
    proxy = types.MappingProxyType({"a": types.MappingProxyType({"b": 1})})
    meta = Meta(source=proxy)
    assert meta.source == {"a": {"b": 1}}
    assert type(meta.source.value) is dict
    assert type(meta.source["a"]) is dict
    assert MetaExtra.from_mapping({"data": proxy}) == {"a": {"b": 1}}


def test_the_stored_value_is_a_copy_of_the_input() -> None:
    data = {"l": [1, 2], "d": {"x": 1}}
    extra = MetaExtra(data)
    data["l"].append(3)
    data["d"]["x"] = 2
    assert extra == {"l": [1, 2], "d": {"x": 1}}


def test_nesting_up_to_the_limit_is_fine() -> None:
    assert MetaSource(nested(60)).value == nested(60)


# --- rejected --------------------------------------------------------------------------


@pytest.mark.parametrize("key", [1, 1.5, None, ("a", "b"), True, b"k"])
def test_non_string_keys_are_rejected(key: object) -> None:
    with pytest.raises(
        TypeError, match=r"meta\.source\['outer'\]: mapping keys must be strings"
    ) as info:
        MetaSource({"outer": {key: 1}})
    assert isinstance(info.value, MetaTypeError)
    assert type(key).__name__ in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), FakeNumpy(math.nan)])
def test_nan_and_infinity_are_rejected(bad: object) -> None:
    with pytest.raises(
        ValueError, match=r"meta\.extra\['v'\]\[1\]: expected a finite number"
    ) as info:
        MetaExtra({"v": [0, bad]})
    assert isinstance(info.value, MetaValidationError)


@pytest.mark.parametrize(
    "bad",
    [
        object(),
        {1, 2},
        frozenset(),
        b"bytes",
        bytearray(b"x"),
        1 + 2j,
        ToListOnly(),
        print,
        range(3),
    ],
)
def test_objects_without_a_json_form_are_rejected(bad: object) -> None:
    with pytest.raises(
        TypeError, match=r"meta\.source\['k'\]: value of type .* not JSON-serializable"
    ):
        MetaSource({"k": bad})
    assert not is_json_safe(bad)


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"nested deeper than 60 levels") as info:
        MetaSource(nested(150))
    assert isinstance(info.value, MetaValidationError)


def test_the_deepest_accepted_nesting_also_fits_the_file_envelope() -> None:
    deepest = Meta(source={"k": nested(59)})
    encode_envelope(deepest.to_mapping())  # does not raise
    with pytest.raises(MetaValidationError, match="nested deeper than 60 levels"):
        Meta(source={"k": nested(60)})


def test_self_referencing_data_is_rejected_cleanly() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested deeper"):
        MetaExtra({"loop": loop})
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    assert not is_json_safe(cycle)


# --- every way in is checked -----------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda m: setattr(m, "source", {"k": {1, 2}}),
        lambda m: m.set_source({"k": {1, 2}}),
        lambda m: m.update_source({"k": {1, 2}}),
        lambda m: m.source.set({"k": {1, 2}}),
        lambda m: m.source.update({"k": {1, 2}}),
        lambda m: m.source.update(k={1, 2}),
        lambda m: m.source.setdefault("k", {1, 2}),
        lambda m: m.source.__setitem__("k", {1, 2}),
        lambda m: m.source.__setitem__(5, "int key"),
    ],
)
def test_every_write_path_checks_json_safety(write: Any) -> None:
    meta = Meta(source={"keep": [1]})
    with pytest.raises(TypeError, match=r"meta\.source"):
        write(meta)
    assert meta.source == {"keep": [1]}


def test_item_assignment_converts_values() -> None:
    meta = Meta()
    meta.source["t"] = (1, FakeNumpy(2.5))
    meta.extra["e"] = {"x": (None,)}
    assert meta.source == {"t": [1, 2.5]}
    assert meta.extra == {"e": {"x": [None]}}
    with pytest.raises(ValueError, match="finite"):
        meta.extra["nan"] = float("nan")
    assert "nan" not in meta.extra


# --- is_json_safe / to_json_safe ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("s", True),
        ([1, (2, 3)], True),
        ({"a": {"b": [1.5]}}, True),
        (FakeNumpy([1, 2]), True),
        ({"a": float("nan")}, False),
        ({1: "a"}, False),
        ([object()], False),
        (nested(101), False),
    ],
)
def test_is_json_safe(value: object, expected: bool) -> None:
    assert is_json_safe(value) is expected


_finite = st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _finite, st.text(max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None, database=None)
@given(st.dictionaries(st.text(max_size=6), _json, max_size=5))
def test_json_safe_output_equals_a_json_round_trip(data: dict[str, Any]) -> None:
    safe = MetaSource(data).value
    text = json.dumps(safe, allow_nan=False)
    assert json.loads(text) == safe
    assert safe == json.loads(json.dumps(data))
    assert to_json_safe(safe, "x") == safe


@settings(max_examples=100, deadline=None, database=None)
@given(_json)
def test_generated_json_values_are_json_safe(value: Any) -> None:
    assert is_json_safe(value)
    json.dumps(to_json_safe(value, "value"), allow_nan=False)
