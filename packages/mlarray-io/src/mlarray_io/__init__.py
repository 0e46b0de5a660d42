"""mlarray-io: NIfTI, NRRD, MetaImage and DICOM to and from ``.mla`` with exact geometry.

Every image is loaded into nibabel's voxel order ``(i, j, k[, t, ...])`` and the
NIfTI RAS+ world, whatever its format; nothing is reoriented unless asked for.
nibabel and SimpleITK are imported only when a format needs them. The
conventions are written down in ``docs/geometry.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlarray._clash  # noqa: F401  # also when the old package replaced mlarray/__init__.py
from mlarray import MLArray
from mlarray.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    MLArrayFileError,
)
from mlarray_io._sources import IMAGE_SUFFIXES, image_suffix
from mlarray_io._values import as_label_map
from mlarray_io._version import __version__
from mlarray_io._volume import with_values
from mlarray_io.convert import convert_file
from mlarray_io.dask import to_dask_array
from mlarray_io.dataset import ConversionRecord, ConversionSummary, convert_dataset
from mlarray_io.demo import DemoReport, run_demo
from mlarray_io.dicom import load_dicom
from mlarray_io.errors import SourceNotFoundError, UnsupportedFormatError
from mlarray_io.itk import from_sitk, load_itk, save_itk, to_sitk
from mlarray_io.nifti import from_nifti, load_nifti, save_nifti, to_nifti
from mlarray_io.omezarr import from_ome_zarr, is_ome_zarr, to_ome_zarr

__all__ = [
    "ConversionRecord",
    "ConversionSummary",
    "DemoReport",
    "__version__",
    "convert_dataset",
    "convert_file",
    "from_nifti",
    "from_ome_zarr",
    "from_sitk",
    "load",
    "run_demo",
    "save",
    "to_dask_array",
    "to_nifti",
    "to_ome_zarr",
    "to_sitk",
]

FORMATS = {
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".nrrd": "nrrd",
    ".nhdr": "nrrd",
    ".mha": "mha",
    ".mhd": "mha",
    ".mla": "mla",
}
"""The format of each supported extension; a folder is a DICOM series (read only)."""

BACKENDS = ("nibabel", "sitk")


def _format_of(path: Path, *, reading: bool) -> str:
    """The format named by ``path``'s extension.

    Raises:
        SourceNotFoundError: If a path to read has no known extension and does not exist.
        UnsupportedFormatError: If the extension is unknown.
    """
    suffix = image_suffix(path)
    if suffix is not None:
        return FORMATS[suffix]
    if reading and not path.exists():
        raise SourceNotFoundError(f"{path}: no such file or folder")
    found = f"extension {path.suffix!r}" if path.suffix else "no extension"
    folder = " or a DICOM series folder" if reading else " (DICOM output is not supported)"
    raise UnsupportedFormatError(
        f"{path}: unknown image format ({found}); expected {', '.join(IMAGE_SUFFIXES)}{folder}"
    )


def _backend(image_format: str, backend: str | None, path: Path) -> str:
    """The library that handles ``image_format``: nibabel for NIfTI by default, else SimpleITK."""
    if backend not in (None, *BACKENDS):
        raise ArgumentValueError(
            f"backend: expected one of {list(BACKENDS)} or None, got {backend!r}", path="backend"
        )
    if image_format == "mla":
        if backend is not None:
            raise ArgumentValueError(
                f"{path}: .mla files are read by mlarray itself; drop backend=", path="backend"
            )
        return "mla"
    if image_format == "nifti":
        return backend or "nibabel"
    if backend == "nibabel":
        raise ArgumentValueError(
            f"{path}: nibabel reads only NIfTI; {image_format} needs backend='sitk' (the default)",
            path="backend",
        )
    return "sitk"


def load(
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    reorient: bool = False,
    is_seg: bool | None = None,
    series_id: str | None = None,
) -> MLArray:
    """Load an image file or DICOM series folder as an MLArray.

    The array comes in nibabel's voxel order ``(i, j, k[, t][, c])`` with geometry in
    the RAS+ world, ``axis_labels``, ``axis_units`` and ``coord_system`` set, the
    source header in ``meta.source`` and the format in
    ``meta._image_meta_format``. Scaling (NIfTI ``scl_slope``/``scl_inter``,
    DICOM rescale) is applied without widening the dtype needlessly. The result
    holds its array uncompressed in memory; ``image.save("x.mla")`` compresses it.

    Args:
        path: A ``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``, ``.mha``, ``.mhd`` or
            ``.mla`` file, a folder holding a DICOM series, or an ``.ome.zarr``
            image (see :func:`from_ome_zarr`).
        backend: ``"nibabel"`` (the default for NIfTI) or ``"sitk"`` (SimpleITK,
            the only choice for NRRD, MetaImage and DICOM). None picks the default.
        reorient: Flip and swap the spatial axes to the closest canonical RAS+
            orientation (nibabel's ``as_closest_canonical``), recorded in
            ``meta.source["reorientation"]``. Not for ``.mla`` files.
        is_seg: Mark the image as a label map (True; float labels become
            integers) or not (False). None keeps what the source says.
        series_id: For a DICOM folder holding several series, the
            SeriesInstanceUID of the one to read.

    Returns:
        The image as an in-memory MLArray.

    Raises:
        SourceNotFoundError: If the file or folder does not exist (RuntimeError).
        UnsupportedFormatError: If the extension is unknown (RuntimeError).
        ImageFormatError: If the file is corrupt or truncated, or the folder holds
            no (or several) DICOM series (ValueError).
        ArgumentValueError: If an argument is invalid (ValueError).
        MissingDependencyError: If nibabel or SimpleITK is not installed (ImportError).
    """
    source = Path(path)
    if is_ome_zarr(source):
        if (backend, reorient, series_id) != (None, False, None):
            raise ArgumentValueError(f"{source}: OME-Zarr images take is_seg= alone", path="is_seg")
        return from_ome_zarr(source, is_seg=is_seg)
    if series_id is not None and not source.is_dir():
        raise ArgumentValueError(
            f"{source}: series_id is for DICOM series folders only", path="series_id"
        )
    if source.is_dir():
        if backend not in (None, "sitk"):
            raise ArgumentValueError(
                f"{source}: DICOM series are read with backend='sitk'", path="backend"
            )
        return load_dicom(source, series_id=series_id, reorient=reorient, is_seg=is_seg)
    image_format = _format_of(source, reading=True)
    chosen = _backend(image_format, backend, source)
    if not source.is_file():
        raise SourceNotFoundError(f"{source}: no such file")
    if chosen == "mla":
        return _load_mla(source, reorient=reorient, is_seg=is_seg)
    if chosen == "nibabel":
        return load_nifti(source, reorient=reorient, is_seg=is_seg)
    return load_itk(source, image_format, reorient=reorient, is_seg=is_seg)


def _load_mla(path: Path, *, reorient: bool, is_seg: bool | None) -> MLArray:
    if reorient:
        raise ArgumentValueError(
            f"{path}: reorient=True is for NIfTI, ITK and DICOM sources, not .mla files",
            path="reorient",
        )
    image = MLArray.load(path)
    if is_seg:
        labels = as_label_map(image.to_numpy(), str(path))
        if labels.dtype != image.dtype:
            image = with_values(image, labels)
    if is_seg is not None:
        image.meta.set_is_seg(is_seg)
    return image


def save(image: MLArray, path: str | os.PathLike[str], *, backend: str | None = None) -> None:
    """Save an MLArray in the format named by the extension of ``path``.

    NIfTI output restores a NIfTI header kept in ``meta.source`` (bit for bit
    when the image is unchanged); ITK formats are written compressed, in ITK's
    axis order and LPS+ world. DICOM output is not supported.

    Args:
        image: The image to save (with array data).
        path: A ``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``, ``.mha``, ``.mhd`` or
            ``.mla`` file, or an ``.ome.zarr`` image (replaced if it exists; see
            :func:`to_ome_zarr` for pyramids); its folder must exist.
        backend: ``"nibabel"`` (the default for NIfTI) or ``"sitk"``.

    Raises:
        UnsupportedFormatError: If the extension is unknown (RuntimeError).
        MLArrayFileError: If the folder does not exist or writing fails (RuntimeError).
        ImageFormatError: If the image's axes, world frame or dtype cannot be
            written in that format (ValueError).
        ArgumentTypeError: If ``image`` is not an MLArray (TypeError).
    """
    if not isinstance(image, MLArray):
        raise ArgumentTypeError(
            f"image: expected an MLArray, got {type(image).__name__}", path="image"
        )
    target = Path(path)
    if is_ome_zarr(target):
        if backend is not None:
            raise ArgumentValueError(
                f"{target}: OME-Zarr images are written by ome-zarr", path="path"
            )
        to_ome_zarr(image, target, overwrite=True)
        return
    image_format = _format_of(target, reading=False)
    chosen = _backend(image_format, backend, target)
    if not target.parent.is_dir():
        raise MLArrayFileError(f"{target}: cannot write, folder {target.parent} does not exist")
    if chosen == "mla":
        image.save(target)
    elif chosen == "nibabel":
        save_nifti(image, target)
    else:
        save_itk(image, target)
