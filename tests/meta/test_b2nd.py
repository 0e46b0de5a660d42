"""The b2nd metalayer: shape, chunk and block shapes, dtype, and their consistency."""

from __future__ import annotations

from typing import Any

import pytest

from mlarray_meta.errors import FileFormatError
from mlarray_meta.format._b2nd import MAX_NDIM, B2ndMetalayer, expected_sizes, parse_b2nd
from tests.meta._pack import packb


def content(**changes: Any) -> bytes:
    fields = {
        "version": 0,
        "ndim": 3,
        "shape": [4, 5, 6],
        "chunks": [2, 5, 6],
        "blocks": [1, 5, 6],
        "dtype_format": 0,
        "dtype": "<i2",
    }
    fields.update(changes)
    return packb(list(fields.values()))


def parse(data: bytes, typesize: int = 2) -> B2ndMetalayer:
    return parse_b2nd(data, source="x.mla", typesize=typesize)


def test_parses_a_layout() -> None:
    assert parse(content()) == B2ndMetalayer(0, (4, 5, 6), (2, 5, 6), (1, 5, 6), "<i2")


@pytest.mark.parametrize(
    ("changes", "typesize"),
    [
        ({"ndim": 0, "shape": [], "chunks": [], "blocks": []}, 2),
        ({"shape": [0, 5, 6], "chunks": [0, 5, 6], "blocks": [0, 5, 6]}, 2),
        ({"dtype": "[('a', '<i4'), ('b', '<f8')]"}, 12),
        ({"dtype": "<U3"}, 12),
        ({"dtype": "<M8[ns]"}, 8),
        ({"dtype": "|b1"}, 1),
        ({"version": 1}, 2),
    ],
)
def test_accepts_valid_variants(changes: dict[str, Any], typesize: int) -> None:
    parse(content(**changes), typesize)


def test_extra_entries_after_the_seventh_are_ignored() -> None:
    data = packb([0, 1, [3], [3], [3], 0, "<i2", "future"])
    assert parse(data).shape == (3,)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (packb({"shape": [1]}), "layout: expected a list of 7 entries, found dict"),
        (packb([0, 1, [1], [1], [1], 0]), "layout: expected a list of 7 entries, found 6 entries"),
        (content(version=-1), "version"),
        (content(version=True), "version"),
        (content(ndim=MAX_NDIM + 1), f"ndim: expected an integer in 0..{MAX_NDIM}"),
        (content(ndim="3"), "ndim"),
        (content(shape=[4, 5]), "shape: expected a list of 3 integers, found 2 entries"),
        (content(shape=(4, 5, -6)), "shape: expected integers in 0..9223372036854775807"),
        (content(shape=[4, 5, True]), "shape: expected integers"),
        (content(shape=[4, 5, 6.0]), "shape: expected integers"),
        (content(shape=None), "shape: expected a list of 3 integers, found NoneType"),
        (content(chunks=[2, 5]), "chunkshape: expected a list of 3 integers, found 2 entries"),
        (content(chunks=[2, 5, 2**31]), "chunkshape: expected integers in 0..2147483647"),
        (content(blocks=[1, 5, 6, 1]), "blockshape: expected a list of 3 integers"),
        (content(blocks=[3, 5, 6]), "axis 0: expected 0 < block <= chunk, found chunk 2, block 3"),
        (content(blocks=[0, 5, 6]), "axis 0: expected 0 < block <= chunk"),
        (content(chunks=[0, 5, 6], blocks=[0, 5, 6]), "axis 0"),
        (content(dtype_format=1), r"dtype format: expected 0 \(NumPy\), found 1"),
        (content(dtype_format=False), "dtype format"),
        (content(dtype=""), "dtype: expected a NumPy dtype string"),
        (content(dtype=b"<i2"), "dtype: expected a NumPy dtype string"),
        (content(dtype="x" * 70000), "dtype: expected a NumPy dtype string"),
        (content(dtype="<i2\n"), "dtype: expected printable ASCII"),
        (content(dtype="<f8"), "dtype: expected an item size of 2"),
        (content() + b"\x00", "unexpected bytes after the value"),
        (b"\x97" + b"\x91" * 10, "nested deeper than 4 levels"),
    ],
)
def test_rejects_malformed_layouts(data: bytes, problem: str) -> None:
    with pytest.raises(FileFormatError, match=problem) as info:
        parse(data)
    assert str(info.value).startswith("x.mla: b2nd metalayer")


@pytest.mark.parametrize(
    ("shape", "chunks", "blocks", "typesize", "expected"),
    [
        ((4, 5, 6), (2, 5, 6), (1, 5, 6), 2, (120, 240)),
        ((5,), (2,), (2,), 8, (16, 48)),
        ((1, 3), (1, 3), (1, 2), 1, (4, 4)),
        ((7, 7), (5, 5), (2, 3), 1, (36, 144)),
        ((), (), (), 4, (4, 4)),
        ((0,), (0,), (0,), 8, None),
        ((3, 0), (3, 4), (3, 4), 1, None),
    ],
)
def test_expected_sizes_count_whole_padded_chunks(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    blocks: tuple[int, ...],
    typesize: int,
    expected: Any,
) -> None:
    layout = B2ndMetalayer(0, shape, chunks, blocks, "<i1")
    assert expected_sizes(layout, typesize) == expected
