"""The defensive msgpack decoder: every type, and every way input can be malformed."""

from __future__ import annotations

import contextlib
import math
import struct
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlarray_meta.errors import FileFormatError
from mlarray_meta.format._msgpack import DEFAULT_MAX_DEPTH, Ext, unpack_from, unpackb
from tests.meta._pack import packb


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xc0", None),
        (b"\xc2", False),
        (b"\xc3", True),
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\xff", -1),
        (b"\xe0", -32),
        (b"\xcc\xff", 255),
        (b"\xcd\xff\xff", 65535),
        (b"\xce\xff\xff\xff\xff", 2**32 - 1),
        (b"\xcf" + b"\xff" * 8, 2**64 - 1),
        (b"\xd0\x80", -128),
        (b"\xd1\x80\x00", -(2**15)),
        (b"\xd2\x80\x00\x00\x00", -(2**31)),
        (b"\xd3\x80" + bytes(7), -(2**63)),
        (b"\xca" + struct.pack(">f", 1.5), 1.5),
        (b"\xcb" + struct.pack(">d", -2.25), -2.25),
        (b"\xa3abc", "abc"),
        (b"\xd9\x02\xc3\xa9", "é"),
        (b"\xda\x00\x01x", "x"),
        (b"\xdb\x00\x00\x00\x01x", "x"),
        (b"\xc4\x02\x00\x01", b"\x00\x01"),
        (b"\xc5\x00\x01z", b"z"),
        (b"\xc6\x00\x00\x00\x00", b""),
        (b"\x92\x01\xa1a", [1, "a"]),
        (b"\xdc\x00\x01\xc0", [None]),
        (b"\xdd\x00\x00\x00\x00", []),
        (b"\x81\xa1k\x01", {"k": 1}),
        (b"\xde\x00\x01\x01\x02", {1: 2}),
        (b"\xdf\x00\x00\x00\x01\xc4\x01k\xc3", {b"k": True}),
        (b"\xd4\x05\xaa", Ext(5, b"\xaa")),
        (b"\xd5\xff" + b"ab", Ext(-1, b"ab")),
        (b"\xd6\x01" + b"abcd", Ext(1, b"abcd")),
        (b"\xd7\x01" + bytes(8), Ext(1, bytes(8))),
        (b"\xd8\x00" + bytes(16), Ext(0, bytes(16))),
        (b"\xc7\x03\x2aabc", Ext(42, b"abc")),
        (b"\xc8\x00\x00\x07", Ext(7, b"")),
        (b"\xc9\x00\x00\x00\x01\x07z", Ext(7, b"z")),
    ],
)
def test_decodes_every_type(data: bytes, expected: Any) -> None:
    assert unpackb(data) == expected
    assert type(unpackb(data)) is type(expected)


def test_float32_nan_and_infinity_decode() -> None:
    assert math.isnan(unpackb(b"\xca" + struct.pack(">f", math.nan)))
    assert unpackb(b"\xcb" + struct.pack(">d", math.inf)) == math.inf


def test_unpack_from_returns_the_end_offset() -> None:
    data = b"\xff" + packb([1, 2]) + b"\xc0"
    assert unpack_from(data, 1) == ([1, 2], 4)
    assert unpack_from(data, 4) == (None, 5)


@pytest.mark.parametrize("offset", [-1, 6])
def test_unpack_from_refuses_offsets_outside_the_buffer(offset: int) -> None:
    with pytest.raises(FileFormatError, match="start offset"):
        unpack_from(b"\x01\x02", offset)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda children: (
        st.lists(children) | st.dictionaries(st.text() | st.integers(-(2**63), 2**64 - 1), children)
    ),
    max_leaves=40,
)


@given(json_like)
def test_round_trips_what_an_encoder_writes(value: Any) -> None:
    assert unpackb(packb(value)) == value


@given(json_like, st.data())
def test_every_truncation_is_a_file_format_error(value: Any, data: st.DataObject) -> None:
    encoded = packb(value)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(FileFormatError, match="invalid msgpack"):
        unpackb(encoded[:cut])


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_file_format_error(data: bytes) -> None:
    with contextlib.suppress(FileFormatError):
        unpackb(data)


@pytest.mark.parametrize(
    "header",
    [
        b"\xc6\xff\xff\xff\xff",  # bin32 of 4 GiB
        b"\xdb\xff\xff\xff\xff",  # str32 of 4 GiB
        b"\xc9\xff\xff\xff\xff\x01",  # ext32 of 4 GiB
        b"\xdd\xff\xff\xff\xff",  # array32 of 4 billion entries
        b"\xdf\xff\xff\xff\xff",  # map32 of 4 billion entries
    ],
)
def test_huge_length_claims_fail_before_allocating(header: bytes) -> None:
    """A claim of 4 GiB (or 4 billion entries) is checked against the bytes left first."""
    data = header + bytes(100)
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=r"at byte \d+"):
            unpackb(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_a_length_claim_names_the_offset() -> None:
    with pytest.raises(FileFormatError, match="binary needs 4294967295 bytes but only 3 remain"):
        unpack_from(b"\x90\xc6\xff\xff\xff\xff\x01\x02\x03", 1)


@pytest.mark.parametrize("levels", [DEFAULT_MAX_DEPTH + 1, 10_000, 200_000])
def test_deep_nesting_is_refused_without_recursion_error(levels: int) -> None:
    with pytest.raises(FileFormatError, match="nested deeper than 64 levels"):
        unpackb(b"\x91" * levels + b"\xc0")


def test_nesting_up_to_the_limit_is_accepted() -> None:
    value = unpackb(b"\x91" * DEFAULT_MAX_DEPTH + b"\xc0")
    for _ in range(DEFAULT_MAX_DEPTH):
        value = value[0]
    assert value is None


def test_a_smaller_depth_limit_can_be_asked_for() -> None:
    with pytest.raises(FileFormatError, match="nested deeper than 1 levels"):
        unpackb(b"\x91\x91\xc0", max_depth=1)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xc1", "reserved type marker 0xc1"),
        (b"\xa2\xff\xfe", "not valid UTF-8"),
        (b"\x82\x01\x02\x01\x03", "duplicate map key 1"),
        (b"\x81\x90\x01", "map key of type list"),
        (b"\x81\x80\x01", "map key of type dict"),
        (b"", "type marker needs 1 bytes"),
        (b"\x01\x02", "1 unexpected bytes after the value"),
        (b"\xcd\x01", "number needs 2 bytes"),
    ],
)
def test_malformed_input_names_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem):
        unpackb(data)


def test_errors_name_the_source() -> None:
    with pytest.raises(FileFormatError, match=r"^x\.mla: vlmeta 'mla': invalid msgpack"):
        unpackb(b"\xc1", source="x.mla: vlmeta 'mla'")


def test_ext_values_are_hashable_map_keys() -> None:
    assert unpackb(b"\x81\xd4\x01\x02\x03") == {Ext(1, b"\x02"): 3}
