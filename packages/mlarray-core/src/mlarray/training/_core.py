"""The private helpers of mlarray-core that training uses, imported in this one place.

Everything else in :mod:`mlarray.training` uses MLArray's public API; when core's
internals move, only this module changes. (The foreground index store lives in
core because core keeps the index current when a file is finalised.)
"""

from __future__ import annotations

from typing import Any

from mlarray._file_metadata import read_file_header, set_raw_vlmeta
from mlarray._index_store import (
    INDEX_KEY,
    ForegroundIndex,
    LabelIndex,
    chunks_fingerprint,
    decode_index,
    encode_index,
)
from mlarray._integrity import chunk_checksums, describe_chunk, record_problem
from mlarray._local_file import EditedFile
from mlarray._opened import open_file
from mlarray._paths import MLA_SUFFIX, check_mla_path
from mlarray._staging import _process_alive as process_alive
from mlarray._staging import atomic_write
from mlarray.mlarray import MLArray

__all__ = [
    "INDEX_KEY",
    "MLA_SUFFIX",
    "ForegroundIndex",
    "LabelIndex",
    "atomic_write",
    "check_mla_path",
    "chunk_checksums",
    "chunks_fingerprint",
    "decode_index",
    "describe_chunk",
    "edit_working_copy",
    "encode_index",
    "open_file",
    "process_alive",
    "read_file_header",
    "record_problem",
    "set_raw_vlmeta",
]


def edit_working_copy(array: MLArray) -> Any | None:
    """The blosc2 working copy of ``array``'s open edit (writes go there).

    None when no edit of a file holding an array is open.
    """
    backing = array._backing
    if not isinstance(backing, EditedFile) or not backing.edits or backing.shape is None:
        return None
    return backing.working_copy()
