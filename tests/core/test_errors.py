"""Bad arguments give an error of the mlarray hierarchy naming the problem, never blosc2's."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MLArray, comp_blosc2_params
from mlarray._limits import MAX_CHUNKS
from mlarray.cli import main as cli_main
from mlarray.errors import (
    FileFormatError,
    LayoutError,
    MetaTypeError,
    MetaValidationError,
    MLArrayError,
    UnsupportedLayoutError,
)

DATA = np.arange(8 * 9 * 10, dtype=np.float32).reshape(8, 9, 10)


@pytest.mark.parametrize(
    ("cparams", "message"),
    [
        ({"codec": 99}, r"cparams: codec=99 is not a blosc2\.Codec; expected one of BLOSCLZ, LZ4,"),
        ({"clevel": 42}, r"cparams: clevel=42 is out of range; expected an integer from 0 to 9"),
        ({"nthreads": -3}, r"cparams: nthreads=-3 is out of range; expected an integer >= 1"),
        ({"filters": [77]}, r"cparams: filters=\[77\] is not a blosc2\.Filter; expected one of"),
        ({"splitmode": 0}, r"cparams: splitmode=0 is not a blosc2\.SplitMode; expected one of"),
        (blosc2.CParams(codec=99), r"cparams: codec=99 is not a blosc2\.Codec"),
    ],
)
def test_cparams_values_are_checked(cparams: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(MetaValidationError, match=message):
        MLArray(DATA, cparams=cparams)
    with pytest.raises(MetaValidationError, match=message):
        MLArray.create(tmp_path / "x.mla", DATA.shape, DATA.dtype, cparams=cparams)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("cparams", "error"),
    [({"clevel": "9"}, MetaTypeError), ({"use_dict": 1}, MetaTypeError)],
)
def test_cparams_of_the_wrong_type_are_named(cparams: dict[str, Any], error: type) -> None:
    with pytest.raises(error, match=f"cparams: {next(iter(cparams))}="):
        MLArray(DATA, cparams=cparams)


def test_dparams_values_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "x.mla"
    MLArray(DATA).save(path)
    for call in (
        lambda: MLArray(DATA, dparams={"nthreads": -3}),
        lambda: MLArray.open(path, dparams={"nthreads": -3}),
        lambda: MLArray.load(path, dparams={"nthreads": 0}),
    ):
        with pytest.raises(MetaValidationError, match=r"dparams: nthreads=-?\d is out of range"):
            call()


def test_an_array_with_too_many_chunks_says_which_limit() -> None:
    with pytest.raises(
        LayoutError, match=rf"makes 3818360547 chunks; blosc2 stores at most {MAX_CHUNKS}"
    ):
        MLArray.zeros((10**5,) * 3, np.float32)


def test_a_chunk_over_2_gib_says_which_limit() -> None:
    with pytest.raises(LayoutError, match=r"take 4294967296 bytes each; .* at most 2147483615"):
        MLArray.zeros((2**16, 2**16), np.uint8, patch_size=None, chunk_size=(2**16, 2**16))


def test_a_codec_blosc2_cannot_use_is_a_layout_error() -> None:
    with pytest.raises(LayoutError, match=r"codec NDLZ: RuntimeError") as raised:
        MLArray(DATA, cparams={"codec": blosc2.Codec.NDLZ})
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_unsupported_dimensionality_is_an_mlarray_error_and_not_implemented() -> None:
    with pytest.raises(UnsupportedLayoutError, match="supports 2D, 3D and 4D") as raised:
        comp_blosc2_params((10,), (4,))
    assert isinstance(raised.value, NotImplementedError)
    assert isinstance(raised.value, MLArrayError)


STRUCTURED = np.dtype([("a", "<i4"), ("b", "<f8")])


@pytest.mark.parametrize(
    "make",
    [
        lambda path: MLArray(np.zeros((4, 4, 4), STRUCTURED)),
        lambda path: MLArray.asarray(np.zeros((4, 4, 4), STRUCTURED)),
        lambda path: MLArray.zeros((4, 4, 4), STRUCTURED),
        lambda path: MLArray.zeros((4, 4, 4), np.dtype((np.int16, (2,)))),
        lambda path: MLArray.empty((4, 4, 4), object),
        lambda path: MLArray.create(path, (4, 4, 4), STRUCTURED),
    ],
    ids=["constructor", "asarray", "zeros", "sub-array", "object", "create"],
)
def test_structured_and_object_dtypes_are_refused(make: Any, tmp_path: Path) -> None:
    with pytest.raises(MetaTypeError, match="cannot be stored"):
        make(tmp_path / "x.mla")
    assert list(tmp_path.iterdir()) == []


def test_a_structured_file_of_another_tool_reads_but_is_not_written(tmp_path: Path) -> None:
    """Lenient when reading, strict when writing."""
    path = tmp_path / "records.mla"
    values = np.zeros((4, 4, 4), STRUCTURED)
    values["a"] = 7
    blosc2.asarray(values, urlpath=str(path), mode="w")
    image = MLArray.open(path)
    assert image.dtype == STRUCTURED
    assert image[0, 0, 0]["a"] == 7
    with pytest.raises(MetaTypeError, match="structured dtypes"):
        image.save(tmp_path / "copy.mla")
    with pytest.raises(MetaTypeError, match="structured dtypes"):
        MLArray.open(path, mmap_mode="r+")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["records.mla"]
    shown = {"info": "[('a', '<i4'), ('b', '<f8')]", "header": "('a', '<i4')", "verify": ": OK"}
    for command, expected in shown.items():  # each crashed on such files once
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            assert cli_main([command, str(path)]) == 0
        assert expected in printed.getvalue()


def _corrupt_until_undecodable(path: Path) -> bytes:
    """A copy of ``path`` with one chunk's stream damaged so that blosc2 cannot decode it."""
    data = path.read_bytes()
    stored = blosc2.open(str(path), mode="r")
    chunk = stored.schunk.get_chunk(0)
    start = data.index(chunk)
    for position in range(start + 48, start + len(chunk)):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        try:
            blosc2.ndarray_from_cframe(bytes(damaged))[...]
        except RuntimeError:
            return bytes(damaged)
    raise AssertionError("no damage found that blosc2 refuses to decode")


def test_only_files_are_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "x.mla"
    MLArray(np.random.default_rng(0).random((16, 16, 16)), patch_size=None).save(path)
    path.write_bytes(_corrupt_until_undecodable(path))
    with pytest.raises(FileFormatError, match=r"the file is damaged.*run 'mlarray verify'"):
        MLArray.open(path)[...]
    in_memory = MLArray.load(path)
    with pytest.raises(FileFormatError, match="cannot be decompressed") as raised:
        in_memory[...]
    assert "file" not in str(raised.value)
    assert "verify" not in str(raised.value)
