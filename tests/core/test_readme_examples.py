"""The usage examples of the API (README of the ``mlarray`` 0.0.54 package), one test each.

Each test runs the example's code as written, in a temporary working folder, and
asserts what the example documents (in its comments and printed values).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray._autotune._layouts import legacy_layout

SAMPLE_SHAPE = (128, 256, 256)


@pytest.fixture(scope="module")
def sample_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """``sample.mla`` as the "Default usage" example writes it, made once per module."""
    folder = tmp_path_factory.mktemp("sample")
    array = np.random.default_rng(0).random(SAMPLE_SHAPE)
    MLArray(array).save(folder / "sample.mla")
    return folder / "sample.mla", array


@pytest.fixture
def sample(
    sample_source: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> np.ndarray:
    """A fresh ``sample.mla`` in the current (temporary) folder; returns its array."""
    shutil.copy(sample_source[0], tmp_path / "sample.mla")
    monkeypatch.chdir(tmp_path)
    return sample_source[1]


def _layout(path: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    stored = blosc2.open(path, mode="r")
    return tuple(stored.chunks), tuple(stored.blocks)


def _assert_patch_layout(path: str, patch: tuple[int, int, int]) -> None:
    """The file has a layout the automatic choice derives from ``patch`` (float64 sample).

    The sample (32 MiB) is large enough to be tuned: the automatic choice uses the
    layout 0.0.54 gives the patch asked for (mlarray._autotune).
    """
    legacy = legacy_layout(SAMPLE_SHAPE, 8, patch=patch, mask=[True] * 3)
    assert _layout(path) == (legacy.chunks, legacy.blocks)


def test_default_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    array = np.random.random((128, 256, 256))
    image = MLArray(array)  # Create MLArray image
    image.save("sample.mla")

    image = MLArray("sample.mla")  # Loads image

    assert image.shape == (128, 256, 256)
    assert image.dtype == np.float64
    np.testing.assert_array_equal(image.to_numpy(), array)
    assert image.meta.blosc2.patch_size == [192, 192, 192]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.mla"]


def test_memory_mapped_usage(sample: np.ndarray, tmp_path: Path) -> None:
    # read-only, partial access (default)
    image = MLArray.open("sample.mla", mmap_mode="r")
    crop = image[10:20, 50:60]  # Read crop
    np.testing.assert_array_equal(crop, sample[10:20, 50:60])
    assert crop.shape == (10, 10, 256)

    # read/write, partial access
    image = MLArray.open("sample.mla", mmap_mode="r+")
    image[10:20, 50:60] *= 5  # Modify crop in memory and disk
    expected = sample.copy()
    expected[10:20, 50:60] *= 5
    np.testing.assert_array_equal(image[10:20, 50:60], expected[10:20, 50:60])
    # An edit is a transaction here: the disk holds it from close() on, all at once.
    np.testing.assert_array_equal(MLArray.load("sample.mla").to_numpy(), sample)
    image.close()
    np.testing.assert_array_equal(MLArray.load("sample.mla").to_numpy(), expected)

    # read/write, partial access, create/overwrite
    array = np.random.random((128, 256, 256))
    image = MLArray.create("sample.mla", shape=array.shape, dtype=array.dtype, mmap_mode="w+")
    image[...] = array  # Modify image in memory and disk
    del image  # (the new file replaces the old one when the handle is closed or goes away)
    np.testing.assert_array_equal(MLArray.load(tmp_path / "sample.mla").to_numpy(), array)


def test_metadata_inspection_and_manipulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    array = np.random.random((64, 128, 128))
    image = MLArray(
        array,
        spacing=(1.0, 1.0, 1.5),
        origin=(10.0, 10.0, 30.0),
        direction=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        meta={"patient_id": "123", "modality": "CT"},
    )

    assert str(image.spacing) == "[1.0, 1.0, 1.5]"  # what print() shows
    assert str(image.origin) == "[10.0, 10.0, 30.0]"
    assert image.meta.source == {"patient_id": "123", "modality": "CT"}

    image.spacing[1] = 5.3
    image.meta.source["study_id"] = "study-001"
    image.save("with-metadata.mla")

    saved = MLArray.load("with-metadata.mla")
    assert saved.spacing == [1.0, 5.3, 1.5]
    assert saved.meta.source == {"patient_id": "123", "modality": "CT", "study_id": "study-001"}

    # Open memory-mapped
    image = MLArray.open("with-metadata.mla", mmap_mode="r+")
    image.meta.source["study_id"] = "new-study"  # Modify metadata
    image.close()  # Close and save metadata, only necessary to save modified metadata

    reopened = MLArray.open("with-metadata.mla")
    assert reopened.meta.source["study_id"] == "new-study"
    assert reopened.spacing == [1.0, 5.3, 1.5]
    assert reopened.origin == [10.0, 10.0, 30.0]
    assert reopened.direction == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    np.testing.assert_array_equal(reopened[...], array)


def test_copy_metadata_with_overrides(sample: np.ndarray) -> None:
    base = MLArray("sample.mla")
    array = np.random.random(base.shape)

    image = MLArray(
        array,
        spacing=(0.8, 0.8, 1.0),
        copy=base,  # Copies all non-explicitly set arguments from base
    )

    image.save("copied-metadata.mla")

    copied = MLArray.load("copied-metadata.mla")
    assert copied.spacing == [0.8, 0.8, 1.0]
    np.testing.assert_array_equal(copied.to_numpy(), array)

    # The same call with a base that carries metadata: everything not given is copied.
    base.meta.source["patient_id"] = "123"
    base.origin = [1.0, 2.0, 3.0]
    base.meta.is_seg = False
    image = MLArray(array, spacing=(0.8, 0.8, 1.0), copy=base)
    assert image.spacing == [0.8, 0.8, 1.0]
    assert image.origin == [1.0, 2.0, 3.0]
    assert image.meta.source == {"patient_id": "123"}
    assert image.meta.is_seg.value is False


def test_standardized_metadata_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    array = np.random.random((64, 128, 128))
    image = MLArray(
        array,
        meta=Meta(source={"patient_id": "123", "modality": "CT"}, is_seg=True),
    )

    assert image.meta.source == {"patient_id": "123", "modality": "CT"}
    assert str(image.meta.is_seg) == "True"  # what print() shows
    assert image.meta.is_seg.value is True

    image.meta.source["study_id"] = "study-001"
    image.meta.is_seg = False
    image.save("with-metadata.mla")

    loaded = MLArray.load("with-metadata.mla")
    assert loaded.meta.source == {"patient_id": "123", "modality": "CT", "study_id": "study-001"}
    assert loaded.meta.is_seg.value is False


def test_default_patch_size(sample: np.ndarray) -> None:
    image = MLArray("sample.mla")  # Existing file
    image.save("default-patch.mla")  # Keeps existing layout metadata

    loaded = MLArray("sample.mla")
    image = MLArray(loaded.to_numpy(), patch_size="default")
    image.save("default-patch-relayout.mla")  # Uses constructor patch_size='default' (192)

    assert _layout("default-patch.mla") == _layout("sample.mla")
    kept = MLArray.load("default-patch.mla").meta.blosc2
    assert kept.to_plain() == MLArray.load("sample.mla").meta.blosc2.to_plain()
    relayout = MLArray.load("default-patch-relayout.mla")
    assert relayout.meta.blosc2.patch_size == [192, 192, 192]
    _assert_patch_layout("default-patch-relayout.mla", (192, 192, 192))
    np.testing.assert_array_equal(relayout.to_numpy(), sample)


def test_custom_isotropic_patch_size(sample: np.ndarray) -> None:
    loaded = MLArray("sample.mla")
    image = MLArray(loaded.to_numpy(), patch_size=512)
    image.save("patch-512.mla")

    saved = MLArray.load("patch-512.mla")
    assert saved.meta.blosc2.patch_size == [512, 512, 512], "as asked, not clipped"
    _assert_patch_layout("patch-512.mla", (512, 512, 512))
    np.testing.assert_array_equal(saved.to_numpy(), sample)


def test_custom_non_isotropic_patch_size(sample: np.ndarray) -> None:
    loaded = MLArray("sample.mla")
    image = MLArray(loaded.to_numpy(), patch_size=(128, 192, 256))
    image.save("patch-non-iso.mla")

    saved = MLArray.load("patch-non-iso.mla")
    assert saved.meta.blosc2.patch_size == [128, 192, 256]
    _assert_patch_layout("patch-non-iso.mla", (128, 192, 256))
    np.testing.assert_array_equal(saved.to_numpy(), sample)


def test_manual_chunk_block_size(sample: np.ndarray) -> None:
    loaded = MLArray("sample.mla")
    image = MLArray(
        loaded.to_numpy(),
        patch_size=None,
        chunk_size=(1, 128, 128),
        block_size=(1, 32, 32),
    )
    image.save("manual-chunk-block.mla")

    assert _layout("manual-chunk-block.mla") == ((1, 128, 128), (1, 32, 32))
    saved = MLArray.load("manual-chunk-block.mla")
    assert saved.meta.blosc2.chunk_size == [1, 128, 128]
    assert saved.meta.blosc2.block_size == [1, 32, 32]
    assert saved.meta.blosc2.patch_size is None
    np.testing.assert_array_equal(saved.to_numpy(), sample)


def test_blosc2_auto_layout(sample: np.ndarray) -> None:
    loaded = MLArray("sample.mla")
    image = MLArray(loaded.to_numpy(), patch_size=None)
    # If patch_size, chunk_size and block_size are all None, Blosc2 will auto-configure
    image.save("blosc2-auto.mla")

    reference = blosc2.empty(
        SAMPLE_SHAPE, dtype=np.float64, cparams={"codec": blosc2.Codec.LZ4HC, "clevel": 8}
    )
    assert _layout("blosc2-auto.mla") == (tuple(reference.chunks), tuple(reference.blocks))
    saved = MLArray.load("blosc2-auto.mla")
    assert saved.meta.blosc2.patch_size is None
    assert saved.meta.blosc2.chunk_size == list(reference.chunks)
    np.testing.assert_array_equal(saved.to_numpy(), sample)
