"""One nnU-Net case's channel files as one ``.mla`` (channel axis first), and back.

A case's image is stacked as ``(C, X, Y, Z)`` with ``axis_labels`` ``["channel",
"spatial_x", "spatial_y", "spatial_z"]`` and the geometry of its first channel
(nnU-Net requires the channels of a case to share it). Everything needed to
write the channel files back exactly is kept in ``meta.source["nnunet"]``: the
case, the file ending, and for every channel its file name, dtype and source
header (``{"file", "dtype", "source"}``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import mlarray_io
from mlarray import MLArray
from mlarray._file_metadata import read_file_header
from mlarray.meta import Meta, MetaIsSeg, MetaSource, MetaSpatial
from mlarray_io._cast import cast_values, parse_dtype
from mlarray_io._options import ConversionOptions
from mlarray_io._orientation import CHANNEL, UNKNOWN_UNIT
from mlarray_io.convert import conversion_errors, save_atomically, save_converted
from mlarray_io.errors import ImageFormatError, SourceNotFoundError
from mlarray_meta.spatial import is_spatial_label

__all__ = ["NNUNET_KEY", "CaseExportJob", "CaseImportJob", "channel_files"]

NNUNET_KEY = "nnunet"
"""The ``meta.source`` key of a case image's channel records."""
_SAME_GEOMETRY = 1e-5
"""How far (mm) the affines of a case's channels may differ (nnU-Net's own check is looser)."""
_GEOMETRY_FIELDS = ("spacing", "origin", "direction", "affine")


def _with_axes(spatial: MetaSpatial, labels: list[str], units: list[str] | None) -> MetaSpatial:
    """The geometry and world frame of ``spatial`` with other axis labels and units."""
    geometry = {name: getattr(spatial, name) for name in _GEOMETRY_FIELDS}
    return MetaSpatial(
        **{name: value for name, value in geometry.items() if value is not None},
        axis_labels=labels,
        axis_units=units,
        coord_system=spatial.coord_system,
    )


def _checked(channels: list[MLArray], files: tuple[Path, ...], case: str) -> None:
    """Refuse channels that are not plain spatial images on one grid."""
    first = channels[0]
    for channel, file in zip(channels, files, strict=True):
        labels = channel.meta.spatial.axis_labels or []
        if not all(is_spatial_label(str(label)) for label in labels):
            raise ImageFormatError(
                f"{file}: an nnU-Net channel holds spatial axes only, got {labels}"
            )
        affine, expected = np.asarray(channel.affine), np.asarray(first.affine)
        same = channel.shape == first.shape and np.allclose(
            affine, expected, rtol=0, atol=_SAME_GEOMETRY
        )
        if not same:
            raise ImageFormatError(
                f"{file}: case {case!r} channel has shape {channel.shape} and affine "
                f"{np.round(affine, 6).tolist()}, but {files[0].name} has "
                f"{first.shape} and {np.round(expected, 6).tolist()}"
            )


def stacked(channels: list[MLArray], files: tuple[Path, ...], case: str, ending: str) -> MLArray:
    """The channels of ``case`` as one image, channel axis first.

    Raises:
        ImageFormatError: If the channels differ in shape or geometry, or hold
            non-spatial axes.
    """
    _checked(channels, files, case)
    first = channels[0]
    spatial = first.meta.spatial
    records = [
        {"file": file.name, "dtype": str(channel.dtype), "source": channel.meta.source.to_plain()}
        for channel, file in zip(channels, files, strict=True)
    ]
    meta = Meta(
        source=MetaSource({NNUNET_KEY: {"case": case, "file_ending": ending, "channels": records}}),
        spatial=_with_axes(
            spatial,
            [CHANNEL, *(spatial.axis_labels or [])],
            None if spatial.axis_units is None else [UNKNOWN_UNIT, *spatial.axis_units],
        ),
        is_seg=MetaIsSeg(False),
    )
    values = np.stack([channel.to_numpy() for channel in channels])
    image = MLArray(values, meta=meta, compressed=False)
    format_ = first.meta._image_meta_format.value
    image.meta._set_facts(replace(image.meta._facts, image_meta_format=format_))
    return image


