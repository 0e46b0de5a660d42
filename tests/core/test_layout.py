"""How MLArray lays an array out in Blosc2: patch/chunk/block arguments and meta.blosc2."""

from __future__ import annotations

from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import MLARRAY_DEFAULT_PATCH_SIZE, MLArray, comp_blosc2_params
from mlarray._storage import L1_BLOCK_BUDGET as FAST
from mlarray.errors import LayoutError, MLArrayError


def _stored(path: Path) -> blosc2.NDArray:
    return blosc2.open(str(path), mode="r")


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((300, 40, 250), "float32"), ((256, 256, 256), "int16"), ((100, 500), "uint8")],
)
def test_default_patch_is_192_per_spatial_axis_and_recorded_unclipped(
    tmp_path: Path, shape: tuple[int, ...], dtype: str
) -> None:
    # A preset's layout; without cparams large arrays get the automatic choice (test_autotune).
    image = MLArray(np.zeros(shape, dtype=dtype), cparams="fast")
    patch = [min(MLARRAY_DEFAULT_PATCH_SIZE, side) for side in shape]
    chunk, block = comp_blosc2_params(
        shape, patch, bytes_per_pixel=np.dtype(dtype).itemsize, l1_cache_size_per_core_in_bytes=FAST
    )
    assert image.meta.blosc2.patch_size == [MLARRAY_DEFAULT_PATCH_SIZE] * len(shape)
    assert image.meta.blosc2.chunk_size == chunk
    assert image.meta.blosc2.block_size == block
    path = tmp_path / "default.mla"
    image.save(path)
    assert list(_stored(path).chunks) == chunk
    assert list(_stored(path).blocks) == block
    assert MLArray.open(path).meta.blosc2.patch_size == [MLARRAY_DEFAULT_PATCH_SIZE] * len(shape)


def test_isotropic_and_anisotropic_patch_sizes() -> None:
    shape = (64, 128, 128)  # 4 MiB: the presets' layout is asked for (no automatic choice)
    iso = MLArray(np.zeros(shape, np.float32), patch_size=48, cparams="fast")
    assert iso.meta.blosc2.patch_size == [48, 48, 48]
    assert [iso.meta.blosc2.chunk_size, iso.meta.blosc2.block_size] == list(
        comp_blosc2_params(shape, (48, 48, 48), l1_cache_size_per_core_in_bytes=FAST)
    )
    aniso = MLArray(np.zeros(shape, np.float32), patch_size=(16, 64, 128), cparams="fast")
    assert aniso.meta.blosc2.patch_size == [16, 64, 128]
    assert [aniso.meta.blosc2.chunk_size, aniso.meta.blosc2.block_size] == list(
        comp_blosc2_params(shape, (16, 64, 128), l1_cache_size_per_core_in_bytes=FAST)
    )
    larger = MLArray(np.zeros(shape, np.float32), patch_size=512, cparams="fast")
    assert larger.meta.blosc2.patch_size == [512, 512, 512], "recorded as asked, as 0.0.54 does"
    assert [larger.meta.blosc2.chunk_size, larger.meta.blosc2.block_size] == list(
        comp_blosc2_params(shape, (64, 128, 128), l1_cache_size_per_core_in_bytes=FAST)
    )


def test_patch_size_counts_spatial_axes_only() -> None:
    labels = ["channel", "spatial_x", "spatial_y", "spatial_z"]
    image = MLArray(np.zeros((2, 32, 32, 32), np.float32), axis_labels=labels, patch_size=16)
    assert image.meta.blosc2.patch_size == [16, 16, 16]
    assert image.meta.blosc2.chunk_size[0] == 1
    with pytest.raises(ValueError, match="patch_size: expected 3 values"):
        MLArray(np.zeros((2, 32, 32, 32)), axis_labels=labels, patch_size=(16, 16, 16, 16))


