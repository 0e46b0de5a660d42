"""A scan to OME-Zarr with a pyramid, checked with ome-zarr-py's reader, and back."""

import subprocess
import sys
import warnings
from pathlib import Path

import nibabel
import numpy as np

import mlarray_io
from mlarray import MLArray
from mlarray_io.errors import ObliqueGeometryWarning

SAMPLES = Path(nibabel.__file__).parent / "tests" / "data"


def main() -> None:
    # A real scan stored LAS (x flipped), as a .mla file.
    mlarray_io.convert_file(SAMPLES / "anatomical.nii", "anat.mla")

    # .mla -> OME-Zarr with 3 resolution levels, then back, on the command line.
    for args in (["anat.mla", "anat.ome.zarr", "--levels", "3"], ["anat.ome.zarr", "back.mla"]):
        subprocess.run([sys.executable, "-m", "mlarray", "convert", *args], check=True)
    scan, back = MLArray.open("anat.mla"), MLArray.open("back.mla")
    assert np.array_equal(back.to_numpy(), scan.to_numpy())
    assert np.allclose(back.affine, scan.affine)

    # What an NGFF client sees: axes z, y, x; the x flip is a negative scale.
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url("anat.ome.zarr"))()))
    print([axis["name"] for axis in node.metadata["axes"]])  # ['z', 'y', 'x']
    print(node.metadata["coordinateTransformations"][0])
    # [{'type': 'scale', 'scale': [2.0, 2.0, -2.0]},
    #  {'type': 'translation', 'translation': [-16.0, -40.0, 32.0]}]
    print([level.shape for level in node.data])  # [(25, 41, 33), (13, 21, 17), (7, 11, 9)]
    assert node.metadata["coordinateTransformations"][0][0]["scale"] == [2.0, 2.0, -2.0]

    # The same in Python: a coarser level comes back with its own geometry.
    level2 = mlarray_io.from_ome_zarr("anat.ome.zarr", level=2)
    print(level2.shape, level2.spacing)  # (9, 11, 7) [8.0, 8.0, 8.0]
    assert level2.shape == (9, 11, 7)

    # An oblique scan is written unrotated, with a warning; make it an error instead:
    oblique = mlarray_io.load(SAMPLES / "example4d.nii.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ObliqueGeometryWarning)
        try:
            mlarray_io.to_ome_zarr(oblique, "4d.ome.zarr")
        except ObliqueGeometryWarning as refused:
            print("refused:", str(refused).split(": ", 1)[1][:44])  # the scan is oblique...
    assert not Path("4d.ome.zarr").exists()


if __name__ == "__main__":
    main()
