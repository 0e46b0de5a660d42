"""Write the benchmark cases as medh5 samples (run in medh5's own venv).

Usage: python medh5_write.py NPY_DIR OUT_DIR

Each sample holds the float32 image on a 1 mm grid whose patch hint is the
benchmark's patch, the label as a segmentation of three classes, and medh5's
sampling index; the "training" codec profile is medh5's choice for training data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import medh5
import numpy as np

CLASSES = [1, 2, 3]  # every file declares the same classes (lesions are in some only)


def main(source: Path, target: Path) -> None:
    for image_path in sorted(source.glob("*.npy")):
        if image_path.stem.endswith("_seg"):
            continue
        name = image_path.stem
        image = np.load(image_path)[0]
        label = np.load(source / f"{name}_seg.npy")
        with medh5.create(target / f"{name}.medh5", sample_id=name, codec="training") as writer:
            writer.add_grid("ct", shape=image.shape, spacing=(1.0, 1.0, 1.0), patch_hint=[128] * 3)
            writer.add_image("CT", image, grid="ct", modality="CT")
            writer.add_segmentation("seg", grid="ct", labelmap=label, annotated_classes=CLASSES)
            writer.build_index()
        print(f"medh5: wrote {name}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
