"""OME-Zarr (NGFF 0.5) to and from MLArray, with an optional resolution pyramid.

Needs ``mlarray-io[zarr]`` (zarr 3 and ome-zarr-py). The array axes become NGFF
axes ``[t,] [c,] z, y, x`` (space axes reversed, since NGFF puts the fastest
axis last), named and typed from ``axis_labels``, with units from ``axis_units``;
the RAS+ world of ``docs/geometry.md`` is the NGFF physical space, so a scan
whose direction is the identity, or flips axes, is placed exactly by each
level's scale and translation (a flipped axis gets a negative scale).

NGFF has no direction matrix. An oblique scan is written unrotated (spacing as
the scale, origin as the translation) with an :class:`ObliqueGeometryWarning`:
NGFF viewers show it axis-aligned. Its exact affine is kept in the group's
``mlarray`` attribute, with the axis labels, units, ``meta.source``,
``meta.extra``, bounding boxes and ``is_seg``, so :func:`from_ome_zarr` gives the
same image back. Nothing is ever resampled, except into the pyramid's levels.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray import MLArray
from mlarray.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    MLArrayFileError,
)
from mlarray_io._ngff import AxisPlan, level_transforms, plan_axes, read_axes
from mlarray_io._ngff_read import (
    EXTRA,
    KEPT,
    level_affine,
    level_vectors,
    multiscale_of,
    open_group,
    read_level,
)
from mlarray_io._optional import require
from mlarray_io._orientation import TEMPORAL
from mlarray_io._pyramid import pyramid
from mlarray_io._staging import output_failure, staging_folder
from mlarray_io._volume import Volume, from_volume, to_volume
from mlarray_io.errors import (
    ObliqueGeometryWarning,
    OutputExistsError,
    SourceNotFoundError,
)

__all__ = ["OME_ZARR_SUFFIX", "from_ome_zarr", "is_ome_zarr", "to_ome_zarr"]

OME_ZARR_SUFFIX = ".ome.zarr"
NGFF_VERSION = "0.5"
_KEPT_VERSION = 1
_CHUNK = 64
"""Chunk edge of the space axes (time and channel axes are chunked by 1)."""
_ALIGNED_TOLERANCE = 1e-6
"""Off-diagonal entries this small next to the largest one count as zero (float noise)."""


def is_ome_zarr(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an OME-Zarr image (its name ends with ``.ome.zarr``)."""
    return Path(path).name.lower().endswith(OME_ZARR_SUFFIX)


