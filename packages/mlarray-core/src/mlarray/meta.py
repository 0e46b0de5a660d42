"""The metadata schema, re-exported from ``mlarray_meta``.

``mlarray.meta.Meta`` and friends are the very classes of ``mlarray_meta``; see
that package for the documentation of every section.
"""

from __future__ import annotations

from mlarray_meta import (
    AxisLabel,
    AxisLabelEnum,
    BaseMeta,
    CoordSystem,
    CoordSystemEnum,
    Meta,
    MetaBbox,
    MetaBlosc2,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaSpatial,
    MetaStatistics,
    MetaVersion,
    SingleKeyBaseMeta,
)

__all__ = [
    "AxisLabel",
    "AxisLabelEnum",
    "BaseMeta",
    "CoordSystem",
    "CoordSystemEnum",
    "Meta",
    "MetaBbox",
    "MetaBlosc2",
    "MetaExtra",
    "MetaHasArray",
    "MetaImageFormat",
    "MetaIsSeg",
    "MetaSource",
    "MetaSpatial",
    "MetaStatistics",
    "MetaVersion",
    "SingleKeyBaseMeta",
]
