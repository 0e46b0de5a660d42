"""NRRD, MetaImage and (optionally) NIfTI through SimpleITK, converted to nibabel's conventions.

SimpleITK hands out arrays in ``(z, y, x)`` order (``(t, z, y, x)`` in 4D, vector
components last) and geometry in the LPS+ world. Loading transposes the array to
``(x, y, z[, t][, c])`` and converts direction and origin to RAS+; saving does the
reverse. ITK's world unit is the millimetre (and the second for time): other
units are converted on saving.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from mlarray.errors import MLArrayFileError
from mlarray_io._cast import cast_hint
from mlarray_io._optional import require
from mlarray_io._orientation import (
    CHANNEL,
    SPATIAL_LABELS,
    TEMPORAL,
    UNKNOWN_UNIT,
    affine_from_lps,
    lps_from_affine,
)
from mlarray_io._volume import Volume, from_volume, to_volume
from mlarray_io.errors import ImageFormatError
from mlarray_io.nifti import check_complete

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = [
    "from_sitk",
    "load_itk",
    "save_itk",
    "sitk_reason",
    "text_entries",
    "to_sitk",
    "volume_from_sitk",
]

SitkImage: TypeAlias = Any
"""A ``SimpleITK.Image`` (SimpleITK is imported lazily and not typed)."""

MILLIMETRES = {"mm": 1.0, "m": 1000.0, "um": 1e-3}
SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_MAX_DIMENSION = 4
_ITK_PREFIX = re.compile(r"^(ITK ERROR: \w+\(0x[0-9a-fA-F]+\): |sitk::ERROR: )")


def _sitk() -> Any:
    return require("SimpleITK", "SimpleITK")


def sitk_reason(exc: Exception) -> str:
    """SimpleITK's error message on one line, without its source-file preamble."""
    lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
    return "; ".join(_ITK_PREFIX.sub("", line) for line in lines) or str(exc)


def text_entries(keys: Iterable[str], get: Callable[[str], str]) -> dict[str, str]:
    """A metadata dictionary as ``{key: get(key)}``; entries that are not text are left out."""
    entries: dict[str, str] = {}
    for key in keys:
        try:
            entries[key] = get(key)
        except UnicodeDecodeError:
            continue
    return entries


def volume_from_sitk(
    image: SitkImage, *, where: str, image_format: str | None, source: dict[str, Any]
) -> Volume:
    """The canonical form of a SimpleITK image.

    Args:
        image: A 2D, 3D or 4D image; the 4th axis is time.
        where: The file or object, for messages.
        image_format: The format recorded in ``meta._image_meta_format``.
        source: The header to keep in ``meta.source``.

    Raises:
        ImageFormatError: If the image has more than 4 dimensions.
    """
    dimension = image.GetDimension()
    if dimension > _MAX_DIMENSION:
        raise ImageFormatError(f"{where}: {dimension}D ITK images are not supported (2D to 4D)")
    vector = image.GetNumberOfComponentsPerPixel() > 1
    order = [*reversed(range(dimension)), *([dimension] if vector else [])]
    array = _sitk().GetArrayFromImage(image).transpose(order)
    n = min(dimension, len(SPATIAL_LABELS))
    spacing = np.array(image.GetSpacing())
    origin = np.array(image.GetOrigin())
    direction = np.array(image.GetDirection()).reshape(dimension, dimension)
    timed = dimension > n
    return Volume(
        array=array,
        affine=affine_from_lps(spacing[:n], origin[:n], direction[:n, :n]),
        labels=[*SPATIAL_LABELS[:n], *[TEMPORAL] * timed, *[CHANNEL] * vector],
        units=[*["mm"] * n, *["s"] * timed, *[UNKNOWN_UNIT] * vector],
        source=source,
        where=where,
        image_format=image_format,
        time=(float(spacing[n]), float(origin[n])) if timed else None,
    )


def from_sitk(image: SitkImage, *, reorient: bool = False, is_seg: bool | None = None) -> MLArray:
    """Convert a SimpleITK image to an MLArray (see :func:`mlarray_io.load`).

    Args:
        image: A 2D, 3D or 4D SimpleITK image, scalar or vector.
        reorient: Reorient to the closest canonical RAS+ orientation and record it.
        is_seg: Mark the image as a label map (True) or not (False); None: unknown.

    Returns:
        An in-memory MLArray in ``(x, y, z[, t][, c])`` order and the RAS+ world,
        with the image's metadata dictionary in ``meta.source["itk"]``.
    """
    volume = volume_from_sitk(
        image, where="SimpleITK image", image_format=None, source=_itk_source(image)
    )
    return from_volume(volume, reorient=reorient, is_seg=is_seg)


