"""NIfTI-1 and NIfTI-2 through nibabel: array order and affine kept as nibabel has them.

Loading keeps nibabel's voxel order and RAS+ affine, applies ``scl_slope`` and
``scl_inter`` (see :mod:`mlarray_io._values`) and keeps the whole header in
``meta.source["nifti"]``. Saving restores that header; only what the ``.mla``
changed (geometry, shape, dtype, units, time step) is rewritten, so an unchanged
image is written back bit for bit.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray_io._nifti_header import (
    NIFTI_INTENT_LABEL,
    SPACE_UNITS,
    TIME_UNITS,
    NiftiHeader,
    NiftiImage,
    header_from_source,
    header_to_source,
)
from mlarray_io._nifti_writer import header_and_data, write
from mlarray_io._optional import require
from mlarray_io._orientation import (
    CHANNEL,
    SPATIAL_LABELS,
    TEMPORAL,
    UNKNOWN_UNIT,
    restrict,
)
from mlarray_io._values import scaled
from mlarray_io._volume import Volume, from_volume, reoriented
from mlarray_io.errors import ImageFormatError

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = ["check_complete", "from_nifti", "load_nifti", "save_nifti", "to_nifti"]


def _nibabel() -> Any:
    return require("nibabel", "nibabel")


# ----------------------------------------------------------------------------- reading
def _stored_values(image: NiftiImage) -> np.ndarray[Any, Any]:
    """The voxel values with the header scaling applied (see :mod:`mlarray_io._values`)."""
    dataobj = image.dataobj
    if _nibabel().is_proxy(dataobj):
        return scaled(np.asanyarray(dataobj.get_unscaled()), dataobj.slope, dataobj.inter)
    return scaled(np.asanyarray(dataobj), None, None)


def _image_header(image: NiftiImage) -> NiftiHeader:
    """The header of an image object, with the scaling nibabel moved into its data proxy."""
    header = image.header.copy()
    dataobj = image.dataobj
    if _nibabel().is_proxy(dataobj) and (dataobj.slope, dataobj.inter) != (1.0, 0.0):
        header.set_slope_inter(dataobj.slope, dataobj.inter)
    return header


def _file_header(image: NiftiImage) -> NiftiHeader:
    """The header exactly as stored in the image's file (nibabel resets the scaling on load)."""
    holder = image.file_map.get("header", image.file_map["image"])
    with holder.get_prepare_fileobj(mode="rb") as stream:
        return image.header_class.from_fileobj(stream)


def _volume(image: NiftiImage, header: NiftiHeader, where: str) -> Volume:
    values = _stored_values(image)
    n = min(values.ndim, len(SPATIAL_LABELS))
    extra = values.ndim - n
    space, time = header.get_xyzt_units()
    affine = image.affine if image.affine is not None else header.get_best_affine()
    return Volume(
        array=values,
        affine=restrict(affine, n),
        labels=[*SPATIAL_LABELS[:n], *[TEMPORAL][:extra], *[CHANNEL] * (extra - 1)],
        units=[
            *[SPACE_UNITS.get(space, UNKNOWN_UNIT)] * n,
            *[TIME_UNITS.get(time, UNKNOWN_UNIT)][:extra],
            *[UNKNOWN_UNIT] * (extra - 1),
        ],
        source={"nifti": header_to_source(header)},
        where=where,
        image_format="nifti",
        time=(float(header["pixdim"][4]), float(header["toffset"])) if extra else None,
        is_seg=True if int(header["intent_code"]) == NIFTI_INTENT_LABEL else None,
    )


def _from_image(
    image: NiftiImage, header: NiftiHeader, *, reorient: bool, is_seg: bool | None
) -> MLArray:
    volume = _volume(image, header, str(image.get_filename() or type(image).__name__))
    if reorient:
        volume = reoriented(volume)
        _permute_dim_info(volume.source["nifti"], volume.source["reorientation"]["ornt"])
    return from_volume(volume, is_seg=is_seg)


