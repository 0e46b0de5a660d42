"""Which inputs of a conversion are label maps, by the names on their paths."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MASK_PATTERNS", "MaskRule"]

MASK_PATTERNS = ("labelsTr/*", "labelsTs/*", "*_seg*", "*mask*", "*label*")
"""Label maps in common layouts: nnU-Net's label folders, and file names."""


@dataclass(frozen=True)
class MaskRule:
    """Finds the label maps among a conversion's inputs.

    Patterns are shell-style and ignore case. A pattern without ``/`` is matched
    against the file name (``"*_seg*"``); one with ``/`` against the end of the
    path below the dataset folder (``"labelsTr/*"`` matches
    ``site_a/labelsTr/case_001.nii.gz``).

    Attributes:
        patterns: The patterns; empty to detect nothing.
    """

    patterns: tuple[str, ...] = MASK_PATTERNS

    @classmethod
    def from_patterns(cls, patterns: Sequence[str] | None) -> MaskRule:
        """The rule for ``patterns`` (None: :data:`MASK_PATTERNS`)."""
        return cls(MASK_PATTERNS if patterns is None else tuple(patterns))

    def match(self, path: Path, base: Path) -> str | None:
        """The first pattern that ``path`` matches, or None.

        Args:
            path: An input file or DICOM folder.
            base: The dataset folder it was found in; for a single file, its
                folder's parent, so that its folder's name counts.
        """
        parts = [part.lower() for part in path.relative_to(base).parts]
        ends = ["/".join(parts[start:]) for start in range(len(parts))]
        for pattern in self.patterns:
            candidates = ends if "/" in pattern else ends[-1:]
            if any(fnmatch.fnmatchcase(end, pattern.lower()) for end in candidates):
                return pattern
        return None
