"""Whether an output is current: present, newer than its sources, made with the same options.

A ``.mla`` output records the options it was converted with in
``meta.extra["conversion"]``; other formats have no room for them, so only their
age is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlarray._file_metadata import read_file_header
from mlarray.errors import MLArrayError
from mlarray_io._options import RECORD_KEY

__all__ = ["Freshness", "freshness"]


@dataclass(frozen=True)
class Freshness:
    """What to do with one output.

    Attributes:
        current: The output is complete and up to date: keep it.
        reason: Why (``"up to date"``, ``"new"``, ``"overwrite"``, ``"source changed"``,
            ``"options changed"``, ``"unreadable output"``).
        detail: What changed, for ``"options changed"`` and ``"unreadable output"``.
    """

    current: bool
    reason: str
    detail: str | None = None


def _recorded(output: Path) -> dict[str, Any] | None:
    """The options a ``.mla`` output records (its header only is read)."""
    record = read_file_header(output).meta.extra.value.get(RECORD_KEY)
    return record if isinstance(record, dict) else None


def _changes(recorded: dict[str, Any] | None, wanted: dict[str, Any]) -> str:
    if recorded is None:
        return "the output records no conversion options"
    names = sorted(set(recorded) | set(wanted))
    changed = [n for n in names if recorded.get(n) != wanted.get(n)]
    return ", ".join(f"{n} {recorded.get(n)!r} -> {wanted.get(n)!r}" for n in changed)


def freshness(
    output: Path, sources: tuple[Path, ...], record: dict[str, Any] | None, *, overwrite: bool
) -> Freshness:
    """Whether ``output`` must be converted (again) from ``sources``.

    Args:
        output: The output file.
        sources: The files it is made from.
        record: The options it would be converted with (``.mla`` outputs), or None
            when the format cannot record them.
        overwrite: Convert existing outputs again in any case.
    """
    if not output.exists():
        return Freshness(False, "new")
    if overwrite:
        return Freshness(False, "overwrite")
    newest = max(source.stat().st_mtime for source in sources)
    if output.stat().st_mtime < newest:
        return Freshness(False, "source changed")
    if record is not None:
        try:
            recorded = _recorded(output)
        except MLArrayError as exc:
            return Freshness(False, "unreadable output", str(exc))
        if recorded != record:
            return Freshness(False, "options changed", _changes(recorded, record))
    return Freshness(True, "up to date")
