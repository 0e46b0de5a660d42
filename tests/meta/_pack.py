"""A minimal msgpack encoder for building test inputs (the package only decodes)."""

from __future__ import annotations

import struct
from typing import Any

from mlarray_meta.format._msgpack import Ext


def _sized(small: int, fix_limit: int, markers: tuple[int, int, int], size: int) -> bytes:
    if size < fix_limit:
        return bytes([small | size])
    for marker, fmt in zip(markers, (">B", ">H", ">I"), strict=True):
        if marker and size < 256 ** struct.calcsize(fmt):
            return bytes([marker]) + struct.pack(fmt, size)
    raise ValueError(size)


def packb(obj: Any) -> bytes:
    """Encode ``obj`` with the smallest msgpack representation."""
    if obj is None:
        return b"\xc0"
    if obj is True or obj is False:
        return b"\xc3" if obj else b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj < 128 or -32 <= obj < 0:
            return struct.pack(">b" if obj < 0 else ">B", obj)
        for marker, fmt in ((0xCC, ">B"), (0xCD, ">H"), (0xCE, ">I"), (0xCF, ">Q")):
            if 0 <= obj < 256 ** struct.calcsize(fmt):
                return bytes([marker]) + struct.pack(fmt, obj)
        for marker, fmt in ((0xD0, ">b"), (0xD1, ">h"), (0xD2, ">i"), (0xD3, ">q")):
            bound = 2 ** (8 * struct.calcsize(fmt) - 1)
            if -bound <= obj < bound:
                return bytes([marker]) + struct.pack(fmt, obj)
        raise ValueError(obj)
    if isinstance(obj, float):
        return b"\xcb" + struct.pack(">d", obj)
    if isinstance(obj, str):
        data = obj.encode()
        return _sized(0xA0, 32, (0xD9, 0xDA, 0xDB), len(data)) + data
    if isinstance(obj, bytes):
        return _sized(0, 0, (0xC4, 0xC5, 0xC6), len(obj)) + obj
    if isinstance(obj, Ext):
        fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
        if len(obj.data) in fixed:
            head = bytes([fixed[len(obj.data)]])
        else:
            head = _sized(0, 0, (0xC7, 0xC8, 0xC9), len(obj.data))
        return head + struct.pack(">b", obj.code) + obj.data
    if isinstance(obj, list | tuple):
        return _sized(0x90, 16, (0, 0xDC, 0xDD), len(obj)) + b"".join(map(packb, obj))
    if isinstance(obj, dict):
        head = _sized(0x80, 16, (0, 0xDE, 0xDF), len(obj))
        return head + b"".join(packb(k) + packb(v) for k, v in obj.items())
    raise TypeError(type(obj).__name__)
