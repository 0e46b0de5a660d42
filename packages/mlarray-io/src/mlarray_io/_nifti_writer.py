"""Writing NIfTI: the kept header brought in line with the image, and the bytes.

Only what the ``.mla`` changed (dtype, shape, geometry, units, time step) is
written into a header kept in ``meta.source["nifti"]``; every change is
idempotent, so an unchanged image gets its header back bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from mlarray_io._cast import cast_hint
from mlarray_io._nifti_header import (
    NIFTI_INTENT_LABEL,
    SPACE_UNITS,
    TIME_UNITS,
    NiftiHeader,
    header_from_source,
)
from mlarray_io._optional import require
from mlarray_io._orientation import TEMPORAL, geometry_fields, restrict
from mlarray_io._values import unscaled
from mlarray_io._volume import Volume, to_volume
from mlarray_io.errors import ImageFormatError

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = ["header_and_data", "write"]

_MAX_NIFTI1_DIM = 32767
_SAME_RTOL, _SAME_ATOL = 1e-12, 1e-9
_NIBABEL_UNKNOWN = "unknown"


def _nibabel() -> Any:
    return require("nibabel", "nibabel")


def _fresh_header(shape: tuple[int, ...]) -> NiftiHeader:
    nib = _nibabel()
    header = nib.Nifti1Header() if max(shape, default=0) <= _MAX_NIFTI1_DIM else nib.Nifti2Header()
    header.set_qform(np.eye(4), code=1)
    header.set_sform(np.eye(4), code=1)
    return header


def _set_values(
    header: NiftiHeader, values: np.ndarray[Any, Any], where: str, *, kept: bool
) -> Any:
    """The array to write: a kept header's stored dtype and scaling if exact, else ``values``."""
    if kept:
        raw = unscaled(values, header.get_data_dtype(), *header.get_slope_inter())
        if raw is not None:
            return raw
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    try:
        header.set_data_dtype(values.dtype)
    except _nibabel().spatialimages.HeaderDataError as exc:
        raise ImageFormatError(
            f"{where}: NIfTI cannot store {values.dtype} values{cast_hint(values.dtype)}"
        ) from exc
    header.set_slope_inter(None, None)
    return values


def _set_labels(header: NiftiHeader, labels: np.ndarray[Any, Any], *, kept: bool) -> Any:
    """Store a label map as it is: its own dtype, no scaling, intent NIFTI_INTENT_LABEL.

    A kept header that already describes such a label map is left as it is; any
    other (a CT's, say) loses its scaling and its display window.
    """
    unscaled_before = header.get_slope_inter() in ((None, None), (1.0, 0.0))
    if not (kept and header.get_data_dtype().newbyteorder("=") == labels.dtype):
        header.set_data_dtype(labels.dtype)
    if not (kept and unscaled_before):
        header.set_slope_inter(1.0, 0.0)
    if not (kept and int(header["intent_code"]) == NIFTI_INTENT_LABEL):
        header.set_intent("label")
        header["cal_min"], header["cal_max"] = 0.0, 0.0
    return labels


def _set_geometry(header: NiftiHeader, affine: np.ndarray[Any, Any]) -> None:
    """Write ``affine`` into sform and qform unless the header already holds it.

    Nonzero codes are kept, a zero code becomes 1 (scanner); the qform, which
    cannot hold shear, gets code 0 for a sheared affine.
    """
    n = affine.shape[0] - 1
    current = header.get_best_affine()
    if np.allclose(restrict(current, n), affine, rtol=_SAME_RTOL, atol=_SAME_ATOL):
        return
    full = current.copy()
    keep = [*range(n), 3]
    full[np.ix_(keep, keep)] = affine
    sheared = "affine" in geometry_fields(full)
    header.set_sform(full, code=int(header["sform_code"]) or 1)
    header.set_qform(full, code=0 if sheared else int(header["qform_code"]) or 1)


def _set_units_and_time(header: NiftiHeader, volume: Volume) -> None:
    """Write the axis units and the time step and offset where the header differs."""
    space, time = header.get_xyzt_units()
    if volume.units is not None:
        names = {unit: name for name, unit in SPACE_UNITS.items()}
        space = names.get(volume.units[0], _NIBABEL_UNKNOWN)
        if TEMPORAL in volume.labels:
            times = {unit: name for name, unit in TIME_UNITS.items()}
            time = times.get(volume.units[volume.labels.index(TEMPORAL)], _NIBABEL_UNKNOWN)
    if (space, time) != header.get_xyzt_units():
        header.set_xyzt_units(space, time)
    if volume.time is not None:
        pixdim = header["pixdim"]
        pixdim[4] = volume.time[0]
        header["pixdim"] = pixdim
        header["toffset"] = volume.time[1]


def header_and_data(image: MLArray, where: str) -> tuple[NiftiHeader, np.ndarray[Any, Any]]:
    """The header to write and the stored values (before the header's scaling)."""
    volume = to_volume(image, where)
    kept = volume.source.get("nifti")
    header = header_from_source(kept) if kept else _fresh_header(volume.array.shape)
    if volume.is_seg:
        raw = _set_labels(header, volume.array, kept=bool(kept))
    else:
        raw = _set_values(header, volume.array, where, kept=bool(kept))
    if header.get_data_shape() != raw.shape:
        header.set_data_shape(raw.shape)
    _set_geometry(header, volume.affine)
    _set_units_and_time(header, volume)
    header["magic"] = header.single_magic  # a pair's header ("ni1") goes into one file
    minimum = header.single_vox_offset + header.extensions.get_sizeondisk()
    if 0 < header["vox_offset"] < minimum:
        header["vox_offset"] = minimum
    return header, raw


def write(header: NiftiHeader, raw: np.ndarray[Any, Any], stream: BinaryIO) -> None:
    """Write a single-file NIfTI to ``stream``, header and stored values as they are.

    (nibabel's image writer would replace an unset, NaN, scaling by 1 and 0.)
    """
    header.write_to(stream)
    _nibabel().volumeutils.array_to_file(
        raw, stream, header.get_data_dtype(), offset=header.get_data_offset(), order="F"
    )