def _space_geometry(
    affine: npt.NDArray[np.float64], where: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Scale and translation of the space axes; warns when the direction is dropped."""
    n = len(affine) - 1
    linear, origin = affine[:n, :n], affine[:n, n]
    off_diagonal = linear - np.diag(np.diag(linear))
    if np.abs(off_diagonal).max() <= _ALIGNED_TOLERANCE * np.abs(linear).max():
        return np.diag(linear).copy(), origin.copy()
    warnings.warn(
        ObliqueGeometryWarning(
            f"{where}: the scan is oblique and NGFF has no direction matrix; it is written "
            "unrotated (NGFF viewers show it axis-aligned) and its affine is kept in the "
            f"'{KEPT}' attribute, which mlarray reads back"
        ),
        stacklevel=3,
    )
    return np.linalg.norm(linear, axis=0), origin.copy()


def _ngff_vectors(
    volume: Volume, plan: AxisPlan
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Level 0's scale and translation per NGFF axis."""
    space_scale, space_translation = _space_geometry(volume.affine, volume.where)
    step, offset = volume.time or (1.0, 0.0)
    scale, translation = np.ones(len(plan.order)), np.zeros(len(plan.order))
    for position, axis in enumerate(plan.order):
        if axis < volume.spatial_ndim:
            scale[position], translation[position] = space_scale[axis], space_translation[axis]
        elif volume.labels[axis] == TEMPORAL:
            scale[position], translation[position] = step, offset
    return scale, translation


def _kept(image: MLArray, volume: Volume) -> dict[str, Any]:
    return {
        "version": _KEPT_VERSION,
        "affine": volume.affine.tolist(),
        "axis_labels": volume.labels,
        "axis_units": volume.units,
        "is_seg": volume.is_seg,
        "source": volume.source,
        "extra": image.meta.extra.to_plain() or {},
        "bbox": image.meta.bbox.to_mapping(include_none=False),
    }


def _write_level(root: Any, name: str, array: npt.NDArray[Any], plan: AxisPlan) -> None:
    """One level as a Zarr array named ``name``, chunked for slice and patch reads."""
    chunks = [
        min(size, _CHUNK) if axis in plan.spatial else 1 for axis, size in enumerate(array.shape)
    ]
    stored = root.create_array(
        name,
        shape=array.shape,
        dtype=array.dtype,
        chunks=chunks,
        dimension_names=[axis["name"] for axis in plan.axes],
    )
    stored[...] = array


def _ome(
    target: Path, volume: Volume, plan: AxisPlan, vectors: tuple[Any, Any], levels: int
) -> dict[str, Any]:
    """The group's ``ome`` attribute: one multiscale of ``levels`` levels."""
    scale, translation = vectors
    multiscale = {
        "name": target.name.removesuffix(OME_ZARR_SUFFIX),
        "axes": [dict(axis) for axis in plan.axes],
        "datasets": [
            {
                "path": str(level),
                "coordinateTransformations": level_transforms(scale, translation, plan, level),
            }
            for level in range(levels)
        ],
    }
    ome: dict[str, Any] = {"version": NGFF_VERSION, "multiscales": [multiscale]}
    if volume.is_seg:
        ome["image-label"] = {}
    return ome


def _publish(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` folder to ``target``, replacing what is there."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def to_ome_zarr(
    image: MLArray,
    path: str | os.PathLike[str],
    *,
    levels: int = 1,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` as an OME-Zarr (NGFF 0.5) image.

    The group is written into a hidden folder next to ``path`` and moved into
    place when complete, so ``path`` never holds a partial image.

    Args:
        image: The image (with array data), as :func:`mlarray_io.load` gives it.
        path: The folder to write, ending with ``.ome.zarr``; its parent must exist.
        levels: Resolution levels: 1 writes the image alone, each further level
            halves the space axes (label maps, ``is_seg``, by the most frequent
            label of each block, images by the block mean).
        overwrite: Replace ``path`` if it exists.

    Returns:
        ``path`` as a Path.

    Raises:
        ArgumentTypeError: If ``image`` is not an MLArray (TypeError).
        ArgumentValueError: If ``levels`` is not a positive integer (ValueError).
        OutputExistsError: If ``path`` exists and ``overwrite`` is False.
        MLArrayFileError: If ``path`` does not end with ``.ome.zarr``, its folder
            does not exist or writing fails, a full disk say (RuntimeError).
        ImageFormatError: If the axes cannot be written in NGFF (ValueError).
        MissingDependencyError: If zarr or ome-zarr is not installed (ImportError).

    Warns:
        ObliqueGeometryWarning: If the scan's direction is not axis-aligned.
    """
    if not isinstance(image, MLArray):
        raise ArgumentTypeError(
            f"image: expected an MLArray, got {type(image).__name__}", path="image"
        )
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ArgumentValueError(
            f"levels: expected a positive integer, got {levels!r}", path="levels"
        )
    target = Path(path)
    if not is_ome_zarr(target):
        raise MLArrayFileError(f"{target}: an OME-Zarr image's name must end with .ome.zarr")
    if not target.parent.is_dir():
        raise MLArrayFileError(f"{target}: cannot write, folder {target.parent} does not exist")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise OutputExistsError(f"{target}: already exists; overwrite=True replaces it")
    zarr = require("zarr", EXTRA)
    volume = to_volume(image, str(target))
    plan = plan_axes(volume.labels, volume.units, volume.spatial_ndim, volume.where)
    scale, translation = _ngff_vectors(volume, plan)
    data = volume.array.transpose(plan.order)
    levels_data = pyramid(data, plan.spatial, levels=levels, labels=bool(volume.is_seg))
    with staging_folder(target) as staging:
        try:
            root = zarr.open_group(str(staging), mode="w", zarr_format=3)
            for level, array in enumerate(levels_data):
                _write_level(root, str(level), array, plan)
            ome = _ome(target, volume, plan, (scale, translation), levels)
            root.attrs.update({"ome": ome, KEPT: _kept(image, volume)})
            _publish(staging, target)
        except OSError as exc:
            raise output_failure(target, staging, exc) from exc
    return target


def from_ome_zarr(
    path: str | os.PathLike[str], *, level: int = 0, is_seg: bool | None = None
) -> MLArray:
    """Read an OME-Zarr image (NGFF 0.4 or 0.5) as an MLArray.

    The first multiscale image of the group is read, in nibabel's voxel order
    (space axes ``x, y(, z)``, then time, then channels) with its scale and
    translation as RAS+ geometry. A group written by :func:`to_ome_zarr` gives
    back the exact affine (oblique scans included), axis labels, units,
    ``meta.source``, ``meta.extra``, bounding boxes and ``is_seg``; elsewhere
    ``is_seg`` is True for an NGFF label image.

    Args:
        path: The ``.ome.zarr`` folder (any Zarr group holding ``multiscales``).
        level: The resolution level to read (0, the default, is the finest).
        is_seg: Mark the image as a label map (True) or not (False); None keeps
            what the group says.

    Returns:
        The image as an in-memory MLArray.

    Raises:
        SourceNotFoundError: If ``path`` does not exist (RuntimeError).
        ImageFormatError: If ``path`` is not an OME-Zarr image or its axes or
            transformations are not supported (ValueError).
        ArgumentValueError: If ``level`` is not one of the group's levels (ValueError).
        MissingDependencyError: If zarr is not installed (ImportError).
    """
    source = Path(path)
    if not source.exists():
        raise SourceNotFoundError(f"{source}: no such file or folder")
    root = open_group(source)
    attributes = dict(root.attrs)
    ome, multiscale = multiscale_of(attributes, str(source))
    datasets = multiscale.get("datasets") or []
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < len(datasets):
        raise ArgumentValueError(
            f"level: {source} has levels 0 to {len(datasets) - 1}, got {level!r}", path="level"
        )
    order, labels, units = read_axes(multiscale.get("axes"), str(source))
    space = order[: sum(label.startswith("spatial") for label in labels)]
    kept = attributes.get(KEPT)
    kept = kept if isinstance(kept, dict) and kept.get("version") == _KEPT_VERSION else {}
    vectors = [level_vectors(multiscale, index, len(order), str(source)) for index in (0, level)]
    affine = level_affine(kept.get("affine"), vectors[0], vectors[1], space, str(source))
    scale, translation = vectors[1]
    times = [axis for axis, label in zip(order, labels, strict=True) if label == TEMPORAL]
    time = [(scale[axis], translation[axis]) for axis in times]
    record = kept.get("source", {"ome_zarr": {"version": ome.get("version", "0.4")}})
    if kept and "time" not in record:
        time = []
    volume = Volume(
        array=read_level(root, datasets[level], len(order), str(source)).transpose(order),
        affine=affine,
        labels=kept.get("axis_labels", labels),
        units=kept.get("axis_units", units),
        source=record,
        where=str(source),
        image_format="ome-zarr",
        time=(float(time[0][0]), float(time[0][1])) if time else None,
        is_seg=kept.get("is_seg", "image-label" in ome),
    )
    image = from_volume(volume, is_seg=is_seg)
    if kept:
        image.meta.set_extra(kept.get("extra", {}))
        image.meta.set_bbox(kept.get("bbox", {}))
    return image
