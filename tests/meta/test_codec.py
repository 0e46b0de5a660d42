"""The metadata codecs: the JSON envelope and the restricted legacy (gzip pickle) decoder."""

from __future__ import annotations

import gzip
import json
import pickle
import pickletools
import sys
import tracemalloc
import types
import zlib
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlarray_meta.codec import (
    ENVELOPE_KEY,
    FORMAT_VERSION,
    LEGACY_KEY,
    MAX_ENVELOPE_BYTES,
    MAX_LEGACY_BYTES,
    Envelope,
    _nesting_depth,
    decode_envelope,
    decode_legacy,
    encode_envelope,
    encode_legacy,
)
from mlarray_meta.errors import (
    FileFormatError,
    MetaTypeError,
    MetaValidationError,
    UnsafeMetadataError,
    UnsupportedVersionError,
)

SRC = "x.mla: vlmeta 'mla'"
META = {
    "spatial": {"spacing": [0.5, 0.5, 2.0], "axis_labels": ["spatial_x", "spatial_y", "spatial_z"]},
    "source": {"data": {"PatientID": "anon", "Größe": 1.8}},
    "is_seg": {"is_seg": False},
    "stats": {"min": None},
}


def envelope_bytes(**members: Any) -> bytes:
    document = {"format": "mla", "format_version": "1.0", "meta": {}}
    document.update(members)
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


def test_names_are_fixed() -> None:
    assert (ENVELOPE_KEY, LEGACY_KEY, FORMAT_VERSION) == ("mla", "mlarray", (1, 0))


def test_envelope_round_trip() -> None:
    data = encode_envelope(META, integrity={"algorithm": "crc32", "chunks": [1, 2]})
    envelope = decode_envelope(data, source=SRC)
    assert envelope == Envelope((1, 0), META, {"algorithm": "crc32", "chunks": [1, 2]})


def test_envelope_is_plain_utf8_json_with_its_members() -> None:
    document = json.loads(encode_envelope(META).decode("utf-8"))
    assert document == {"format": "mla", "format_version": "1.0", "meta": META}
    assert decode_envelope(encode_envelope(META), source=SRC).integrity is None


def test_encode_turns_tuples_and_enum_subclasses_into_plain_json() -> None:
    class Label(str, Enum):  # noqa: UP042 - the (str, Enum) style of 0.0.54's enums
        X = "spatial_x"

    class Count(IntEnum):
        TWO = 2

    data = encode_envelope({"axes": (Label.X,), "n": Count.TWO})
    assert json.loads(data)["meta"] == {"axes": ["spatial_x"], "n": 2}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(st.dictionaries(st.text(), json_values))
def test_any_json_meta_round_trips(meta: dict[str, Any]) -> None:
    assert decode_envelope(encode_envelope(meta), source=SRC).meta == meta


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_encode_refuses_non_finite_floats(bad: float) -> None:
    with pytest.raises(MetaValidationError, match="strict JSON"):
        encode_envelope({"stats": {"mean": bad}})


@pytest.mark.parametrize("bad", [object(), b"bytes", {1, 2}, 1j])
def test_encode_refuses_non_json_types(bad: Any) -> None:
    with pytest.raises(MetaTypeError, match=r"meta\.extra: unsupported type"):
        encode_envelope({"extra": bad})


def test_encode_refuses_deep_nesting() -> None:
    deep: Any = None
    for _ in range(100):
        deep = [deep]
    with pytest.raises(MetaValidationError, match="nested deeper than 64"):
        encode_envelope({"extra": deep})


def test_encode_refuses_oversized_metadata() -> None:
    with pytest.raises(MetaValidationError, match="the limit is"):
        encode_envelope({"extra": "x" * MAX_ENVELOPE_BYTES})


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json", "not valid metadata JSON"),
        (b"\xff\xfe{}", "not valid metadata JSON"),
        (b"", "not valid metadata JSON"),
        (b"[1, 2]", "expected a JSON object, found an array"),
        (b'"mla"', "expected a JSON object, found a string"),
        (b"3", "expected a JSON object, found a number"),
        (b"null", "expected a JSON object, found null"),
        (envelope_bytes(format=...), "member 'format': expected the string 'mla', found missing"),
        (envelope_bytes(format="zarr"), "member 'format'"),
        (envelope_bytes(format_version=...), "member 'format_version'.*found missing"),
        (envelope_bytes(format_version=1.0), "member 'format_version'.*found a number"),
        (envelope_bytes(format_version="1"), "member 'format_version'"),
        (envelope_bytes(format_version="1.0.0"), "member 'format_version'"),
        (envelope_bytes(format_version="01.0"), "member 'format_version'"),
        (envelope_bytes(format_version="0.9"), "expected 1.x, found 0.9"),
        (envelope_bytes(meta=...), "member 'meta': expected an object, found missing"),
        (envelope_bytes(meta=[]), "member 'meta': expected an object, found an array"),
        (envelope_bytes(meta="x"), "member 'meta'"),
        (envelope_bytes(integrity=[1]), "member 'integrity': expected an object"),
        (b'{"format": "mla", "format": "mla"}', "duplicate key 'format'"),
        (b'{"format": "mla", "format_version": "1.0", "meta": {"a": NaN}}', "NaN is not valid"),
        (b'{"format": "mla", "format_version": "1.0", "meta": {"a": Infinity}}', "Infinity"),
        (b'{"format": "mla", "format_version": "1.0", "meta": {"a": -Infinity}}', "-Infinity"),
        (
            b'{"format": "mla", "format_version": "1.0", "meta": {"a": 1' + b"0" * 5000 + b"}}",
            "JSON",
        ),
    ],
)
def test_decode_rejects_malformed_envelopes(data: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem) as info:
        decode_envelope(data, source=SRC)
    assert str(info.value).startswith(SRC)


