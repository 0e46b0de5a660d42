"""The files used on the command-line page: a CT-like scan and a damaged copy."""

from pathlib import Path

import numpy as np

from mlarray import CoordSystem, MLArray

# A smooth, CT-like int16 volume (air outside, soft tissue inside a body outline).
z, y, x = np.mgrid[0:96, 0:192, 0:192]
body = ((y - 96) / 80.0) ** 2 + ((x - 96) / 88.0) ** 2 < 1.0
volume = np.where(body, 40 + (z % 7) * 3, -1000).astype(np.int16)

image = MLArray(
    volume,
    spacing=[2.5, 0.75, 0.75],
    origin=[-120.0, -72.0, -72.0],
    axis_labels=["spatial_z", "spatial_y", "spatial_x"],
    meta={"Modality": "CT", "BodyPartExamined": "CHEST"},
    patch_size=[32, 64, 64],
)
image.meta.spatial.coord_system = CoordSystem.LPS
image.meta.is_seg = False
image.save("ct.mla")

# The same file with one bit flipped inside its compressed data.
data = bytearray(Path("ct.mla").read_bytes())
data[len(data) // 2] ^= 0x01
Path("damaged.mla").write_bytes(bytes(data))
