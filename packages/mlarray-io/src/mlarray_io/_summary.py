"""What a conversion run did: one record per output, grouped in a summary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["ConversionRecord", "ConversionSummary"]


@dataclass(frozen=True)
class ConversionRecord:
    """What happened to one input.

    Attributes:
        source: The input file or DICOM series folder.
        output: The file it was (or would have been) converted to.
        seconds: Time spent converting it (0 when skipped).
        error: Why the conversion failed, for failures.
        reason: Why the input was skipped, for skipped inputs.
    """

    source: str
    output: str
    seconds: float = 0.0
    error: str | None = None
    reason: str | None = None


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
        elif record.reason is not None:
            self.skipped.append(record)
        else:
            self.converted.append(record)

    def to_json(self) -> str:
        """The summary as an indented JSON document (counts first, then the records)."""
        lists = {
            name: [
                {key: value for key, value in asdict(record).items() if value is not None}
                for record in getattr(self, name)
            ]
            for name in ("converted", "skipped", "failed")
        }
        document = {
            "source": self.source,
            "destination": self.destination,
            "seconds": round(self.seconds, 3),
            "counts": {name: len(records) for name, records in lists.items()},
            **lists,
        }
        return json.dumps(document, indent=2)
