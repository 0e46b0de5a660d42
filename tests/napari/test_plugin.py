"""The napari plugin ``mlarray-io``, in real napari (no window: ``nox -s napari``).

Layers are built by napari's own ``ViewerModel.open`` through the npe2 manifest
that the installed package declares, as napari does for a user.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import npe2
from napari.components import ViewerModel
from napari.plugins import _initialize_plugins

from mlarray import MLArray
from mlarray_io.napari import LazyVolume, get_reader
from tests.io._images import ct_volume, oblique_affine, probe_indices, world

PLUGIN = "mlarray-io"
OBLIQUE_2D = pytest.mark.filterwarnings(
    # napari's own notice for rotated layers in a 2D view; the placement is still exact
    "ignore:Non-orthogonal slicing is being requested:UserWarning"
)


@pytest.fixture(scope="module", autouse=True)
def plugins() -> None:
    _initialize_plugins()


def open_layers(path: Path) -> tuple[ViewerModel, list[Any]]:
    viewer = ViewerModel()
    return viewer, viewer.open(path, plugin=PLUGIN)


def napari_world(layer: Any, index: np.ndarray) -> np.ndarray:
    """World (x, y, z) of file voxel ``index`` (x, y, z), as napari places it."""
    return np.asarray(layer.data_to_world(index[::-1]))[::-1]


def test_manifest_is_found_through_the_entry_point() -> None:
    manifest = npe2.PluginManager.instance().get_manifest(PLUGIN)
    assert manifest.contributions.readers[0].filename_patterns == ["*.mla"]
    assert {w.layer_types[0] for w in manifest.contributions.writers} == {"image", "labels"}
    assert manifest.name != "napari-mlarray"  # the 0.0.54 authors' plugin keeps its own name


def test_reader_declines_what_it_does_not_read(tmp_path: Path) -> None:
    assert get_reader(str(tmp_path / "scan.nii.gz")) is None
    assert get_reader([str(tmp_path / "a.mla"), str(tmp_path / "b.tif")]) is None
    assert get_reader(str(tmp_path / "a.mla")) is not None


@OBLIQUE_2D
def test_oblique_image_layer_is_lazy_and_placed_exactly(tmp_path: Path) -> None:
    data = ct_volume((17, 13, 9))
    image = MLArray(data, affine=oblique_affine())
    image.save(tmp_path / "ct.mla")
    _, (layer,) = open_layers(tmp_path / "ct.mla")
    assert layer._type_string == "image"
    assert isinstance(layer.data, LazyVolume)
    np.testing.assert_array_equal(np.asarray(layer.data), data.transpose(2, 1, 0))
    for index in probe_indices(data.shape):
        np.testing.assert_allclose(
            napari_world(layer, index), world(image.affine, index), atol=1e-9
        )


def test_segmentation_is_a_labels_layer(tmp_path: Path) -> None:
    labels = (ct_volume((8, 9, 10)) % 4).astype(np.uint8)
    segmentation = MLArray(labels, spacing=[1.0, 2.0, 3.0], origin=[4.0, 5.0, 6.0])
    segmentation.meta.set_is_seg(True)
    segmentation.save(tmp_path / "seg.mla")
    _, (layer,) = open_layers(tmp_path / "seg.mla")
    assert layer._type_string == "labels"
    np.testing.assert_array_equal(layer.data[3], labels[:, :, 3].T)
    np.testing.assert_allclose(napari_world(layer, np.array([1.0, 1, 1])), [5, 7, 9])


def test_channels_become_layers_and_time_leads(tmp_path: Path) -> None:
    data = ct_volume((6, 5, 4, 2, 3))
    labels = ["spatial_x", "spatial_y", "spatial_z", "temporal", "channel"]
    MLArray(data, spacing=[1.0, 1.0, 1.0], axis_labels=labels).save(tmp_path / "rgb.mla")
    _, layers = open_layers(tmp_path / "rgb.mla")
    assert [layer.name for layer in layers] == ["rgb [0]", "rgb [1]", "rgb [2]"]
    for channel, layer in enumerate(layers):
        assert layer.data.shape == (2, 4, 5, 6)
        np.testing.assert_array_equal(
            np.asarray(layer.data), data[..., channel].transpose(3, 2, 1, 0)
        )


def test_boxes_are_rectangles_on_every_slice_they_span(tmp_path: Path) -> None:
    image = MLArray(ct_volume((20, 16, 12)), spacing=[0.5, 1.0, 2.0], origin=[10.0, 0.0, -5.0])
    image.meta.add_bbox([[2, 6], [3, 9], [4, 6]], score=0.9, label="tumour")
    image.save(tmp_path / "boxes.mla")
    _, (_, boxes) = open_layers(tmp_path / "boxes.mla")
    assert boxes._type_string == "shapes"
    assert len(boxes.data) == 3  # z = 4, 5, 6
    assert list(boxes.features["label"]) == ["tumour"] * 3
    first = boxes.data[0]  # (z, y, x) vertices of the rectangle on slice z = 4
    assert {tuple(v) for v in first} == {(4, y, x) for y, x in itertools.product([3, 9], [2, 6])}
    corner = boxes.data_to_world(first[0])
    np.testing.assert_allclose(corner[::-1], world(image.affine, first[0][::-1]))


@OBLIQUE_2D
def test_writer_saves_image_and_labels_layers(tmp_path: Path) -> None:
    image = MLArray(ct_volume(), affine=oblique_affine())
    image.save(tmp_path / "ct.mla")
    segmentation = MLArray((ct_volume() > 0).astype(np.uint8), spacing=[1.0, 2.0, 3.0])
    segmentation.meta.set_is_seg(True)
    segmentation.save(tmp_path / "seg.mla")
    viewer = ViewerModel()
    viewer.open(tmp_path / "ct.mla", plugin=PLUGIN)
    viewer.open(tmp_path / "seg.mla", plugin=PLUGIN)
    for layer, name, source in zip(
        viewer.layers, ["ct", "seg"], [image, segmentation], strict=True
    ):
        written = layer.save(str(tmp_path / f"{name}-saved.mla"), plugin=PLUGIN)
        assert written == [str(tmp_path / f"{name}-saved.mla")]
        again = MLArray.open(written[0])
        np.testing.assert_array_equal(again.to_numpy(), source.to_numpy())
        np.testing.assert_allclose(again.affine, source.affine, atol=1e-9)
        assert bool(again.meta.is_seg.value) == bool(source.meta.is_seg.value)


def test_opening_a_large_scan_reads_only_the_shown_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Count the chunks and blocks that napari's reads touch before the first slice shows."""
    MLArray(np.zeros((256, 512, 512), np.int16), spacing=[1.0, 1.0, 1.0]).save(tmp_path / "big.mla")
    keys: list[Any] = []
    read = LazyVolume.__getitem__

    def recording(self: LazyVolume, key: Any) -> Any:
        keys.append(self._file_key(key)[0])
        return read(self, key)

    monkeypatch.setattr(LazyVolume, "__getitem__", recording)
    open_layers(tmp_path / "big.mla")
    assert keys, "napari read nothing"
    meta = MLArray.open(tmp_path / "big.mla").meta.blosc2
    shape = (256, 512, 512)
    chunks, blocks = touched(keys, shape, meta.chunk_size, meta.block_size)
    all_chunks = np.prod([-(-n // c) for n, c in zip(shape, meta.chunk_size, strict=True)])
    per_chunk = np.prod([-(-c // b) for c, b in zip(meta.chunk_size, meta.block_size, strict=True)])
    print(f"chunks {len(chunks)}/{all_chunks}, blocks {len(blocks)}/{all_chunks * per_chunk}")
    # napari slices a new layer at index 0, then shows the middle slice: two planes of
    # the file's last axis are read, one voxel thick, and nothing else
    planes = {key[2] if isinstance(key[2], int) else key[2].start for key in keys}
    assert all(key[:2] == (slice(None), slice(None)) for key in keys)
    assert planes == {0, 255}
    # Blosc2 decodes only the blocks a read touches: they are what is read, not whole
    # chunks (how many chunks two planes cross depends on the layout chosen at save)
    assert len(blocks) < 0.10 * all_chunks * per_chunk


def touched(
    keys: list[Any], shape: tuple[int, ...], chunk: list[int], block: list[int]
) -> tuple[set[tuple[int, ...]], set[tuple[int, ...]]]:
    """The chunks, and the blocks within them, that the file reads ``keys`` cover."""
    chunks: set[tuple[int, ...]] = set()
    blocks: set[tuple[int, ...]] = set()
    for key in keys:
        spans = []
        for part, size in zip(key, shape, strict=True):
            if isinstance(part, slice):
                start, stop, _ = part.indices(size)
                spans.append((start, stop - 1))
            else:
                spans.append((part, part))
        for voxel_chunk in itertools.product(
            *[range(lo // c, hi // c + 1) for (lo, hi), c in zip(spans, chunk, strict=True)]
        ):
            chunks.add(voxel_chunk)
            ranges = []
            for (lo, hi), c, b, at in zip(spans, chunk, block, voxel_chunk, strict=True):
                first, last = max(lo, at * c) - at * c, min(hi, at * c + c - 1) - at * c
                ranges.append(range(first // b, last // b + 1))
            blocks.update((*voxel_chunk, *inner) for inner in itertools.product(*ranges))
    return chunks, blocks


def test_public_names_are_pinned() -> None:
    import mlarray_io.napari

    assert mlarray_io.napari.__all__ == [
        "LazyVolume",
        "get_reader",
        "read_layers",
        "write_image",
        "write_labels",
    ]


def test_contrast_limits_from_stats_and_boxes_alone(tmp_path: Path) -> None:
    image = MLArray(ct_volume(), spacing=[1.0, 1.0, 1.0])
    image.meta.set_stats({"min": -100.0, "max": 400.0})
    image.save(tmp_path / "ct.mla")
    _, (layer,) = open_layers(tmp_path / "ct.mla")
    assert list(layer.contrast_limits) == [-100.0, 400.0]
    boxes_only = MLArray()
    boxes_only.meta.add_bbox([[1, 2], [3, 4], [5, 5]], label=7)
    boxes_only.save(tmp_path / "boxes.mla")
    _, (shapes,) = open_layers(tmp_path / "boxes.mla")
    assert shapes._type_string == "shapes"
    assert list(shapes.features["label"]) == [7]
