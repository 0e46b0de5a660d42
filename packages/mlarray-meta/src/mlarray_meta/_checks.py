"""Small validators shared by the metadata sections.

Each returns the normalised value or raises an error naming the field, what was
expected and what was found. With ``tolerant=True`` a violation that ``mlarray``
0.0.54 accepts (a boolean or non-finite number, a non-positive spacing) goes
through :func:`~mlarray_meta._leniency.tolerated`: refused when writing, kept
when reading a file.
"""

from __future__ import annotations

import math
from typing import Any

from mlarray_meta._base import FrozenList
from mlarray_meta._json import plain_number, to_json_safe, unwrap
from mlarray_meta._leniency import tolerated
from mlarray_meta.errors import MetaTypeError, MetaValidationError

__all__ = [
    "as_bool",
    "as_int_list",
    "as_matrix",
    "as_number_list",
    "as_optional_number",
    "as_optional_str",
    "as_str_list",
    "as_unit_list",
]


def _as_sequence(value: Any, field: str) -> list[Any]:
    value = unwrap(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise MetaTypeError(
            f"{field}: expected a list, got {type(value).__name__} {value!r}", path=field
        )
    return list(value)


def _number(value: Any, field: str, root: str, *, tolerant: bool) -> int | float:
    """A finite number; with ``tolerant``, booleans and NaN/Infinity as 0.0.54 takes them."""
    value = unwrap(value)
    if tolerant and isinstance(value, bool):
        tolerated(root, f"{field}: expected a number, got bool {value!r}", MetaTypeError)
        return value
    if tolerant and isinstance(value, float) and not math.isfinite(value):
        tolerated(root, f"{field}: expected a finite number, got {value!r}")
        return value
    return plain_number(value, field)


def as_number_list(
    value: Any,
    field: str,
    *,
    positive: bool = False,
    length: int | None = None,
    tolerant: bool = False,
    root: str | None = None,
) -> list[int | float] | None:
    """Return a list of finite numbers (None passes through).

    Args:
        value: The value to check.
        field: Where it lives, for messages.
        positive: Require values > 0.
        length: Require this many values.
        tolerant: Booleans, non-finite and (with ``positive``) non-positive values
            are :func:`~mlarray_meta._leniency.tolerated`.
        root: The field tolerated values are reported under (default ``field``).
    """
    if value is None:
        return None
    root = field if root is None else root
    items = [
        _number(v, f"{field}[{i}]", root, tolerant=tolerant)
        for i, v in enumerate(_as_sequence(value, field))
    ]
    if positive:
        for index, item in enumerate(items):
            if not item > 0 and not (tolerant and math.isnan(item)):
                message = f"{field}[{index}]: expected a value > 0, got {item!r}"
                if not tolerant:
                    raise MetaValidationError(message, path=f"{field}[{index}]")
                tolerated(root, message)
    if length is not None and len(items) != length:
        raise MetaValidationError(
            f"{field}: expected {length} values, got {len(items)}", path=field
        )
    return items


def as_int_list(
    value: Any, field: str, *, minimum: int = 1, frozen: bool = False
) -> list[int] | None:
    """Return a list of ints >= ``minimum`` (None passes through).

    With ``frozen`` the list is a :class:`FrozenList` that refuses in-place edits.
    """
    if value is None:
        return None
    items: list[int] = []
    for index, item in enumerate(_as_sequence(value, field)):
        number = plain_number(item, f"{field}[{index}]")
        if isinstance(number, float):
            if not number.is_integer():
                raise MetaTypeError(
                    f"{field}[{index}]: expected an integer, got {number!r}",
                    path=f"{field}[{index}]",
                )
            number = int(number)
        if number < minimum:
            raise MetaValidationError(
                f"{field}[{index}]: expected an integer >= {minimum}, got {number}",
                path=f"{field}[{index}]",
            )
        items.append(number)
    return FrozenList(items, field) if frozen else items


def as_matrix(value: Any, field: str, *, tolerant: bool = False) -> list[list[int | float]] | None:
    """Return a square matrix of finite numbers as nested lists (None passes through)."""
    if value is None:
        return None
    rows = _as_sequence(value, field)
    matrix = [
        as_number_list(row, f"{field}[{i}]", tolerant=tolerant, root=field) or []
        for i, row in enumerate(rows)
    ]
    for index, row in enumerate(matrix):
        if len(row) != len(matrix):
            raise MetaValidationError(
                f"{field}: expected a square matrix, got {len(matrix)} rows but row {index} "
                f"has {len(row)} values",
                path=field,
            )
    return matrix


def as_str_list(value: Any, field: str) -> list[str] | None:
    """Return a list of strings (empty ones included); enum members become their values."""
    if value is None:
        return None
    out: list[str] = []
    for index, item in enumerate(_as_sequence(value, field)):
        item = unwrap(item)
        if not isinstance(item, str):
            raise MetaTypeError(
                f"{field}[{index}]: expected a string, got {type(item).__name__} {item!r}",
                path=f"{field}[{index}]",
            )
        out.append(str.__str__(item))
    return out


def as_unit_list(value: Any, field: str) -> Any:
    """Return a list of unit strings (``""`` for a unitless axis); None passes through.

    0.0.54 does not check units at all, so any other JSON value found in a file is
    :func:`~mlarray_meta._leniency.tolerated` (kept when reading, refused when writing).
    """
    try:
        return as_str_list(value, field)
    except MetaTypeError as exc:
        tolerated(field, str(exc), MetaTypeError)
    return to_json_safe(value, field)


def as_optional_number(value: Any, field: str, *, tolerant: bool = False) -> float | int | None:
    """Return a finite number or None (``tolerant`` as in :func:`as_number_list`)."""
    return None if value is None else _number(value, field, field, tolerant=tolerant)


def as_optional_str(value: Any, field: str) -> str | None:
    """Return a string or None; enum members become their values."""
    value = unwrap(value)
    if value is not None and not isinstance(value, str):
        raise MetaTypeError(
            f"{field}: expected a string or None, got {type(value).__name__}", path=field
        )
    return value


def as_bool(value: Any, field: str, *, optional: bool) -> bool | None:
    """Return a bool (or None when ``optional``); NumPy booleans are accepted."""
    value = unwrap(value)
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        expected = "True, False or None" if optional else "True or False"
        raise MetaTypeError(
            f"{field}: expected {expected}, got {type(value).__name__} {value!r}", path=field
        )
    return value