@pytest.mark.parametrize("levels", [70, 100_000])
def test_decode_rejects_deep_json_without_recursion_error(levels: int) -> None:
    data = b'{"format": "mla", "format_version": "1.0", "meta": {"a": ' + b"[" * levels
    data += b"]" * levels + b"}}"
    with pytest.raises(FileFormatError, match="nested deeper than 64"):
        decode_envelope(data, source=SRC)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings full of what the bracket count must skip: brackets, quotes, backslashes.
tricky_text = st.text(alphabet='[]{}"\\ax\u00e9\n', max_size=12)
tricky_json = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=30,
)


@given(tricky_json, st.booleans())
def test_nesting_depth_counts_brackets_outside_strings_only(value: Any, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _nesting_depth(data) == _depth(value)


def test_decode_refuses_oversized_data_before_parsing() -> None:
    with pytest.raises(UnsafeMetadataError, match="above the limit"):
        decode_envelope(b" " * (MAX_ENVELOPE_BYTES + 1), source=SRC)


def test_newer_major_version_is_unsupported() -> None:
    with pytest.raises(UnsupportedVersionError) as info:
        decode_envelope(envelope_bytes(format_version="2.3"), source=SRC)
    message = str(info.value)
    assert "written by format 2.x, this reader supports 1.x; upgrade mlarray-meta" in message
    assert isinstance(info.value, FileFormatError)


def test_newer_minor_version_is_read_and_unknown_members_are_ignored() -> None:
    data = envelope_bytes(format_version="1.7", meta={"a": 1}, checksums={"future": True})
    assert decode_envelope(data, source=SRC) == Envelope((1, 7), {"a": 1}, None)


# ---------------------------------------------------------------- legacy (0.0.54)


@pytest.fixture
def fake_legacy_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Stand-ins for ``mlarray.meta._FrozenList/_FrozenDict`` so pickle can name them."""
    package, module = types.ModuleType("mlarray"), types.ModuleType("mlarray.meta")

    class _FrozenList(list):  # type: ignore[type-arg]
        def __reduce_ex__(self, protocol: Any) -> Any:
            return (_FrozenList, (list(self),))

    class _FrozenDict(dict):  # type: ignore[type-arg]
        def __reduce_ex__(self, protocol: Any) -> Any:
            return (_FrozenDict, (dict(self),))

    for cls in (_FrozenList, _FrozenDict):
        cls.__module__, cls.__qualname__ = "mlarray.meta", cls.__name__
        setattr(module, cls.__name__, cls)
    package.meta = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlarray", package)
    monkeypatch.setitem(sys.modules, "mlarray.meta", module)
    return module


def test_decodes_0054_style_pickles_with_frozen_containers(
    fake_legacy_module: types.ModuleType,
) -> None:
    frozen_list, frozen_dict = fake_legacy_module._FrozenList, fake_legacy_module._FrozenDict
    mapping = {
        "spatial": frozen_dict({"spacing": frozen_list([1.0, 2.0]), "shape": (3, 4)}),
        "stats": {"mean": float("nan")},
    }
    data = gzip.compress(pickle.dumps(mapping, protocol=5))
    assert b"_FrozenList" in gzip.decompress(data)
    decoded = decode_legacy(data, source=SRC)
    assert decoded["spatial"] == {"spacing": [1.0, 2.0], "shape": [3, 4]}
    assert type(decoded["spatial"]) is dict
    assert type(decoded["spatial"]["spacing"]) is list
    assert decoded["stats"]["mean"] != decoded["stats"]["mean"]  # NaN survives


def test_legacy_round_trip_has_no_globals(fake_legacy_module: types.ModuleType) -> None:
    mapping = {"spatial": fake_legacy_module._FrozenDict({"spacing": (1.0, 2.0)}), "x": [None]}
    data = encode_legacy(mapping)
    opcodes = {op.name for op, _, _ in pickletools.genops(gzip.decompress(data))}
    assert not opcodes & {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "EXT1"}
    assert pickle.loads(gzip.decompress(data)) == {"spatial": {"spacing": [1.0, 2.0]}, "x": [None]}
    assert decode_legacy(data, source=SRC) == {"spatial": {"spacing": [1.0, 2.0]}, "x": [None]}
    assert gzip.decompress(data)[:2] == b"\x80\x05"  # protocol 5
    assert encode_legacy(mapping) == data  # deterministic


def test_encode_legacy_refuses_non_plain_values() -> None:
    with pytest.raises(MetaTypeError, match="unsupported type object"):
        encode_legacy({"x": object()})


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


def hostile_pickles(sentinel: Path) -> dict[str, bytes]:
    """Pickles that would create ``sentinel`` if they were loaded with plain pickle."""
    path = str(sentinel)
    command = f"touch {path}".encode()
    code = f"open({path!r}, 'w').close()".encode()
    return {
        "os.system": b"cos\nsystem\n(S'" + command + b"'\ntR.",
        "builtins.eval": b'cbuiltins\neval\n(S"' + code + b'"\ntR.',
        "subprocess.Popen": b"csubprocess\nPopen\n((S'touch'\nS'" + path.encode() + b"'\nltR.",
        "builtins.exec": b"\x80\x05\x8c\x08builtins\x8c\x04exec\x93\x8c"
        + bytes([len(code)])
        + code
        + b"\x85R.",
        "copyreg._reconstructor": b"ccopyreg\n_reconstructor\n(cbuiltins\nobject\nNNtR.",
        "mlarray.meta.Meta": b"cmlarray.meta\nMeta\n)R.",
        "mlarray.meta._FrozenList.__init__": b"cmlarray.meta\n_FrozenList.__init__\n.",
    }


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "builtins.eval",
        "subprocess.Popen",
        "builtins.exec",
        "copyreg._reconstructor",
        "mlarray.meta.Meta",
        "mlarray.meta._FrozenList.__init__",
    ],
)
def test_hostile_pickles_are_refused_and_never_run(name: str, sentinel: Path) -> None:
    payload = hostile_pickles(sentinel)[name]
    with pytest.raises(UnsafeMetadataError, match=f"asks for the global {name};") as info:
        decode_legacy(gzip.compress(payload), source=SRC)
    assert str(info.value).startswith(SRC)
    assert not sentinel.exists()


def test_hostile_pickle_fixture_is_really_hostile(sentinel: Path) -> None:
    """Guard: plain pickle *would* run the os.system payload (proves the test is meaningful)."""
    assert b"cos\nsystem" in hostile_pickles(sentinel)["os.system"]
    ops = [op.name for op, _, _ in pickletools.genops(hostile_pickles(sentinel)["os.system"])]
    assert ops[:2] == ["GLOBAL", "MARK"]
    assert "REDUCE" in ops


def test_persistent_ids_are_refused() -> None:
    with pytest.raises(UnsafeMetadataError, match="persistent id"):
        decode_legacy(gzip.compress(b"Pfoo\n."), source=SRC)


def _gzip_of_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    step = bytes(2**20)
    parts = [compressor.compress(step) for _ in range(size // len(step))]
    return b"".join(parts) + compressor.flush()


@pytest.mark.parametrize("size", [MAX_LEGACY_BYTES + 2**20, 256 * 2**20])
def test_gzip_bombs_are_refused_within_the_cap(size: int) -> None:
    bomb = _gzip_of_zeros(size)
    assert len(bomb) < size // 500
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeMetadataError, match="decompression bomb"):
            decode_legacy(bomb, source=SRC)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_LEGACY_BYTES + 8 * 2**20


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not gzip", "not valid gzip"),
        (gzip.compress(pickle.dumps({}))[:-4], "truncated"),
        (gzip.compress(pickle.dumps({})) + b"junk", "unexpected bytes after the gzip stream"),
        (gzip.compress(b"not a pickle"), "not a valid pickle"),
        (gzip.compress(pickle.dumps({})[:-1]), "not a valid pickle"),
        (gzip.compress(pickle.dumps([1, 2])), "expected a mapping"),
        (gzip.compress(pickle.dumps({1: 2})), "non-string keys"),
        (
            gzip.compress(pickle.dumps({"a": b"bytes"})),
            r"not plain data: meta\.a: unsupported type",
        ),
        (gzip.compress(pickle.dumps({"a": {1, 2}})), "unsupported type set"),
        (gzip.compress(pickle.dumps({"a": bytearray(b"x")}, protocol=5)), "bytearray"),
    ],
)
def test_malformed_legacy_data_is_a_file_format_error(data: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem) as info:
        decode_legacy(data, source=SRC)
    assert not isinstance(info.value, UnsafeMetadataError)


def test_shared_reference_expansion_is_refused() -> None:
    laughs: Any = ["lol"]
    for _ in range(60):
        laughs = [laughs, laughs]
    data = gzip.compress(pickle.dumps({"a": laughs}))
    assert len(data) < 2000
    with pytest.raises(UnsafeMetadataError, match="more than"):
        decode_legacy(data, source=SRC)


def test_cycles_are_refused() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(UnsafeMetadataError, match=r"more than|nested deeper"):
        decode_legacy(gzip.compress(pickle.dumps(loop)), source=SRC)
