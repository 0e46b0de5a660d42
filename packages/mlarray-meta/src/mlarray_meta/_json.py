"""Conversion of user values into plain JSON data, without importing numpy.

NumPy scalars and arrays are recognised by duck typing (``tolist``/``item``), so
``mlarray_meta`` stays free of third-party imports while still accepting what
image libraries hand out (``np.float32`` spacings, ``np.ndarray`` directions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

from mlarray_meta._leniency import tolerated
from mlarray_meta.errors import MetaTypeError, MetaValidationError

__all__ = ["is_json_safe", "plain_number", "to_json_safe", "unwrap"]

_MAX_DEPTH = 60
"""Deepest nesting accepted in free-form metadata: the file envelope allows 64
levels and wraps ``meta.source``/``meta.extra`` in four, so a value accepted here
is also accepted when saving."""


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), dict, list})
_JSON_KEY_TYPES = (int, float, bool, type(None))
_ROOT = object()  # ends the (parent, key) chain of a path; a key may be None
"""Keys that Python's ``json`` (and so 0.0.54) turns into strings; ours are strings."""


def unwrap(value: Any) -> Any:
    """Turn an enum member or a NumPy scalar/array into its plain Python value."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and hasattr(value, "dtype"):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item) and hasattr(value, "dtype"):
        return item()
    return value


def to_json_safe(value: Any, field: str) -> Any:
    """Return a deep copy of ``value`` made only of JSON types.

    Tuples become lists, NumPy values become Python values, enum members become
    their values. Mapping keys must be strings and floats must be finite (strict
    JSON has no NaN or Infinity); when reading leniently, the non-string keys and
    non-finite floats that ``mlarray`` 0.0.54 accepts are kept (see
    :mod:`mlarray_meta._leniency`).

    Args:
        value: The value to convert.
        field: Where the value lives, used in error messages (e.g. ``meta.source``).

    Returns:
        A structure of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``
        and ``None``.

    Raises:
        MetaTypeError: If a value (or a mapping key) has no JSON representation.
        MetaValidationError: If a float is NaN or infinite, or nesting is deeper
            than 60 levels (the file format's limit, envelope included).
    """
    return _convert(value, (field, _ROOT), 0)


def _where(path: tuple[Any, Any]) -> str:
    """Render a path built by :func:`_convert` (``(parent, key)`` pairs) as text."""
    keys: list[str] = []
    while path[1] is not _ROOT:
        path, key = path
        keys.append(f"[{key!r}]")
    return str(path[0]) + "".join(reversed(keys))


def _root(path: tuple[Any, Any]) -> str:
    """The field a path built by :func:`_convert` starts from (e.g. ``meta.source``)."""
    while path[1] is not _ROOT:
        path = path[0]
    return str(path[0])


def _convert(value: Any, path: tuple[Any, Any], depth: int) -> Any:
    # The path is built as nested pairs and only rendered when reporting an error.
    if depth > _MAX_DEPTH:
        raise MetaValidationError(
            f"{_where(path)}: nested deeper than {_MAX_DEPTH} levels", path=_where(path)
        )
    value = unwrap(value)
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float or isinstance(value, float):
        if not math.isfinite(value):
            tolerated(
                _root(path),
                f"{_where(path)}: expected a finite number (JSON has no NaN/Infinity), "
                f"got {value!r}",
            )
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = unwrap(key)
            if type(key) is not str:
                message = (
                    f"{_where(path)}: mapping keys must be strings for JSON, got "
                    f"{type(key).__name__} key {key!r}"
                )
                if not isinstance(key, _JSON_KEY_TYPES):
                    raise MetaTypeError(message, path=_where(path))
                tolerated(_root(path), message, MetaTypeError)
            out[key] = _convert(item, (path, key), depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_convert(item, (path, index), depth + 1) for index, item in enumerate(value)]
    if isinstance(value, (bool, int, str)):
        return value
    raise MetaTypeError(
        f"{_where(path)}: value of type {type(value).__name__} is not JSON-serializable "
        f"(expected dict, list, str, int, float, bool or None)",
        path=_where(path),
    )


def is_json_safe(value: Any) -> bool:
    """Return True when :func:`to_json_safe` accepts ``value``."""
    try:
        to_json_safe(value, "value")
    except (MetaTypeError, MetaValidationError):
        return False
    return True


def plain_number(value: Any, field: str) -> int | float:
    """Return ``value`` as a finite Python ``int`` or ``float``.

    Args:
        value: A Python or NumPy number.
        field: Where the value lives, used in error messages.

    Raises:
        MetaTypeError: If ``value`` is not a number (booleans are not numbers here).
        MetaValidationError: If ``value`` is NaN or infinite.
    """
    value = unwrap(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetaTypeError(
            f"{field}: expected a number, got {type(value).__name__} {value!r}", path=field
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise MetaValidationError(f"{field}: expected a finite number, got {value!r}", path=field)
    return value
