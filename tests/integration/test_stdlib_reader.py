"""The standard-library reader of mlarray-meta agrees with python-blosc2 on real files."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blosc2
import msgpack
import numpy as np
import pytest
from blosc2.msgpack_utils import msgpack_packb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlarray_meta.errors import FileFormatError
from mlarray_meta.format import read_frame
from mlarray_meta.format._chunk import decode_chunk
from mlarray_meta.format._msgpack import Ext, unpackb
from mlarray_meta.header import read_header_mapping
from tests.meta._frames import DATA, memcpy_chunk, raw_chunk, special_chunk

DTYPES = [
    "<i1",
    "<u1",
    "<i2",
    ">i2",
    "<u2",
    "<i4",
    ">u4",
    "<i8",
    "<u8",
    "<f2",
    "<f4",
    "<f8",
    ">f8",
    "<c8",
    "<c16",
    "|b1",
    "<U3",
    "|S5",
    "<M8[ns]",
    "<m8[s]",
    "[('a', '<i4'), ('b', '<f8')]",
]
CODECS = [blosc2.Codec.ZSTD, blosc2.Codec.LZ4, blosc2.Codec.LZ4HC, blosc2.Codec.BLOSCLZ]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=300),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=12)


def payload_or_error(decode: Callable[..., bytes], *args: Any) -> bytes | str:
    """The decoded bytes, or the message of the FileFormatError raised instead."""
    try:
        return decode(*args)
    except FileFormatError as exc:
        return str(exc)


def numpy_dtype(text: str) -> np.dtype[Any]:
    return np.dtype(ast.literal_eval(text) if text.startswith("[") else text)


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    shape = tuple(draw(st.lists(st.integers(0, 9), max_size=4)))
    layout: dict[str, Any] = {"shape": shape, "dtype": numpy_dtype(draw(st.sampled_from(DTYPES)))}
    if 0 not in shape:  # blosc2 picks the (degenerate) layout of an empty array itself
        chunks = tuple(draw(st.integers(1, size)) for size in shape)
        layout["chunks"] = chunks
        layout["blocks"] = tuple(draw(st.integers(1, chunk)) for chunk in chunks)
    layout["cparams"] = blosc2.CParams(
        codec=draw(st.sampled_from(CODECS)), clevel=draw(st.integers(0, 9))
    )
    return layout


@SETTINGS
@given(
    layout=layouts(),
    raw_entries=st.dictionaries(names, plain_values, max_size=3),
    default_entries=st.dictionaries(names.map(str.upper), plain_values, max_size=3),
)
def test_reader_agrees_with_blosc2(
    tmp_path: Path,
    layout: dict[str, Any],
    raw_entries: dict[str, Any],
    default_entries: dict[str, Any],
) -> None:
    path = tmp_path / "a.mla"
    path.unlink(missing_ok=True)
    data = np.zeros(layout.pop("shape"), dtype=layout.pop("dtype"))
    array = blosc2.asarray(data, urlpath=str(path), mode="w", **layout)
    for name, value in raw_entries.items():
        array.schunk.vlmeta.set_vlmeta(name, msgpack_packb(value), typesize=1, clevel=0)
    for name, value in default_entries.items():
        array.schunk.vlmeta[name] = value
    del array

    stored = blosc2.open(str(path), mode="r")
    info = read_frame(path)
    assert info.shape == stored.shape
    assert numpy_dtype(info.dtype) == stored.dtype
    assert info.chunks == stored.chunks
    assert info.blocks == stored.blocks
    schunk = stored.schunk
    assert (info.nbytes, info.cbytes, info.nchunks) == (
        schunk.nbytes,
        schunk.cbytes,
        schunk.nchunks,
    )
    assert (info.typesize, info.chunksize) == (schunk.typesize, schunk.chunksize)
    assert (info.codec, info.clevel) == (schunk.cparams.codec.name.lower(), schunk.cparams.clevel)
    assert set(info.vlmeta) == set(schunk.vlmeta.keys())
    for name in info.vlmeta:
        expected = schunk.vlmeta.get_vlmeta(name)
        payload = payload_or_error(info.vlmeta_payload, name)
        if isinstance(payload, str):  # only entries blosc2 compressed may need blosc2
            assert name in default_entries, payload
            assert "needs python-blosc2" in payload
            continue
        assert payload == expected
        assert unpackb(payload) == msgpack.unpackb(expected, strict_map_key=False)


@pytest.mark.parametrize("size", [0, 10, 10_000, 3 * 2**20])
def test_the_way_core_stores_the_envelope(tmp_path: Path, size: int) -> None:
    """``set_vlmeta(..., typesize=1, clevel=0)`` of a msgpack bin lands memcpyed in the file."""
    path = tmp_path / "a.mla"
    array = blosc2.asarray(np.arange(60, dtype="<f4").reshape(3, 4, 5), urlpath=str(path), mode="w")
    payload = os.urandom(size // 2) + b"{" * (size - size // 2)  # half of it compressible
    array.schunk.vlmeta.set_vlmeta("mla", msgpack_packb(payload), typesize=1, clevel=0)
    del array
    reopened = blosc2.open(str(path), mode="r")
    assert reopened.schunk.vlmeta["mla"] == payload
    chunk = read_frame(path).vlmeta["mla"]
    assert chunk[2] & 0x02, "memcpyed"
    assert chunk[32] in (0xC4, 0xC5, 0xC6), "a plain msgpack bin"
    assert read_frame(path).vlmeta_value("mla") == payload


def test_save_reencodes_vlmeta_so_core_must_set_it_after_saving(tmp_path: Path) -> None:
    """Documents why the envelope is written last: ``save`` recompresses vlmeta chunks."""
    array = blosc2.asarray(np.arange(60, dtype="<f4"), cparams=blosc2.CParams(clevel=5))
    array.schunk.vlmeta.set_vlmeta("mla", msgpack_packb(b"{}" * 200), typesize=1, clevel=0)
    array.save(str(tmp_path / "a.mla"))
    chunk = read_frame(tmp_path / "a.mla").vlmeta["mla"]
    assert not chunk[2] & 0x02
    with pytest.raises(FileFormatError, match="needs python-blosc2"):
        read_frame(tmp_path / "a.mla").vlmeta_value("mla")


@pytest.mark.parametrize("name", ["ours.mla", "legacy_0054.mla", "legacy_0054_metaonly.mla"])
def test_fixtures_agree_with_blosc2(name: str) -> None:
    stored = blosc2.open(str(DATA / name), mode="r")
    header = read_header_mapping(DATA / name)
    assert (header.shape, header.chunks, header.blocks) == (
        stored.shape,
        stored.chunks,
        stored.blocks,
    )
    assert numpy_dtype(header.dtype) == stored.dtype
    for key in stored.schunk.vlmeta:
        assert header.frame.vlmeta_value(key) == stored.schunk.vlmeta[key]


@SETTINGS
@given(value=plain_values | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=40)))
def test_msgpack_decoder_agrees_with_msgpack(value: Any) -> None:
    packed = msgpack.packb(value, use_bin_type=True)
    expected = msgpack.unpackb(packed, strict_map_key=False, ext_hook=Ext)
    assert unpackb(packed) == expected


@SETTINGS
@given(
    data=st.binary(min_size=0, max_size=5000)
    | st.builds(lambda n: os.urandom(n) + bytes(n), st.integers(0, 3000)),
    typesize=st.sampled_from([1, 2, 4, 8]),
    clevel=st.integers(0, 9),
    codec=st.sampled_from(CODECS),
    shuffle=st.sampled_from(
        [blosc2.Filter.NOFILTER, blosc2.Filter.SHUFFLE, blosc2.Filter.BITSHUFFLE]
    ),
    blocksize=st.sampled_from([0, 256, 1024]),
)
def test_chunk_decoder_agrees_with_blosc2(
    data: bytes,
    typesize: int,
    clevel: int,
    codec: blosc2.Codec,
    shuffle: blosc2.Filter,
    blocksize: int,
) -> None:
    chunk = blosc2.compress2(
        data, typesize=typesize, clevel=clevel, codec=codec, filters=[shuffle], blocksize=blocksize
    )
    decoded = payload_or_error(lambda: decode_chunk(chunk, source="chunk", max_nbytes=2**20))
    if isinstance(decoded, str):
        assert "needs python-blosc2" in decoded
    else:
        assert decoded == blosc2.decompress2(chunk) == data


@pytest.mark.parametrize(
    ("chunk", "payload"),
    [
        (memcpy_chunk(b"payload" * 30), b"payload" * 30),
        (
            raw_chunk(bytes(range(256)) * 3, typesize=8, blocksize=128, shuffle=True),
            bytes(range(256)) * 3,
        ),
        (raw_chunk(b"abc" * 101, typesize=1, blocksize=64), b"abc" * 101),
        (special_chunk(1, 500), bytes(500)),
        (special_chunk(3, 40, typesize=4, value=b"wxyz"), b"wxyz" * 10),
    ],
)
def test_blosc2_reads_the_chunks_the_tests_build(chunk: bytes, payload: bytes) -> None:
    """The hand-built chunks of tests/meta follow the real format."""
    assert blosc2.decompress2(chunk) == payload
    decoded = payload_or_error(lambda: decode_chunk(chunk, source="chunk", max_nbytes=2**20))
    assert decoded == payload or "needs python-blosc2" in str(decoded)
