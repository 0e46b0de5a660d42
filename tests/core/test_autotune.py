"""The automatic storage choice: reproducible, recorded in the file, overridden by cparams."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._autotune import MIN_TUNED_BYTES, RECORD_KEY, automatic_choice
from mlarray._autotune._choice import (
    FILTERS,
    RATIO_MARGIN,
    READ_TOLERANCE,
    choose_storage,
    settings,
)
from mlarray._autotune._layouts import legacy_layout
from mlarray_meta.format import read_frame

SHAPE = (64, 256, 256)  # int16: 8 MiB, MIN_TUNED_BYTES


def _volume(seed: int = 3, shape: tuple[int, ...] = SHAPE, dtype: str = "int16") -> np.ndarray:
    """A CT-like volume: a smooth body in quiet air, with noise inside.

    int16 in Hounsfield units; uint8 those divided by 8 (from -1024); float32 divided by 500.
    """
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[-1 : 1 : shape[0] * 1j, -1 : 1 : shape[1] * 1j, -1 : 1 : shape[2] * 1j]
    body = (y / 0.7) ** 2 + (x / 0.9) ** 2 + (z / 1.2) ** 2 < 1
    hu = np.rint(np.where(body, 40 + 30 * np.sin(4 * x + 3 * y) + rng.normal(0, 12, shape), -1000))
    if dtype == "uint8":
        return np.asarray((hu + 1024) // 8, np.uint8)
    return np.asarray(hu / 500 if dtype == "float32" else hu, dtype)


def _record(path: Path) -> dict[str, Any]:
    """The choice record, read with mlarray_meta's standard-library frame reader."""
    payload = read_frame(path).vlmeta_value(RECORD_KEY)
    assert isinstance(payload, bytes)
    record: dict[str, Any] = json.loads(payload)
    return record


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    values = _volume()
    assert values.nbytes >= MIN_TUNED_BYTES
    path = tmp_path_factory.mktemp("tuned") / "tuned.mla"
    MLArray(values, spacing=(1.0, 0.8, 0.8)).save(path)
    return values, path


def test_the_same_array_gets_the_same_storage(
    tuned: tuple[np.ndarray, Path], tmp_path: Path
) -> None:
    values, path = tuned
    again = tmp_path / "again.mla"
    MLArray(np.array(values[:, ::-1][:, ::-1])).save(again)  # a copy, through a strided view
    assert _record(again) == _record(path)
    first, second = MLArray.open(path).meta.blosc2, MLArray.open(again).meta.blosc2
    assert first.to_plain() == second.to_plain()


def test_the_record_names_what_the_file_holds(tuned: tuple[np.ndarray, Path]) -> None:
    values, path = tuned
    record = _record(path)
    stored = blosc2.open(str(path), mode="r")
    chosen = dict(zip(record["columns"], record["chosen"], strict=True))
    assert (chosen["codec"], chosen["clevel"]) == (stored.cparams.codec.name, stored.cparams.clevel)
    assert FILTERS[chosen["filter"]] in stored.cparams.filters
    split = blosc2.SplitMode.ALWAYS_SPLIT if chosen["split"] else blosc2.SplitMode.AUTO_SPLIT
    assert stored.cparams.splitmode == split
    layout = record["layout"]
    assert (layout["chunks"], layout["blocks"]) == (list(stored.chunks), list(stored.blocks))
    meta = MLArray.open(path).meta.blosc2
    assert (meta.chunk_size, meta.block_size) == (layout["chunks"], layout["blocks"])
    assert meta.cparams["codec"] == stored.cparams.codec.value
    legacy = legacy_layout(SHAPE, 2, patch=[192] * 3, mask=[True] * 3)
    assert (layout["chunks"], layout["blocks"]) == (list(legacy.chunks), list(legacy.blocks))
    reference = dict(zip(record["columns"], record["reference"], strict=True))
    assert (reference["codec"], reference["clevel"], reference["filter"]) == ("LZ4HC", 8, "shuffle")
    assert reference["split"] is False
    assert record["chosen"] in record["candidates"]
    assert record["reference"] in record["candidates"]
    assert chosen["ratio"] >= reference["ratio"]
    assert (
        record["rule"] == "fastest predicted read at least as compact as mlarray 0.0.54's default"
    )
    assert record["compressed_bytes"] > 0
    assert len(json.dumps(record)) < 1000, "small next to the data it describes"
    np.testing.assert_array_equal(MLArray.open(path)[...], values)