def _itk_source(image: SitkImage) -> dict[str, Any]:
    metadata = text_entries(image.GetMetaDataKeys(), image.GetMetaData)
    return {"itk": {"metadata": metadata, "pixel_type": image.GetPixelIDTypeAsString()}}


def load_itk(path: Path, image_format: str, *, reorient: bool, is_seg: bool | None) -> MLArray:
    """Read an image file with SimpleITK (see :func:`from_sitk`).

    Raises:
        ImageFormatError: If the file is not a readable image.
    """
    if image_format == "nifti":
        check_complete(path)  # ITK reads truncated NIfTI files without complaint
    try:
        image = _sitk().ReadImage(str(path))
    except RuntimeError as exc:
        raise ImageFormatError(
            f"{path}: cannot read {image_format} file: {sitk_reason(exc)}"
        ) from exc
    volume = volume_from_sitk(
        image, where=str(path), image_format=image_format, source=_itk_source(image)
    )
    return from_volume(volume, reorient=reorient, is_seg=is_seg)


def _itk_geometry(volume: Volume) -> tuple[list[float], list[float], list[float]]:
    """Spacing, origin and flattened direction in ITK's LPS+ world, mm and seconds."""
    spacing, origin, direction = lps_from_affine(volume.affine)
    units = volume.units or []
    scale = MILLIMETRES.get(units[0], 1.0) if units else 1.0
    spacing, origin = spacing * scale, origin * scale
    if TEMPORAL in volume.labels:
        seconds = SECONDS.get(units[volume.labels.index(TEMPORAL)], 1.0) if units else 1.0
        step, offset = volume.time or (1.0, 0.0)
        spacing = np.append(spacing, step * seconds)
        origin = np.append(origin, offset * seconds)
        direction = np.pad(direction, (0, 1))
        direction[-1, -1] = 1.0
    return spacing.tolist(), origin.tolist(), direction.ravel().tolist()


def _to_sitk(image: MLArray, where: str) -> SitkImage:
    sitk = _sitk()
    volume = to_volume(image, where)
    n = volume.spatial_ndim
    timed = TEMPORAL in volume.labels
    vector = len(volume.labels) - n - timed
    if n < 2 or vector > 1 or (timed and n != len(SPATIAL_LABELS)):
        raise ImageFormatError(
            f"{where}: ITK images hold 2 or 3 spatial axes, a time axis only after 3 "
            f"spatial ones and at most one channel axis; got axes {volume.labels}"
        )
    dimension = n + timed
    order = [*reversed(range(dimension)), *([dimension] if vector else [])]
    array = volume.array.astype(np.uint8) if volume.array.dtype == np.bool_ else volume.array
    try:
        itk_image = sitk.GetImageFromArray(array.transpose(order), isVector=bool(vector))
    except (TypeError, RuntimeError) as exc:
        raise ImageFormatError(
            f"{where}: ITK cannot store {array.dtype} values{cast_hint(array.dtype)}"
        ) from exc
    spacing, origin, direction = _itk_geometry(volume)
    itk_image.SetSpacing(spacing)
    itk_image.SetOrigin(origin)
    itk_image.SetDirection(direction)
    return itk_image


def to_sitk(image: MLArray) -> SitkImage:
    """Convert an MLArray to a SimpleITK image.

    The array is transposed to ITK's order (spatial axes reversed, then time,
    vector components last); direction and origin go from RAS+ to LPS+, and
    lengths to millimetres (times to seconds) when ``axis_units`` says otherwise.

    Args:
        image: An MLArray with array data.

    Raises:
        ImageFormatError: If the axes, world frame or dtype cannot be written.
    """
    return _to_sitk(image, "MLArray")


def save_itk(image: MLArray, path: Path) -> None:
    """Write ``image`` with SimpleITK, compressed (the format follows the extension).

    Raises:
        MLArrayFileError: If the file cannot be written.
    """
    itk_image = _to_sitk(image, str(path))
    try:
        _sitk().WriteImage(itk_image, str(path), useCompression=True)
    except RuntimeError as exc:
        raise MLArrayFileError(f"{path}: cannot write: {sitk_reason(exc)}") from exc
