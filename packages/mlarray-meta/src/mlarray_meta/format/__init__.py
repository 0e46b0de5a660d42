"""The bytes of a ``.mla`` file, read with the standard library alone.

A ``.mla`` file is one Blosc2 contiguous frame. This subpackage parses it: the
frame's header and trailer (:mod:`._cframe`), the ``b2nd`` metalayer
(:mod:`._b2nd`), the chunks holding variable-length metadata (:mod:`._chunk`) and
the msgpack they are encoded in (:mod:`._msgpack`). :func:`read_frame` puts them
together; the metadata schema itself lives in the rest of ``mlarray_meta``.
``docs/format.md`` describes the byte layout.
"""

from __future__ import annotations

from mlarray_meta.format._frame import (
    MAX_HEADER_BYTES,
    MAX_TRAILER_BYTES,
    MAX_VLMETA_BYTES,
    ChunkDecoder,
    FrameInfo,
    parse_frame,
    read_frame,
    read_frame_descriptor,
)

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_TRAILER_BYTES",
    "MAX_VLMETA_BYTES",
    "ChunkDecoder",
    "FrameInfo",
    "parse_frame",
    "read_frame",
    "read_frame_descriptor",
]
