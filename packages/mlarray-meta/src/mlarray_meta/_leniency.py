"""Strict when writing, lenient when reading (standard library only).

Some values pass the validation of the ``mlarray`` 0.0.54 package but not ours: a
NaN statistic, a zero spacing, a bounding box whose min exceeds its max, a mapping
key that is not a string... ``docs/migrating.md`` lists them all. The validators
report such a value through :func:`tolerated`: it raises, as for any invalid value,
unless the metadata is being read from a file inside :func:`lenient_reading`,
where the value is kept as stored and noted. :func:`warn_kept` turns the notes into
one :class:`~mlarray_meta.errors.MetaCompatibilityWarning` per field.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mlarray_meta.errors import MetaCompatibilityWarning, MetaTypeError, MetaValidationError

__all__ = ["Note", "lenient_reading", "tolerated", "warn_kept"]

Note = tuple[str, str]
"""A value kept while reading: the field it belongs to and what is wrong with it."""

_OWN_PACKAGES = frozenset({"mlarray", "mlarray_meta", "mlarray_io"})
_NOTES: ContextVar[list[Note] | None] = ContextVar("mlarray_meta_lenient_notes", default=None)


@contextmanager
def lenient_reading() -> Iterator[list[Note]]:
    """Keep values that 0.0.54 accepts inside the ``with`` block; yields the notes taken."""
    notes: list[Note] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def tolerated(
    field: str,
    message: str,
    error: type[MetaValidationError] | type[MetaTypeError] = MetaValidationError,
) -> None:
    """Report a value that 0.0.54 accepts and this package does not write.

    Args:
        field: The field it belongs to (e.g. ``meta.spatial.spacing``), for grouping.
        message: The full error message, naming the field, expected and found.
        error: The error raised outside :func:`lenient_reading`.

    Raises:
        MetaValidationError: Or ``error``, unless inside :func:`lenient_reading`.
    """
    notes = _NOTES.get()
    if notes is None:
        raise error(message, path=field)
    notes.append((field, message))


def warn_kept(notes: list[Note], source: str) -> None:
    """Emit one :class:`MetaCompatibilityWarning` per field that kept a tolerated value."""
    first: dict[str, list[str]] = {}
    for field, message in notes:
        first.setdefault(field, []).append(message)
    for field, messages in first.items():
        more = f" (and {len(messages) - 1} more in {field})" if len(messages) > 1 else ""
        warnings.warn(
            f"{source}: {messages[0]}{more}. mlarray 0.0.54 accepted this value, so it is "
            f"kept as stored; mlarray refuses to write it, so change {field} before saving",
            MetaCompatibilityWarning,
            stacklevel=_outside_mlarray(),
        )


def _outside_mlarray() -> int:
    """The ``stacklevel`` of the first caller outside the mlarray packages (the user's line)."""
    frame = sys._getframe(2)  # the caller of warn_kept
    level = 2
    while frame.f_back is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] not in _OWN_PACKAGES:
            break
        frame, level = frame.f_back, level + 1
    return level