def test_channel_axis_in_the_middle_follows_the_labels() -> None:
    labels = ["spatial_x", "spatial_y", "channel", "spatial_z"]
    image = MLArray(np.zeros((32, 32, 3, 32), np.float32), axis_labels=labels)
    chunk, block = comp_blosc2_params(
        (32, 32, 3, 32),
        (32, 32, 32),
        [True, True, False, True],
        bytes_per_pixel=4,
        l1_cache_size_per_core_in_bytes=FAST,
    )
    assert image.meta.blosc2.chunk_size == chunk
    assert image.meta.blosc2.block_size == block
    assert chunk[2] == block[2] == 1


def test_explicit_chunk_and_block_with_patch_none(tmp_path: Path) -> None:
    image = MLArray(
        np.zeros((30, 40, 50), np.int16),
        patch_size=None,
        chunk_size=(1, 40, 32),
        block_size=(1, 8, 16),
    )
    assert image.meta.blosc2.chunk_size == [1, 40, 32]
    assert image.meta.blosc2.block_size == [1, 8, 16]
    assert image.meta.blosc2.patch_size is None
    path = tmp_path / "manual.mla"
    image.save(path)
    assert _stored(path).chunks == (1, 40, 32)
    assert _stored(path).blocks == (1, 8, 16)


def test_int_chunk_and_block_apply_to_every_axis() -> None:
    image = MLArray(np.zeros((30, 40)), patch_size=None, chunk_size=16, block_size=8)
    assert image.meta.blosc2.chunk_size == [16, 16]
    assert image.meta.blosc2.block_size == [8, 8]


def test_chunk_without_block_lets_blosc2_choose_the_block() -> None:
    image = MLArray(np.zeros((30, 40), np.float32), patch_size=None, chunk_size=(10, 20))
    assert image.meta.blosc2.chunk_size == [10, 20]
    block = image.meta.blosc2.block_size
    assert block is not None
    assert all(b <= c for b, c in zip(block, [10, 20], strict=True))


def test_no_patch_chunk_or_block_lets_blosc2_choose(tmp_path: Path) -> None:
    data = np.zeros((300, 40, 250), np.float32)
    image = MLArray(data, patch_size=None)
    reference = blosc2.asarray(data, cparams={"codec": blosc2.Codec.LZ4HC, "clevel": 8})
    assert image.meta.blosc2.patch_size is None
    assert image.meta.blosc2.chunk_size == list(reference.chunks)
    assert image.meta.blosc2.block_size == list(reference.blocks)
    path = tmp_path / "auto.mla"
    image.save(path)
    assert list(_stored(path).chunks) == image.meta.blosc2.chunk_size


def test_default_patch_gives_way_to_explicit_chunks() -> None:
    image = MLArray(np.zeros((16, 16, 16)), chunk_size=(8, 8, 8), block_size=(4, 4, 4))
    assert image.meta.blosc2.chunk_size == [8, 8, 8]
    assert image.meta.blosc2.patch_size is None


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"patch_size": 8, "chunk_size": 8}, "patch_size=8 cannot be combined"),
        ({"patch_size": (8, 8, 8), "block_size": 4}, "cannot be combined"),
        ({"patch_size": None, "block_size": 4}, "block_size=4 needs a chunk_size"),
        ({"patch_size": None, "chunk_size": 4, "block_size": 8}, "exceeds chunk_size"),
        ({"patch_size": None, "chunk_size": (4, 4, 4), "block_size": (2, 8, 2)}, "exceeds"),
    ],
)
def test_inconsistent_layout_arguments_raise_runtime_error(kwargs: dict, fragment: str) -> None:
    with pytest.raises(RuntimeError, match=fragment) as info:
        MLArray(np.zeros((16, 16, 16)), **kwargs)
    assert isinstance(info.value, LayoutError)
    assert isinstance(info.value, MLArrayError)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"patch_size": (8, 8)}, ValueError, "patch_size: expected 3 values"),
        ({"patch_size": "large"}, ValueError, "patch_size"),
        ({"patch_size": 0}, ValueError, "patch_size"),
        ({"patch_size": 8.5}, TypeError, "patch_size"),
        ({"patch_size": None, "chunk_size": (4, 4)}, ValueError, "chunk_size: expected 3"),
        ({"patch_size": None, "chunk_size": -1}, ValueError, "chunk_size"),
        ({"patch_size": None, "chunk_size": 4, "block_size": (2, 2)}, ValueError, "block_size"),
    ],
)
def test_malformed_layout_arguments_name_the_argument(
    kwargs: dict, error: type, fragment: str
) -> None:
    with pytest.raises(error, match=fragment) as info:
        MLArray(np.zeros((16, 16, 16)), **kwargs)
    assert isinstance(info.value, MLArrayError)


