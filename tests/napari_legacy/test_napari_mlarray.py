"""The napari plugin ``napari-mlarray`` (written against mlarray 0.0.54) on mlarray-core.

Run by ``nox -s napari_legacy``: napari with a Qt binding, ``napari-mlarray`` from
PyPI and our wheels, with the ``mlarray`` distribution the plugin pulls in
replaced by ``mlarray-core`` as ``docs/installation.md`` says. Qt runs on its
offscreen platform (``QT_QPA_PLATFORM=offscreen``). Files are read through
napari's plugin engine (npe2) and turned into layers as the viewer does, without
a canvas (which would need OpenGL); layers are saved with ``napari.save_layers``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import napari
import npe2
import numpy as np
import pytest
from napari.layers import Layer
from napari_mlarray._reader import bboxes_minmax_to_napari_rectangles_2d

from mlarray import Meta, MLArray

PLUGIN = "napari-mlarray"


@pytest.fixture(scope="module", autouse=True)
def qt_application() -> Any:
    assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"
    from napari.qt import get_qapp

    npe2.PluginManager.instance().discover()  # as napari does when it starts
    assert PLUGIN in npe2.PluginManager.instance()._manifests
    return get_qapp()


def _open(path: Path) -> list[Layer]:
    """Read ``path`` with the plugin and build its layers, as ``viewer.open`` does."""
    layers = []
    for data, meta, layer_type in npe2.read([str(path)], stack=False, plugin_name=PLUGIN):
        if layer_type == "boundingboxlayer":
            from napari_bbox import BoundingBoxLayer

            layers.append(BoundingBoxLayer(data, **meta))
        else:
            layers.append(Layer.create(data, meta, layer_type))
    return layers


def _image(path: Path) -> np.ndarray:
    data = np.linspace(-100, 900, 12 * 14 * 16, dtype=np.float32).reshape(12, 14, 16)
    image = MLArray(data, spacing=(2.0, 1.0, 0.5), origin=(10.0, -5.0, 3.0), meta={"p": "ü"})
    image.meta.spatial.axis_units = ["mm", "mm", "mm"]
    image.save(path)
    return data


def test_reader_builds_an_image_layer_with_geometry(tmp_path: Path) -> None:
    data = _image(tmp_path / "ct.mla")
    (layer,) = _open(tmp_path / "ct.mla")
    assert type(layer).__name__ == "Image"
    assert layer.name == "ct"
    np.testing.assert_array_equal(np.asarray(layer.data[...]), data)
    np.testing.assert_allclose(np.diag(layer.affine.affine_matrix)[:3], [2.0, 1.0, 0.5])
    np.testing.assert_allclose(layer.affine.affine_matrix[:3, 3], [10.0, -5.0, 3.0])
    assert layer.metadata["source"] == {"data": {"p": "ü"}}


def test_reader_builds_a_labels_layer_for_segmentations(tmp_path: Path) -> None:
    mask = (np.arange(10 * 11 * 12).reshape(10, 11, 12) % 5).astype(np.uint8)
    MLArray(mask, meta=Meta(is_seg=True), spacing=(1.0, 1.0, 1.0)).save(tmp_path / "seg.mla")
    (layer,) = _open(tmp_path / "seg.mla")
    assert type(layer).__name__ == "Labels"
    np.testing.assert_array_equal(np.asarray(layer.data[...]), mask)


def test_reader_builds_bounding_box_layers(tmp_path: Path) -> None:
    boxes_3d = {
        "bboxes": [[[1, 5], [2, 9], [3, 7]], [[0, 2], [4, 8], [10, 12]]],
        "scores": [0.9, 0.4],
        "labels": ["lesion", 2],
    }
    MLArray(meta=Meta(bbox=boxes_3d), spacing=(1.0, 1.0, 1.0)).save(tmp_path / "boxes3d.mla")
    (layer,) = _open(tmp_path / "boxes3d.mla")
    assert type(layer).__name__ == "BoundingBoxLayer"
    assert len(layer.data) == 2
    np.testing.assert_array_equal(np.asarray(layer.data[0]).min(axis=0), [1, 2, 3])
    np.testing.assert_array_equal(np.asarray(layer.data[0]).max(axis=0), [5, 9, 7])

    boxes_2d = {"bboxes": [[[1, 5], [2, 9]]], "scores": [0.5]}
    image = MLArray(np.zeros((12, 12), np.uint8), meta=Meta(bbox=boxes_2d))
    image.save(tmp_path / "boxes2d.mla")
    layers = _open(tmp_path / "boxes2d.mla")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Shapes"]
    assert layers[1].shape_type == ["rectangle"]
    # The plugin's own conversion of the boxes we stored (it reads 2D boxes its own way).
    expected = bboxes_minmax_to_napari_rectangles_2d(np.asarray(boxes_2d["bboxes"]))
    np.testing.assert_array_equal(layers[1].data[0], expected[0])


def test_a_file_with_unitless_axes_opens(tmp_path: Path) -> None:
    image = MLArray(np.ones((2, 8, 9), np.float32), axis_labels=["channel", "spatial", "spatial"])
    image.meta.spatial.axis_units = ["", "mm", "mm"]
    image.save(tmp_path / "unitless.mla")
    (layer,) = _open(tmp_path / "unitless.mla")
    assert layer.data.shape == (2, 8, 9)
    assert layer.metadata["spatial"]["axis_units"] == ["", "mm", "mm"]


def test_writer_files_load_in_ours(tmp_path: Path) -> None:
    data = _image(tmp_path / "ct.mla")
    (layer,) = _open(tmp_path / "ct.mla")
    target = tmp_path / "written.mla"
    written = napari.save_layers(str(target), [layer], plugin=PLUGIN)
    assert written == [str(target)]
    image = MLArray.open(target)
    np.testing.assert_array_equal(image[...], data)
    assert image.spacing == [2.0, 1.0, 0.5]
    assert image.origin == [10.0, -5.0, 3.0]
    assert image.meta.source == {"p": "ü"}
    assert image.meta.spatial.axis_units == ["mm", "mm", "mm"]

    fresh = napari.layers.Image(
        np.arange(24, dtype=np.int16).reshape(2, 3, 4),
        name="fresh",
        metadata=Meta(source={"from": "napari"}).to_mapping(),
    )
    napari.save_layers(str(tmp_path / "fresh.mla"), [fresh], plugin=PLUGIN)
    reread = MLArray.load(tmp_path / "fresh.mla")
    np.testing.assert_array_equal(reread.to_numpy(), np.arange(24).reshape(2, 3, 4))
    assert reread.meta.source == {"from": "napari"}
