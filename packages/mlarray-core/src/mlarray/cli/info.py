"""``mlarray info FILE``: a summary of layout, compression and geometry."""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from mlarray import _spatial_properties
from mlarray._frame_check import parse_dtype
from mlarray.cli.header import read_checked

__all__ = ["register", "run", "summary"]


def register(subcommands: Any) -> None:
    """Add the ``info`` subcommand."""
    parser = subcommands.add_parser(
        "info",
        help="summarise layout, compression and geometry of .mla files",
        description="Shape, dtype, chunks/blocks, codec, ratio, sizes and geometry, "
        "read from the header only.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=".mla files, or their URLs")
    parser.set_defaults(func=run)


def _size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{nbytes} B"
        value /= 1024
    raise AssertionError("unreachable")


def summary(name: str) -> list[tuple[str, str]]:
    """Return the ``(label, value)`` lines that ``mlarray info`` prints for one file."""
    header = read_checked(name)
    mapping, meta = header.mapping, header.meta
    frame = mapping.frame
    spatial = meta.spatial
    has_array = bool(meta._has_array.value)
    dtype = parse_dtype(mapping.dtype)
    data_bytes = math.prod(mapping.shape) * dtype.itemsize
    ratio = f"{data_bytes / frame.cbytes:.2f}x" if frame.cbytes else "n/a"
    mask = spatial.spatial_axis_mask
    spatial_ndim = len(mapping.shape) if mask is None else sum(mask)
    affine = _spatial_properties.affine_of(spatial, spatial_ndim if has_array else None)
    return [
        ("file", mapping.path),
        ("array", f"{list(mapping.shape)} {dtype}" if has_array else "none"),
        ("chunks / blocks", f"{list(mapping.chunks)} / {list(mapping.blocks)}"),
        ("codec", f"{frame.codec} clevel {frame.clevel}"),
        ("size", f"{_size(data_bytes)} data, {_size(frame.cbytes)} compressed, "
                 f"{_size(frame.frame_length)} on disk (ratio {ratio})"),
        ("axis labels", str(spatial.axis_labels or "all spatial")),
        ("spacing", str(spatial.spacing)),
        ("origin", str(spatial.origin)),
        ("direction", str(spatial.direction)),
        ("affine", "none" if affine is None else np.array2string(affine, precision=4)),
        ("coord system", str(spatial.coord_system)),
        ("segmentation", str(meta.is_seg.value)),
        ("checksums", "per chunk (crc32)" if mapping.integrity else "none"),
        ("metadata", f"{mapping.origin or 'none'}, written by mlarray "
                     f"{meta._mlarray_version.value or 'unknown'}"),
    ]  # fmt: skip


def run(arguments: argparse.Namespace) -> int:
    """Print the summary of each file."""
    for index, name in enumerate(arguments.files):
        if index:
            print()
        for label, value in summary(name):
            value = value.replace("\n", "\n" + " " * 17)
            print(f"{label + ':':<16} {value}")
    return 0
