"""Conversion of nested data to plain JSON-like builtins, with hard limits (stdlib only).

Both metadata codecs funnel their data through :func:`to_plain` so that what
leaves (or enters) them is made only of ``dict``, ``list``, ``str``, ``int``,
``float``, ``bool`` and ``None``, nested at most ``max_depth`` levels and with at
most ``max_nodes`` values in total. The walk is iterative: no ``RecursionError``,
and shared or cyclic references (possible in a pickle) are expanded against the
node budget instead of looping forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MAX_DEPTH", "PlainDataError", "to_plain"]

MAX_DEPTH: Final = 64
"""Deepest container nesting accepted in metadata."""

_KEY_TYPES: Final = (str, int, float, bool, type(None))
_MAX_PATH_CHARS: Final = 80


class PlainDataError(Exception):
    """The data is not plain JSON-like data within the limits.

    Attributes:
        path: Where the problem is, e.g. ``meta.spatial.spacing[2]``.
        limit: True when a size or depth limit was hit, False for a wrong type.
    """

    def __init__(self, message: str, *, path: str, limit: bool) -> None:
        shown = path if len(path) <= _MAX_PATH_CHARS else f"{path[:48]}...{path[-24:]}"
        super().__init__(f"{shown}: {message}")
        self.path = path
        self.limit = limit


def _scalar(value: Any) -> Any:
    """Return ``value`` as an exact builtin scalar, or raise ``TypeError``."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(type(value).__name__)


def to_plain(value: Any, *, root: str, max_depth: int = MAX_DEPTH, max_nodes: int) -> Any:
    """Return a fresh copy of ``value`` made of plain builtins only.

    Mappings become ``dict`` (keys must be ``str``, ``int``, ``float``, ``bool`` or
    ``None``), lists and tuples become ``list``, and subclasses of the scalar types
    (enums, for instance) become the exact builtin.

    Args:
        value: The data to convert.
        root: Names ``value`` in error paths, e.g. ``"meta"`` gives ``meta.spatial[2]``.
        max_depth: Deepest container nesting accepted.
        max_nodes: Most values (containers and scalars) accepted in total.

    Returns:
        The plain copy.

    Raises:
        PlainDataError: A value of another type, or a limit was exceeded.
    """
    result_holder: list[Any] = [None]
    # Each task fills ``target[slot]`` with the plain form of ``item``.
    tasks: list[tuple[Any, Any, Any, str, int]] = [(value, result_holder, 0, root, 0)]
    nodes = 0
    while tasks:
        item, target, slot, path, depth = tasks.pop()
        nodes += 1
        if nodes > max_nodes:
            raise PlainDataError(f"more than {max_nodes} values", path=path, limit=True)
        if isinstance(item, Mapping | list | tuple) and depth >= max_depth:
            raise PlainDataError(f"nested deeper than {max_depth} levels", path=path, limit=True)
        if isinstance(item, Mapping):
            result: dict[Any, Any] = {}
            target[slot] = result
            for key, child in item.items():
                if not isinstance(key, _KEY_TYPES):
                    found = type(key).__name__
                    raise PlainDataError(f"mapping key of type {found}", path=path, limit=False)
                plain_key = _scalar(key)
                result[plain_key] = None
                tasks.append((child, result, plain_key, f"{path}.{plain_key}", depth + 1))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            target[slot] = items
            tasks.extend(
                (child, items, index, f"{path}[{index}]", depth + 1)
                for index, child in enumerate(item)
            )
        else:
            try:
                target[slot] = _scalar(item)
            except TypeError:
                found = type(item).__name__
                raise PlainDataError(f"unsupported type {found}", path=path, limit=False) from None
    return result_holder[0]