def test_the_chosen_candidate_follows_the_rule() -> None:
    values = _volume(seed=5)
    choice = choose_storage(
        values,
        patch=(64, 192, 192),
        mask=(True,) * 3,
        legacy_patch=(192,) * 3,
        legacy_mask=(True,) * 3,
    )
    legacy = legacy_layout(SHAPE, 2, patch=[192] * 3, mask=[True] * 3)
    assert {t.candidate.layout for t in choice.trials} == {legacy}
    # LZ4 9 and LZ4HC 8 with no filter, shuffle, bitshuffle; LZ4HC 9 shuffle; LZ4HC 8 and 9
    # shuffle split
    assert len(choice.trials) == len(settings(2)) == 9
    assert choice.reference in choice.trials
    enough = choice.reference.ratio * (1 + RATIO_MARGIN)
    eligible = [t for t in choice.trials if t is choice.reference or t.ratio >= enough]
    assert choice.chosen in eligible
    fastest = min(t.read_seconds for t in eligible)
    assert choice.chosen.read_seconds <= fastest * (1 + READ_TOLERANCE)
    near = [t for t in eligible if t.read_seconds <= fastest * (1 + READ_TOLERANCE)]
    assert choice.chosen.ratio == max(t.ratio for t in near)
    densest = [t for t in near if t.ratio == choice.chosen.ratio]
    assert choice.chosen.compress_seconds == min(t.compress_seconds for t in densest)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32"])
def test_the_choice_costs_at_most_a_tenth_of_compressing_the_array(dtype: str) -> None:
    """Counted work: the bytes the choice compresses, weighted by the calibrated cost per
    byte of each setting, against compressing the whole array with the chosen setting."""
    side = math.ceil((MIN_TUNED_BYTES / np.dtype(dtype).itemsize / 64) ** 0.5)
    values = _volume(seed=9, shape=(64, side, side), dtype=dtype)
    assert values.nbytes >= MIN_TUNED_BYTES
    choice = automatic_choice(
        values, patch=(64, 128, 128), mask=None, requested_patch=[192] * 3, meta_mask=None
    )
    assert choice is not None
    compressing = len({t.ratio for t in choice.trials})  # one-byte shuffle reuses no filter
    block_bytes = math.prod(choice.reference.candidate.layout.blocks) * values.itemsize
    assert choice.compressed_bytes <= compressing * choice.sample_blocks * block_bytes
    assert choice.compress_seconds <= 0.1 * choice.chosen.compress_seconds


@pytest.mark.parametrize(
    ("cparams", "codec"),
    [
        ("fast", blosc2.Codec.LZ4),
        ("compact", blosc2.Codec.ZSTD),
        ({"codec": blosc2.Codec.ZSTD, "clevel": 1}, blosc2.Codec.ZSTD),
        (blosc2.CParams(codec=blosc2.Codec.BLOSCLZ, clevel=5), blosc2.Codec.BLOSCLZ),
    ],
)
def test_explicit_cparams_or_preset_win(tmp_path: Path, cparams: Any, codec: blosc2.Codec) -> None:
    path = tmp_path / "explicit.mla"
    MLArray(_volume(), cparams=cparams).save(path)
    assert blosc2.open(str(path), mode="r").cparams.codec == codec
    assert RECORD_KEY not in read_frame(path).vlmeta


def test_small_or_valueless_arrays_keep_the_fast_preset(tmp_path: Path) -> None:
    small = MLArray(_volume()[:8])
    assert small.meta.blosc2.cparams["codec"] == blosc2.Codec.LZ4.value
    small.save(tmp_path / "small.mla")
    created = MLArray.create(tmp_path / "created.mla", SHAPE, np.int16)
    created[...] = _volume()
    created.close()
    for name in ("small.mla", "created.mla"):
        assert RECORD_KEY not in read_frame(tmp_path / name).vlmeta
    assert blosc2.open(str(tmp_path / "created.mla")).cparams.codec == blosc2.Codec.LZ4


def test_numpy_backed_arrays_are_tuned_when_saved(tmp_path: Path) -> None:
    path = tmp_path / "numpy.mla"
    image = MLArray(_volume(), compressed=False)
    image.save(path)
    assert _record(path)["layout"]["blocks"] == image.meta.blosc2.block_size