def _permute_dim_info(nifti: dict[str, Any], ornt: list[list[int]]) -> None:
    """Follow a reorientation in the header's ``dim_info`` (as nibabel's ``as_reoriented``)."""
    header = header_from_source(nifti)
    moved = [
        axis if axis is None or axis >= len(ornt) else int(ornt[axis][0])
        for axis in header.get_dim_info()
    ]
    header.set_dim_info(*moved)
    nifti["header"]["dim_info"] = int(header["dim_info"])


def from_nifti(image: NiftiImage, *, reorient: bool = False, is_seg: bool | None = None) -> MLArray:
    """Convert a nibabel NIfTI image to an MLArray (see :func:`mlarray_io.load`).

    nibabel keeps a loaded file's scaling in the data proxy, not in the header,
    so an identity scaling stored as 1 and 0 comes back here as unset (NaN);
    :func:`mlarray_io.load` reads the header from the file and keeps it exactly.

    Args:
        image: A ``Nifti1Image`` or ``Nifti2Image`` (or the ``Pair`` variants).
        reorient: Reorient to the closest canonical RAS+ orientation, as
            ``nibabel.as_closest_canonical`` does, and record it.
        is_seg: Mark the image as a label map (True) or not (False); None keeps
            what the header says (``intent_code`` 1002, NIFTI_INTENT_LABEL).

    Returns:
        An in-memory MLArray in nibabel's voxel order and RAS+ world.
    """
    return _from_image(image, _image_header(image), reorient=reorient, is_seg=is_seg)


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turn nibabel's errors about a damaged file into an ImageFormatError naming it."""
    nib = _nibabel()
    try:
        yield
    except MLArrayError:
        raise
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as exc:
        reason = " ".join(str(exc).split())
        raise ImageFormatError(f"{path}: cannot read NIfTI file: {reason}") from exc


def _open(path: Path) -> NiftiImage:
    image = _nibabel().load(path)
    if not isinstance(image, _nibabel().Nifti1Image):
        raise ImageFormatError(f"{path}: expected a NIfTI image, found {type(image).__name__}")
    return image


def load_nifti(path: Path, *, reorient: bool, is_seg: bool | None) -> MLArray:
    """Read a ``.nii`` or ``.nii.gz`` file with nibabel (see :func:`from_nifti`).

    Raises:
        ImageFormatError: If the file is not a readable NIfTI image.
    """
    with _read_errors(path):
        image = _open(path)
        return _from_image(image, _file_header(image), reorient=reorient, is_seg=is_seg)


def check_complete(path: Path) -> None:
    """Check that a NIfTI file holds all its voxels, by reading the last one.

    Raises:
        ImageFormatError: If the file is not a NIfTI image or is truncated.
    """
    with _read_errors(path):
        image = _open(path)
        image.dataobj[(-1,) * len(image.shape)]


def to_nifti(image: MLArray) -> NiftiImage:
    """Convert an MLArray to a nibabel NIfTI image.

    A NIfTI header kept in ``meta.source["nifti"]`` (from loading a NIfTI file)
    is restored with its codes, units, intent, description and extensions; the
    stored dtype and scaling are reused when they reproduce the values exactly.
    Geometry, shape, units and time step come from the MLArray and are written
    into the header only where they differ from it.

    The result is backed by the bytes :func:`mlarray_io.save` writes (its data
    proxy holds the stored values and their scaling). ``nibabel.save`` may
    rescale such an image; :func:`mlarray_io.save` writes the file exactly.

    Args:
        image: An MLArray with array data.

    Returns:
        A ``Nifti1Image`` (``Nifti2Image`` for a NIfTI-2 source or an axis longer
        than 32767).

    Raises:
        ImageFormatError: If the axes, world frame or dtype cannot be written.
    """
    nib = _nibabel()
    header, raw = header_and_data(image, "MLArray")
    buffer = io.BytesIO()
    write(header, raw, buffer)
    klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    return klass.from_bytes(buffer.getvalue())


def save_nifti(image: MLArray, path: Path) -> None:
    """Write ``image`` to a ``.nii`` or ``.nii.gz`` file (see :func:`to_nifti`).

    Raises:
        MLArrayFileError: If the file cannot be written.
    """
    header, raw = header_and_data(image, str(path))
    try:
        with _nibabel().openers.ImageOpener(path, "wb") as stream:
            write(header, raw, stream)
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot write NIfTI file: {exc}") from exc
