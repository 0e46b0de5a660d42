"""The private helpers of mlarray-core that training uses, imported in this one place.

Everything else in :mod:`mlarray.training` uses MLArray's public API (and the
foreground index store, which core keeps current when a file is finalised); when
core's internals move, only these imports change.
"""

from __future__ import annotations

from mlarray._header import _set_raw_vlmeta as set_raw_vlmeta
from mlarray._header import read_file_header
from mlarray._integrity import chunk_checksums
from mlarray._opened import open_file
from mlarray._staging import _process_alive as process_alive
from mlarray._staging import atomic_write
from mlarray._storage import MLA_SUFFIX, check_mla_path

__all__ = [
    "MLA_SUFFIX",
    "atomic_write",
    "check_mla_path",
    "chunk_checksums",
    "open_file",
    "process_alive",
    "read_file_header",
    "set_raw_vlmeta",
]
