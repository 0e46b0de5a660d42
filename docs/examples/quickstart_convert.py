"""Convert a NIfTI dataset to .mla, then read random patches from it."""

import shutil
from pathlib import Path

import nibabel
import numpy as np

import mlarray_io
from mlarray import MLArray
from mlarray_io.dataset import convert_dataset


def make_dataset(folder: Path) -> None:
    """Stand-in for your data: three real scans that nibabel ships with its tests."""
    samples = Path(nibabel.__file__).parent / "tests" / "data"
    folder.mkdir(exist_ok=True)
    for name in ("anatomical.nii", "reoriented_anat_moved.nii", "example4d.nii.gz"):
        shutil.copy(samples / name, folder / name)


def main() -> None:
    make_dataset(Path("dataset"))

    # One image: load any supported format, look at it, save it as .mla.
    image = mlarray_io.load("dataset/anatomical.nii")
    print(image.shape, image.dtype)  # (33, 41, 25) int16
    print(image.meta.spatial.axis_labels)  # ['spatial_x', 'spatial_y', 'spatial_z']
    print(image.meta.spatial.coord_system, image.spacing)  # RAS+ [2.0, 2.0, 2.0]
    image.compress(patch_size=(32, 32, 32))  # lay the chunks out for your patch size
    image.save("anatomical.mla")

    # A whole dataset: worker processes, a progress bar, resumable, past bad inputs.
    summary = convert_dataset("dataset", "converted", workers=2)
    print(f"{len(summary.converted)} converted, {len(summary.failed)} failed")
    for record in summary.failed:
        print(record.source, record.error)

    # Training reads random patches from the converted files, memory-mapped.
    rng = np.random.default_rng(0)
    for path in sorted(Path("converted").glob("*.mla")):
        image = MLArray.open(path, mmap_mode="r")
        assert image.shape is not None
        corner = [int(rng.integers(0, max(size - 16, 0) + 1)) for size in image.shape[:3]]
        patch = image[tuple(slice(start, start + 16) for start in corner)]
        print(path.name, image.shape, "->", patch.shape)

    # And back to NIfTI, with the original header and geometry.
    mlarray_io.save(MLArray.load("converted/anatomical.mla"), "anatomical_again.nii.gz")
    original, again = (
        nibabel.load("dataset/anatomical.nii"),
        nibabel.load("anatomical_again.nii.gz"),
    )
    assert np.array_equal(original.get_fdata(), again.get_fdata())
    assert np.allclose(original.affine, again.affine)


if __name__ == "__main__":  # convert_dataset starts worker processes
    main()