def _records(image_meta: Meta, count: int) -> list[dict[str, Any]]:
    found = image_meta.source.value.get(NNUNET_KEY, {}).get("channels")
    if isinstance(found, list) and len(found) == count:
        return found
    return [{} for _ in range(count)]


def channel_files(path: Path, case: str, ending: str) -> list[str]:
    """The names of the channel files a case image is written back as (header only).

    They are the recorded names; a missing or unsafe one is ``<case>_<XXXX><ending>``.
    """
    header = read_file_header(path)
    count = header.shape[0] if header.shape else 0
    return [
        _plain_name(record.get("file")) or f"{case}_{index:04d}{ending}"
        for index, record in enumerate(_records(header.meta, count))
    ]


def _plain_name(name: Any) -> str | None:
    """``name`` if it names a file in the folder itself (not ``../x``, not hidden), else None.

    The names come from a file's metadata: a file from a stranger must not make
    an export write elsewhere.
    """
    if isinstance(name, str) and name == Path(name).name and not name.startswith("."):
        return name
    return None


def split(image: MLArray, where: str) -> list[MLArray]:
    """The channel images of a case image, each with its own dtype and source header.

    Raises:
        ImageFormatError: If the first axis is not a channel axis.
    """
    spatial = image.meta.spatial
    labels = [str(label) for label in spatial.axis_labels or []]
    if not labels or labels[0] != CHANNEL:
        raise ImageFormatError(
            f"{where}: expected a case image with a first 'channel' axis, got {labels}"
        )
    values = image.to_numpy()
    units = None if spatial.axis_units is None else list(spatial.axis_units[1:])
    channels = []
    for index, record in enumerate(_records(image.meta, values.shape[0])):
        dtype = parse_dtype(str(record.get("dtype", values.dtype)))
        meta = Meta(
            source=MetaSource(record.get("source") or {}),
            spatial=_with_axes(spatial, labels[1:], units),
            is_seg=MetaIsSeg(False),
        )
        channel = cast_values(np.ascontiguousarray(values[index]), dtype, where)
        channels.append(MLArray(channel, meta=meta, compressed=False))
    return channels


@dataclass(frozen=True)
class CaseImportJob:
    """The channel files of one case to one ``.mla``.

    Attributes:
        case: The case identifier.
        channels: Its channel files, in channel order (some may be missing).
        output: The ``.mla`` to write.
        options: How to convert (``is_seg`` False; ``extra`` holds the channel names).
        ending: The dataset's file ending.
    """

    case: str
    channels: tuple[Path, ...]
    output: Path
    options: ConversionOptions
    ending: str

    @property
    def source(self) -> Path:
        """The first channel file, naming the case in records."""
        return self.channels[0]

    @property
    def sources(self) -> tuple[Path, ...]:
        """The channel files that exist."""
        return tuple(path for path in self.channels if path.exists())

    def record(self) -> dict[str, Any]:
        """The options recorded in the output."""
        return self.options.record()

    def run(self, *, overwrite: bool) -> None:
        """Load every channel, stack them and save the case image."""
        missing = [path.name for path in self.channels if not path.exists()]
        if missing:
            raise SourceNotFoundError(
                f"{self.source.parent}: case {self.case!r} lacks channel files {missing}"
            )
        with conversion_errors(self.source, self.output):
            loaded = [
                mlarray_io.load(path, **self.options.load_options()) for path in self.channels
            ]
            image = stacked(loaded, self.channels, self.case, self.ending)
            save_converted(image, self.output, self.options, where=str(self.source))


@dataclass(frozen=True)
class CaseExportJob:
    """One case ``.mla`` back to its channel files.

    Attributes:
        source: The case image.
        outputs: The channel files to write, in channel order.
    """

    source: Path
    outputs: tuple[Path, ...]

    @property
    def output(self) -> Path:
        """The first channel file, written last: when it exists, all do."""
        return self.outputs[0]

    @property
    def sources(self) -> tuple[Path, ...]:
        """The case image."""
        return (self.source,)

    def record(self) -> None:
        """Image files have no room to record options."""

    def run(self, *, overwrite: bool) -> None:
        """Write every channel file, the first one last."""
        with conversion_errors(self.source, self.output):
            channels = split(MLArray.load(self.source), str(self.source))
            for channel, path in reversed(list(zip(channels, self.outputs, strict=True))):
                save_atomically(channel, path, {})
