"""Reading the parts of an OME-Zarr group: its multiscale metadata, levels and geometry."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray_io._ngff import scale_translation
from mlarray_io._optional import require
from mlarray_io.errors import ImageFormatError, ObliqueGeometryWarning

__all__ = [
    "EXTRA",
    "KEPT",
    "level_affine",
    "level_vectors",
    "multiscale_of",
    "open_group",
    "read_level",
]

EXTRA = '"mlarray-io[zarr]"'
"""What to ``pip install`` for OME-Zarr."""
KEPT = "mlarray"
"""The group attribute holding what NGFF cannot say (exact affine, labels, metadata)."""


def open_group(source: Path) -> Any:
    zarr = require("zarr", EXTRA)
    try:
        return zarr.open_group(str(source), mode="r")
    except Exception as exc:  # zarr has several errors for a folder that is no group
        raise ImageFormatError(f"{source}: not a Zarr group ({type(exc).__name__}: {exc})") from exc


def multiscale_of(attributes: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OME metadata (NGFF 0.5 ``ome`` key, or the attributes for 0.4) and its image."""
    ome = attributes.get("ome", attributes)
    multiscales = ome.get("multiscales") if isinstance(ome, dict) else None
    if not isinstance(multiscales, list) or not multiscales or not isinstance(multiscales[0], dict):
        raise ImageFormatError(f"{where}: not an OME-Zarr image (no multiscales metadata)")
    return ome, multiscales[0]


def read_level(root: Any, dataset: Any, ndim: int, where: str) -> npt.NDArray[Any]:
    try:
        array = np.asarray(root[dataset["path"]][...])
    except Exception as exc:  # a missing or undecodable array
        raise ImageFormatError(
            f"{where}: cannot read dataset {dataset!r} ({type(exc).__name__}: {exc})"
        ) from exc
    if array.ndim != ndim:
        raise ImageFormatError(f"{where}: {ndim} axes but dataset {dataset!r} has {array.ndim}")
    return array


def level_vectors(multiscale: dict[str, Any], level: int, ndim: int, where: str) -> Any:
    """Scale and translation of ``level``: its own, then the multiscale's shared ones."""
    scale, translation = scale_translation(
        multiscale["datasets"][level].get("coordinateTransformations"), ndim, where
    )
    shared_scale, shared_translation = scale_translation(
        multiscale.get("coordinateTransformations"), ndim, where
    )
    return scale * shared_scale, translation * shared_scale + shared_translation


def level_affine(
    kept_affine: Any, level0: Any, level: Any, space: list[int], where: str
) -> npt.NDArray[np.float64]:
    """The RAS+ affine of a level: the kept one when NGFF still agrees with it."""
    (scale0, translation0), (scale, translation) = level0, level
    n = len(space)
    ngff = np.eye(n + 1)
    ngff[:n, :n] = np.diag(scale[space])
    ngff[:n, n] = translation[space]
    if kept_affine is None:
        return ngff
    kept = np.asarray(kept_affine, dtype=np.float64)
    agrees = kept.shape == (n + 1, n + 1) and (
        np.allclose(np.linalg.norm(kept[:n, :n], axis=0), np.abs(scale0[space]))
        and np.allclose(kept[:n, n], translation0[space])
    )
    if not agrees:
        warnings.warn(
            ObliqueGeometryWarning(
                f"{where}: the affine kept in the '{KEPT}' attribute no longer matches the "
                "NGFF scale and translation (changed by another tool); using NGFF's"
            ),
            stacklevel=4,
        )
        return ngff
    to_level0 = np.eye(n + 1)
    to_level0[:n, :n] = np.diag(scale[space] / scale0[space])
    to_level0[:n, n] = (translation[space] - translation0[space]) / scale0[space]
    return kept @ to_level0
