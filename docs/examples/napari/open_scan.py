"""Open a .mla scan in napari with the mlarray-io plugin, lazily, and save a layer."""

from pathlib import Path

import npe2
import numpy as np
from napari.components import ViewerModel

from mlarray import MLArray
from mlarray_io.napari import LazyVolume


def main() -> None:
    scan = np.random.default_rng(0).integers(0, 1000, (64, 80, 40), dtype=np.int16)
    image = MLArray(scan, spacing=[0.8, 0.8, 2.5], origin=[-25.0, -30.0, 10.0])
    image.meta.add_bbox([[10, 20], [30, 45], [5, 8]], score=0.93, label="lesion")
    image.save("scan.mla")
    mask = MLArray((scan > 900).astype(np.uint8), copy=image)
    mask.meta.set_is_seg(True)
    mask.save("mask.mla")

    npe2.PluginManager.instance().discover()  # napari.Viewer() does this for you
    viewer = ViewerModel()  # napari.Viewer() in a desktop session
    viewer.open("scan.mla", plugin="mlarray-io")  # an image layer and a shapes layer
    viewer.open("mask.mla", plugin="mlarray-io")  # a labels layer
    print([(layer.name, layer._type_string) for layer in viewer.layers])
    # [('scan', 'image'), ('scan boxes', 'shapes'), ('mask', 'labels'), ('mask boxes', 'shapes')]

    layer = viewer.layers["scan"]
    assert isinstance(layer.data, LazyVolume)  # slices are read as napari shows them
    print(layer.data.shape)  # (40, 80, 64): z, y, x, axial slices on screen
    # Voxel (i, j, k) = (3, 4, 5) is at the same RAS+ world point in napari (z, y, x):
    print(np.round(layer.data_to_world([5, 4, 3])[::-1], 3).tolist())  # [-22.6, -26.8, 22.5]
    assert np.allclose(layer.data_to_world([5, 4, 3])[::-1], image.affine[:3] @ [3, 4, 5, 1])

    viewer.layers["mask"].save("mask-edited.mla", plugin="mlarray-io")
    assert MLArray.open("mask-edited.mla").meta.is_seg.value is True
    assert Path("mask-edited.mla").exists()


if __name__ == "__main__":
    main()