@pytest.mark.parametrize("shape", [(40,), (2, 3, 4, 5, 6)])
def test_explicit_patch_on_unsupported_dimensionality(shape: tuple[int, ...]) -> None:
    with pytest.raises(NotImplementedError, match="patch_size=None"):
        MLArray(np.zeros(shape), patch_size=4)


def test_two_non_spatial_axes_are_not_optimised() -> None:
    labels = ["channel", "temporal", "spatial", "spatial"]
    with pytest.raises(NotImplementedError, match="non-spatial"):
        MLArray(np.zeros((2, 3, 16, 16)), axis_labels=labels, patch_size=8)
    image = MLArray(np.zeros((2, 3, 16, 16)), axis_labels=labels)
    assert image.meta.blosc2.patch_size == [192, 192], "the request is recorded..."
    assert image.meta.blosc2.chunk_size == [2, 3, 16, 16], "...but Blosc2 decides"


# ------------------------------------------------------------------------ cparams / dparams


@pytest.mark.parametrize(
    ("dtype", "codec", "clevel", "shuffle"),
    [
        (np.float32, blosc2.Codec.LZ4, 9, True),
        (np.int16, blosc2.Codec.LZ4, 9, True),
        (np.uint8, blosc2.Codec.LZ4HC, 8, False),
    ],
)
def test_default_fast_preset_and_one_decompression_thread(
    tmp_path: Path, dtype: type, codec: blosc2.Codec, clevel: int, shuffle: bool
) -> None:
    image = MLArray(np.arange(4096).astype(dtype).reshape(16, 16, 16))
    assert image.meta.blosc2.cparams["codec"] == codec.value
    assert image.meta.blosc2.cparams["clevel"] == clevel
    assert (blosc2.Filter.SHUFFLE.value in image.meta.blosc2.cparams["filters"]) is shuffle
    assert image.meta.blosc2.dparams == {"nthreads": 1}
    path = tmp_path / "defaults.mla"
    image.save(path)
    stored = _stored(path)
    assert stored.schunk.cparams.codec == codec
    assert stored.schunk.cparams.clevel == clevel
    opened = MLArray.open(path)
    assert opened.meta.blosc2.cparams["codec"] == codec.value
    assert opened.meta.blosc2.dparams == {"nthreads": 1}
    assert MLArray(np.arange(4096).astype(dtype), cparams="fast").meta.blosc2.cparams == (
        MLArray(np.arange(4096).astype(dtype)).meta.blosc2.cparams
    )


@pytest.mark.parametrize(
    ("dtype", "codec", "shuffle"),
    [(np.float32, blosc2.Codec.LZ4HC, False), (np.int16, blosc2.Codec.ZSTD, True)],
)
def test_compact_preset_uses_bigger_blocks_and_stronger_codecs(
    tmp_path: Path, dtype: type, codec: blosc2.Codec, shuffle: bool
) -> None:
    data = np.random.default_rng(0).normal(0, 100, (64, 96, 96)).astype(dtype)
    fast, compact = MLArray(data), MLArray(data, cparams="compact")
    assert compact.meta.blosc2.cparams["codec"] == codec.value
    assert (blosc2.Filter.SHUFFLE.value in compact.meta.blosc2.cparams["filters"]) is shuffle
    block_items = np.prod(compact.meta.blosc2.block_size)
    assert block_items > np.prod(fast.meta.blosc2.block_size)
    assert block_items * np.dtype(dtype).itemsize <= 160 * 1024
    compact.save(tmp_path / "compact.mla")
    np.testing.assert_array_equal(MLArray.open(tmp_path / "compact.mla")[...], data)


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown preset 'tiny'.*'fast', 'compact'"):
        MLArray(np.zeros((8, 8, 8), np.float32), cparams="tiny")


