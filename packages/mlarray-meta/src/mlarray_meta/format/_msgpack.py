"""A small, defensive msgpack decoder (standard library only).

Blosc2 frames store their header, trailer and metadata values as msgpack. This
decoder reads the whole msgpack type system except the timestamp interpretation
of extension ``-1`` (every extension comes back as :class:`Ext`). It is written
for untrusted input:

* every length is checked against the bytes actually present *before* anything
  is sliced or allocated, so a length field claiming 4 GiB in a 100-byte buffer
  fails at once;
* containers are built element by element, never pre-sized from a count;
* nesting deeper than ``max_depth`` is refused (no ``RecursionError``);
* map keys must be hashable scalars and unique;
* every failure is a :class:`~mlarray_meta.errors.FileFormatError` naming the
  source and the byte offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

from mlarray_meta.errors import FileFormatError

__all__ = ["DEFAULT_MAX_DEPTH", "Ext", "unpack_from", "unpackb"]

DEFAULT_MAX_DEPTH: Final = 64
"""Deepest container nesting accepted by default."""

# Fixed-width scalars: marker -> (struct format, size in bytes).
_SCALARS: Final[dict[int, tuple[str, int]]] = {
    0xCA: (">f", 4),
    0xCB: (">d", 8),
    0xCC: (">B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">Q", 8),
    0xD0: (">b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
}
# Variable-length strings, binaries and extensions: marker -> width of the length field.
_STR_LENGTH: Final = {0xD9: 1, 0xDA: 2, 0xDB: 4}
_BIN_LENGTH: Final = {0xC4: 1, 0xC5: 2, 0xC6: 4}
_EXT_LENGTH: Final = {0xC7: 1, 0xC8: 2, 0xC9: 4}
_FIXEXT_LENGTH: Final = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_ARRAY_LENGTH: Final = {0xDC: 2, 0xDD: 4}
_MAP_LENGTH: Final = {0xDE: 2, 0xDF: 4}
_UINT: Final = {1: ">B", 2: ">H", 4: ">I"}


@dataclass(frozen=True, slots=True)
class Ext:
    """A msgpack extension value, kept undecoded.

    Attributes:
        code: The application-defined type code (-128..127).
        data: The extension payload.
    """

    code: int
    data: bytes


_KEY_TYPES: Final = (str, int, float, bool, bytes, type(None), Ext)


class _Decoder:
    """Decodes msgpack values from one buffer, tracking the read position."""

    def __init__(self, data: bytes, *, source: str, max_depth: int) -> None:
        self.data = data
        self.source = source
        self.max_depth = max_depth

    def fail(self, problem: str, offset: int) -> FileFormatError:
        return FileFormatError(f"{self.source}: invalid msgpack: {problem} at byte {offset}")

    def take(self, pos: int, size: int, what: str) -> int:
        """Return the end of ``size`` bytes at ``pos``; fail if they are not all present."""
        end = pos + size
        if end > len(self.data):
            available = len(self.data) - pos
            raise self.fail(f"{what} needs {size} bytes but only {available} remain", pos)
        return end

    def length(self, pos: int, width: int) -> tuple[int, int]:
        end = self.take(pos, width, "length field")
        (value,) = struct.unpack_from(_UINT[width], self.data, pos)
        return int(value), end

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        start = pos
        end = self.take(pos, 1, "type marker")
        marker = self.data[pos]
        pos = end
        if marker <= 0x7F:
            return marker, pos
        if marker >= 0xE0:
            return marker - 0x100, pos
        if 0xA0 <= marker <= 0xBF:
            return self.text(pos, marker & 0x1F, start)
        if 0x90 <= marker <= 0x9F:
            return self.array(pos, marker & 0x0F, depth, start)
        if 0x80 <= marker <= 0x8F:
            return self.mapping(pos, marker & 0x0F, depth, start)
        if marker == 0xC0:
            return None, pos
        if marker in (0xC2, 0xC3):
            return marker == 0xC3, pos
        if marker in _SCALARS:
            fmt, size = _SCALARS[marker]
            end = self.take(pos, size, "number")
            return struct.unpack_from(fmt, self.data, pos)[0], end
        if marker in _STR_LENGTH:
            size, pos = self.length(pos, _STR_LENGTH[marker])
            return self.text(pos, size, start)
        if marker in _BIN_LENGTH:
            size, pos = self.length(pos, _BIN_LENGTH[marker])
            end = self.take(pos, size, "binary")
            return self.data[pos:end], end
        if marker in _ARRAY_LENGTH:
            count, pos = self.length(pos, _ARRAY_LENGTH[marker])
            return self.array(pos, count, depth, start)
        if marker in _MAP_LENGTH:
            count, pos = self.length(pos, _MAP_LENGTH[marker])
            return self.mapping(pos, count, depth, start)
        if marker in _FIXEXT_LENGTH:
            return self.ext(pos, _FIXEXT_LENGTH[marker])
        if marker in _EXT_LENGTH:
            size, pos = self.length(pos, _EXT_LENGTH[marker])
            return self.ext(pos, size)
        raise self.fail(f"reserved type marker 0x{marker:02x}", start)

    def text(self, pos: int, size: int, start: int) -> tuple[str, int]:
        end = self.take(pos, size, "string")
        try:
            return self.data[pos:end].decode("utf-8"), end
        except UnicodeDecodeError as exc:
            raise self.fail(f"string is not valid UTF-8 ({exc.reason})", start) from None

    def ext(self, pos: int, size: int) -> tuple[Ext, int]:
        end = self.take(pos, 1 + size, "extension")
        code = struct.unpack_from(">b", self.data, pos)[0]
        return Ext(code, self.data[pos + 1 : end]), end

    def enter(self, count: int, per_item: int, pos: int, depth: int, start: int) -> None:
        if depth >= self.max_depth:
            raise self.fail(f"containers nested deeper than {self.max_depth} levels", start)
        # Every element takes at least one byte: refuse counts the buffer cannot hold.
        remaining = len(self.data) - pos
        if count * per_item > remaining:
            raise self.fail(
                f"container claims {count} entries but only {remaining} bytes remain", start
            )

    def array(self, pos: int, count: int, depth: int, start: int) -> tuple[list[Any], int]:
        self.enter(count, 1, pos, depth, start)
        items: list[Any] = []
        for _ in range(count):
            item, pos = self.value(pos, depth + 1)
            items.append(item)
        return items, pos

    def mapping(self, pos: int, count: int, depth: int, start: int) -> tuple[dict[Any, Any], int]:
        self.enter(count, 2, pos, depth, start)
        result: dict[Any, Any] = {}
        for _ in range(count):
            key_at = pos
            key, pos = self.value(pos, depth + 1)
            if not isinstance(key, _KEY_TYPES):
                raise self.fail(f"map key of type {type(key).__name__} is not allowed", key_at)
            if key in result:
                raise self.fail(f"duplicate map key {key!r}", key_at)
            result[key], pos = self.value(pos, depth + 1)
        return result, pos


def unpack_from(
    data: bytes,
    offset: int = 0,
    *,
    source: str = "msgpack data",
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> tuple[Any, int]:
    """Decode the one msgpack value that starts at ``offset``.

    Args:
        data: The buffer holding the value (and possibly more after it).
        offset: Where the value starts.
        source: Names the data in error messages (e.g. ``"x.mla: vlmeta 'mla'"``).
        max_depth: Deepest container nesting accepted.

    Returns:
        The decoded value and the offset just past it. Arrays decode to ``list``, maps to
        ``dict``, str to ``str``, bin to ``bytes``, extensions to :class:`Ext`.

    Raises:
        FileFormatError: The bytes are not one valid msgpack value.
    """
    decoder = _Decoder(
        data if isinstance(data, bytes) else bytes(data), source=source, max_depth=max_depth
    )
    if not 0 <= offset <= len(decoder.data):
        raise decoder.fail(f"start offset outside a buffer of {len(decoder.data)} bytes", offset)
    return decoder.value(offset, 0)


def unpackb(
    data: bytes, *, source: str = "msgpack data", max_depth: int = DEFAULT_MAX_DEPTH
) -> Any:
    """Decode a buffer that holds exactly one msgpack value.

    Args:
        data: The msgpack bytes.
        source: Names the data in error messages.
        max_depth: Deepest container nesting accepted.

    Returns:
        The decoded value (see :func:`unpack_from`).

    Raises:
        FileFormatError: The bytes are not exactly one valid msgpack value.
    """
    value, end = unpack_from(data, 0, source=source, max_depth=max_depth)
    if end != len(data):
        raise FileFormatError(
            f"{source}: invalid msgpack: {len(data) - end} unexpected bytes after the value "
            f"at byte {end}"
        )
    return value
