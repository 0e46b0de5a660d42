"""mlarray-meta: the metadata layer of the ``.mla`` format, standard library only.

Everything here works without numpy or blosc2, so services can read and write
``.mla`` metadata with nothing else installed.
"""

from __future__ import annotations

from mlarray_meta._base import BaseMeta, SingleKeyBaseMeta
from mlarray_meta._json import is_json_safe
from mlarray_meta._version import __version__
from mlarray_meta.errors import MetaCompatibilityWarning, MLArrayError
from mlarray_meta.header import Header, read_header
from mlarray_meta.meta import Meta
from mlarray_meta.sections import (
    MetaBbox,
    MetaBlosc2,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaStatistics,
    MetaVersion,
)
from mlarray_meta.spatial import (
    AxisLabel,
    AxisLabelEnum,
    CoordSystem,
    CoordSystemEnum,
    MetaSpatial,
)

__all__ = [
    "AxisLabel",
    "AxisLabelEnum",
    "BaseMeta",
    "CoordSystem",
    "CoordSystemEnum",
    "Header",
    "MLArrayError",
    "Meta",
    "MetaBbox",
    "MetaBlosc2",
    "MetaCompatibilityWarning",
    "MetaExtra",
    "MetaHasArray",
    "MetaImageFormat",
    "MetaIsSeg",
    "MetaSource",
    "MetaSpatial",
    "MetaStatistics",
    "MetaVersion",
    "SingleKeyBaseMeta",
    "__version__",
    "is_json_safe",
    "read_header",
]
