"""DICOM series folders, read through SimpleITK's GDCM series reader (read only).

GDCM applies the rescale slope and intercept: integral ones give the narrowest
integer dtype that holds the values, others float64, which is narrowed here to
float32 when that is exact. Geometry is converted like any ITK image.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlarray_io._optional import require
from mlarray_io._values import narrow_float
from mlarray_io._volume import from_volume
from mlarray_io.errors import ImageFormatError
from mlarray_io.itk import sitk_reason, text_entries, volume_from_sitk

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = ["load_dicom"]


def _choose_series(folder: Path, series: tuple[str, ...], series_id: str | None) -> str:
    if not series:
        raise ImageFormatError(f"{folder}: no DICOM series found in this folder")
    if series_id is None:
        if len(series) > 1:
            raise ImageFormatError(
                f"{folder}: holds {len(series)} DICOM series ({', '.join(map(repr, series))}); "
                "pass series_id= to choose one"
            )
        return series[0]
    if series_id not in series:
        raise ImageFormatError(
            f"{folder}: no DICOM series {series_id!r}; found {', '.join(map(repr, series))}"
        )
    return series_id


def load_dicom(
    folder: Path, *, series_id: str | None, reorient: bool, is_seg: bool | None
) -> MLArray:
    """Read one DICOM series from ``folder`` (not its subfolders).

    Args:
        folder: The folder holding the series' files.
        series_id: The SeriesInstanceUID to read; needed when the folder holds
            several series.
        reorient: Reorient to the closest canonical RAS+ orientation and record it.
        is_seg: Mark the image as a label map (True) or not (False); None: unknown.

    Returns:
        An in-memory MLArray in ``(x, y, z)`` order (columns, rows, slices) and the
        RAS+ world; the first slice's tags, the series UID and the file names are
        kept in ``meta.source["dicom"]``.

    Raises:
        ImageFormatError: If the folder holds no series, several without
            ``series_id``, or files GDCM cannot read.
    """
    sitk = require("SimpleITK", "SimpleITK")
    reader = sitk.ImageSeriesReader()
    chosen = _choose_series(folder, tuple(reader.GetGDCMSeriesIDs(str(folder))), series_id)
    files = reader.GetGDCMSeriesFileNames(str(folder), chosen)
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise ImageFormatError(f"{folder}: cannot read DICOM series: {sitk_reason(exc)}") from exc
    tags = text_entries(reader.GetMetaDataKeys(0), lambda key: reader.GetMetaData(0, key))
    source = {"dicom": {"series_id": chosen, "files": [Path(f).name for f in files], "tags": tags}}
    volume = volume_from_sitk(image, where=str(folder), image_format="dicom", source=source)
    volume.array = narrow_float(volume.array)
    return from_volume(volume, reorient=reorient, is_seg=is_seg)
