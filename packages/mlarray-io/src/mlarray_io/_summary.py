"""What a conversion run did: one record per output, grouped in a summary."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

__all__ = ["ConversionRecord", "ConversionSummary"]

_GROUPS = ("converted", "skipped", "failed")


@dataclass(frozen=True)
class ConversionRecord:
    """What happened to one input.

    Attributes:
        source: The input file or DICOM series folder.
        output: The file it was (or would have been) converted to.
        seconds: Time spent converting it (0 when skipped).
        error: Why the conversion failed, for failures.
        reason: Why it was converted (``"new"``, ``"source changed"``,
            ``"options changed"``, ``"unreadable output"``, ``"overwrite"``) or
            skipped (``"up to date"``).
        detail: What the reason is about, e.g. which options changed.
        skipped: True when the output was kept as it was.
    """

    source: str
    output: str
    seconds: float = 0.0
    error: str | None = None
    reason: str | None = None
    detail: str | None = None
    skipped: bool = False


@dataclass
class ConversionSummary:
    """The outcome of :func:`convert_dataset`, one record per input.

    Attributes:
        source: The dataset folder or glob pattern.
        destination: The output folder.
        converted: Inputs converted by this run.
        skipped: Inputs whose output already existed.
        failed: Inputs that could not be converted, each with its error.
        seconds: Wall-clock time of the whole run.
    """

    source: str
    destination: str
    converted: list[ConversionRecord] = field(default_factory=list)
    skipped: list[ConversionRecord] = field(default_factory=list)
    failed: list[ConversionRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no input failed."""
        return not self.failed

    def add(self, record: ConversionRecord) -> None:
        """File ``record`` under converted, skipped or failed."""
        if record.error is not None:
            self.failed.append(record)
        elif record.skipped:
            self.skipped.append(record)
        else:
            self.converted.append(record)

    def reasons(self, group: str) -> dict[str, int]:
        """How many records of ``group`` (``"converted"``, ``"skipped"``) had each reason."""
        return dict(Counter(record.reason or "" for record in getattr(self, group)))

    def to_json(self) -> str:
        """The summary as an indented JSON document (counts first, then the records)."""
        lists = {
            name: [
                {
                    key: value
                    for key, value in asdict(record).items()
                    if value is not None and key != "skipped"
                }
                for record in getattr(self, name)
            ]
            for name in _GROUPS
        }
        document = {
            "source": self.source,
            "destination": self.destination,
            "seconds": round(self.seconds, 3),
            "counts": {name: len(records) for name, records in lists.items()},
            "reasons": {name: self.reasons(name) for name in _GROUPS[:2]},
            **lists,
        }
        return json.dumps(document, indent=2)
