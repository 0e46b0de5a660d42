"""What a conversion is asked to do, and its record in the output's metadata."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlarray_io._cast import parse_dtype

__all__ = ["RECORD_KEY", "ConversionOptions"]

RECORD_KEY = "conversion"
"""The ``meta.extra`` key of a ``.mla`` output that records the options it was made with."""


def _plain(value: Any) -> Any:
    """``value`` as JSON data (blosc2 enums by value, tuples as lists)."""
    return json.loads(json.dumps(value, default=lambda item: getattr(item, "value", str(item))))


@dataclasses.dataclass(frozen=True)
class ConversionOptions:
    """The options of one conversion.

    Attributes:
        backend: Library reading NIfTI (``"nibabel"``, ``"sitk"``; None: default).
        reorient: Reorient to the closest canonical RAS+ orientation.
        is_seg: The input is a label map (True), an image (False), or as its file
            says (None).
        series_id: The DICOM series to read, for folders holding several.
        patch_size: The training patch size ``.mla`` outputs are laid out for.
        cparams: A compression preset name or Blosc2 parameters for ``.mla`` outputs.
        stats: Compute statistics (``meta.stats``; label voxel counts and
            bounding boxes for label maps) into ``.mla`` outputs.
        cast: The dtype to convert the values to, or None to keep theirs.
        levels: Resolution levels of ``.ome.zarr`` outputs.
        extra: Entries added to the ``meta.extra`` of ``.mla`` outputs (nnU-Net
            channel and label names, say).
    """

    backend: str | None = None
    reorient: bool = False
    is_seg: bool | None = None
    series_id: str | None = None
    patch_size: int | Sequence[int] | str | None = "default"
    cparams: dict[str, Any] | str | None = None
    stats: bool = True
    cast: str | None = None
    levels: int = 1
    extra: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.cast is not None:
            object.__setattr__(self, "cast", str(parse_dtype(self.cast)))

    @property
    def cast_dtype(self) -> np.dtype[Any] | None:
        """The dtype to cast to, or None."""
        return None if self.cast is None else np.dtype(self.cast)

    def load_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`mlarray_io.load` that differ from its defaults."""
        given = {
            "backend": self.backend,
            "reorient": self.reorient or None,
            "is_seg": self.is_seg,
            "series_id": self.series_id,
        }
        return {name: value for name, value in given.items() if value is not None}

    def layout(self) -> dict[str, Any]:
        """``compress`` arguments for a ``.mla`` output; empty for the default layout."""
        if self.patch_size == "default" and self.cparams is None:
            return {}
        return {"patch_size": self.patch_size, "cparams": self.cparams}

    def record(self) -> dict[str, Any]:
        """Every option as JSON data, as recorded in ``meta.extra["conversion"]``."""
        record: dict[str, Any] = _plain(
            {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        )
        return record

    def with_is_seg(self, is_seg: bool | None) -> ConversionOptions:
        """These options for an input known to be a label map (True) or not."""
        return dataclasses.replace(self, is_seg=is_seg)

    def with_extra(self, extra: dict[str, Any]) -> ConversionOptions:
        """These options, adding ``extra`` to the outputs' ``meta.extra``."""
        return dataclasses.replace(self, extra={**(self.extra or {}), **extra})
