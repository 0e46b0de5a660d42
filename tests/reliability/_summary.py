"""Outcome counts that the reliability tests record for the terminal summary.

Tests add lines with :func:`record`; ``conftest.py`` prints them at the end of the
run (with or without ``-s``), so the corpus size and outcome counts appear in every
``nox -s tests`` log.
"""

from __future__ import annotations

import os

__all__ = ["LINES", "fuzz_scale", "fuzz_seeds", "record"]

LINES: list[str] = []


def record(line: str) -> None:
    """Add one line to the reliability summary."""
    LINES.append(line)


def fuzz_scale() -> int:
    """How much longer than the default run: ``MLARRAY_FUZZ_SCALE`` (default 1)."""
    return max(1, int(os.environ.get("MLARRAY_FUZZ_SCALE", "1")))


def fuzz_seeds() -> list[int]:
    """Seeds of the random corpus cases: ``MLARRAY_FUZZ_SEEDS``, e.g. ``"1,2,3"`` (default 0)."""
    text = os.environ.get("MLARRAY_FUZZ_SEEDS", "0")
    return [int(part) for part in text.split(",") if part.strip()]
