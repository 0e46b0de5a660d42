"""NIfTI headers as JSON-safe data and back, bit for bit.

``meta.source["nifti"]`` holds every header field under its nibabel name
(``"header"``), the byte order (``"endianness"``) and the header extensions
(``"extensions"``). Strings are decoded as Latin-1 (one character per byte, so
any byte string survives), floats that are NaN or infinite become None (None is
restored as NaN), extension contents are kept as UTF-8 text when they are text
and as base64 otherwise.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from mlarray_io._optional import require

__all__ = [
    "NIFTI_INTENT_LABEL",
    "SPACE_UNITS",
    "TIME_UNITS",
    "NiftiHeader",
    "NiftiImage",
    "header_from_source",
    "header_to_source",
]

NiftiHeader: TypeAlias = Any
"""A ``nibabel.Nifti1Header`` or ``Nifti2Header`` (nibabel is imported lazily and not typed)."""
NiftiImage: TypeAlias = Any
"""A ``nibabel.Nifti1Image`` or ``Nifti2Image``."""

NIFTI_INTENT_LABEL = 1002
"""The ``intent_code`` of a label map."""
SPACE_UNITS = {"mm": "mm", "meter": "m", "micron": "um"}
"""nibabel's names of the NIfTI length units and their ``axis_units`` spelling."""
TIME_UNITS = {"sec": "s", "msec": "ms", "usec": "us", "hz": "Hz", "ppm": "ppm", "rads": "rad/s"}
"""nibabel's names of the NIfTI time units and their ``axis_units`` spelling."""

_NIFTI2_SIZEOF_HDR = 540


def _plain(value: Any) -> Any:
    """One header field as JSON data."""
    array = np.asarray(value)
    if array.dtype.kind == "S":
        return bytes(array.item()).decode("latin-1")
    if array.dtype.kind == "f":
        return _finite_or_none(array.tolist())
    return array.tolist()


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value if math.isfinite(value) else None


def _restored(value: Any, dtype: np.dtype[Any]) -> Any:
    """One JSON field back in the header's type (inverse of :func:`_plain`)."""
    if dtype.kind == "S":
        return str(value).encode("latin-1")
    if dtype.kind == "f":
        return np.array(value, dtype=object).astype(np.float64)
    return value


def _extension_to_json(code: int, content: bytes) -> dict[str, Any]:
    try:
        return {"code": code, "text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"code": code, "base64": base64.b64encode(content).decode("ascii")}


def _extension_content(entry: Mapping[str, Any]) -> bytes:
    if "text" in entry:
        return str(entry["text"]).encode("utf-8")
    return base64.b64decode(str(entry["base64"]))


def header_to_source(header: NiftiHeader) -> dict[str, Any]:
    """The JSON-safe form of a NIfTI-1 or NIfTI-2 header (``meta.source["nifti"]``)."""
    return {
        "header": {name: _plain(header[name]) for name in header.keys()},  # noqa: SIM118
        "endianness": header.endianness,
        "extensions": [
            _extension_to_json(ext.get_code(), ext.content) for ext in header.extensions
        ],
    }


def header_from_source(nifti: Mapping[str, Any]) -> NiftiHeader:
    """Rebuild the header that :func:`header_to_source` described.

    Fields missing from ``nifti["header"]`` keep nibabel's defaults.
    """
    nib = require("nibabel", "nibabel")
    fields = nifti.get("header", {})
    is_nifti2 = fields.get("sizeof_hdr") == _NIFTI2_SIZEOF_HDR
    klass = nib.Nifti2Header if is_nifti2 else nib.Nifti1Header
    header = klass(endianness=nifti.get("endianness"))
    for name in klass.template_dtype.names:
        if name in fields:
            header[name] = _restored(fields[name], header[name].dtype)
    for entry in nifti.get("extensions", []):
        header.extensions.append(
            nib.nifti1.Nifti1Extension(int(entry["code"]), _extension_content(entry))
        )
    return header