@pytest.mark.parametrize(
    "cparams",
    [
        {"codec": blosc2.Codec.ZSTD, "clevel": 3, "filters": [blosc2.Filter.BITSHUFFLE]},
        blosc2.CParams(codec=blosc2.Codec.ZSTD, clevel=3, filters=[blosc2.Filter.BITSHUFFLE]),
    ],
    ids=["dict", "CParams"],
)
def test_cparams_and_dparams_are_used_and_recorded(tmp_path: Path, cparams: object) -> None:
    data = np.arange(4096, dtype=np.int32).reshape(16, 16, 16)
    image = MLArray(data, cparams=cparams, dparams=blosc2.DParams(nthreads=2))
    recorded = image.meta.blosc2
    assert recorded.cparams["codec"] == blosc2.Codec.ZSTD.value
    assert recorded.cparams["clevel"] == 3
    assert recorded.cparams["filters"][0] == blosc2.Filter.BITSHUFFLE.value
    assert recorded.dparams == {"nthreads": 2}
    path = tmp_path / "params.mla"
    image.save(path)
    stored = _stored(path)
    assert stored.schunk.cparams.codec == blosc2.Codec.ZSTD
    assert stored.schunk.cparams.clevel == 3
    assert MLArray.load(path).meta.blosc2.cparams["codec"] == blosc2.Codec.ZSTD.value
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), data)


def test_blosc2_meta_is_plain_json() -> None:
    image = MLArray(np.zeros((8, 8, 8), np.float32), cparams={"codec": blosc2.Codec.ZSTD})
    plain = image.meta.blosc2.to_plain()
    assert set(plain) == {"chunk_size", "block_size", "patch_size", "cparams", "dparams"}
    for value in plain["cparams"].values():
        assert type(value) in (int, bool, list), value


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"cparams": {"codex": 1}}, ValueError, "cparams: unknown keys \\['codex'\\]"),
        ({"dparams": {"threads": 1}}, ValueError, "dparams: unknown keys"),
        ({"cparams": 5}, TypeError, "cparams: expected a dict"),
        ({"dparams": [1]}, TypeError, "dparams: expected a dict"),
    ],
)
def test_bad_params_name_the_argument(kwargs: dict, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        MLArray(np.zeros((4, 4)), **kwargs)


def test_blosc2_meta_is_managed_and_read_only() -> None:
    image = MLArray(np.zeros((8, 8)))
    with pytest.raises(AttributeError):
        image.meta.blosc2.chunk_size = [1, 1]
    with pytest.raises(AttributeError):
        image.meta.blosc2.chunk_size.append(3)
    with pytest.raises(AttributeError):
        image.meta.blosc2 = {"chunk_size": [2, 2]}


def test_resaving_a_loaded_file_keeps_its_layout(tmp_path: Path) -> None:
    first, second = tmp_path / "first.mla", tmp_path / "second.mla"
    MLArray(
        np.zeros((20, 30, 40), np.int16), patch_size=None, chunk_size=(5, 10, 40), block_size=5
    ).save(first)
    MLArray(first).save(second)
    assert _stored(second).chunks == (5, 10, 40)
    assert _stored(second).blocks == (5, 5, 5)
    assert MLArray.load(second).meta.blosc2.chunk_size == [5, 10, 40]
