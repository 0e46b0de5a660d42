"""mlarray: N-dimensional medical images in Blosc2-compressed ``.mla`` files.

``MLArray`` holds an array with its geometry and metadata; files open memory-mapped
so that random patches are read without loading the volume.
"""

from __future__ import annotations

# First of all: refuse to run from files that the old `mlarray` distribution mixed in.
from mlarray import _clash  # noqa: F401
from mlarray._remote import BlockCache
from mlarray._version import __version__
from mlarray.chunking import MLARRAY_DEFAULT_PATCH_SIZE, comp_blosc2_params
from mlarray.errors import MLArrayError
from mlarray.meta import (
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
from mlarray.mlarray import MLArray
from mlarray_meta import is_json_safe as is_serializable
from mlarray_meta.errors import MetaCompatibilityWarning

__all__ = [
    "MLARRAY_DEFAULT_PATCH_SIZE",
    "AxisLabel",
    "AxisLabelEnum",
    "BaseMeta",
    "BlockCache",
    "CoordSystem",
    "CoordSystemEnum",
    "MLArray",
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
    "comp_blosc2_params",
    "is_serializable",
]
