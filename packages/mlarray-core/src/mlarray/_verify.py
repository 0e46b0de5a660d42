"""Full verification of a ``.mla`` file: structure, metadata, checksums, every chunk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlarray._frame_check import parse_dtype
from mlarray._integrity import damaged_chunks, describe_chunk, record_problem
from mlarray._opened import open_file
from mlarray._paths import check_mla_path
from mlarray.errors import MLArrayError

__all__ = ["VerifyReport", "verify_file"]


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_file`.

    Attributes:
        path: The file verified.
        problems: One sentence per problem found; empty when the file is sound.
        chunks_checked: How many chunks were decompressed.
        checksums: Whether the file carries per-chunk checksums (files written by
            ``mlarray`` 0.0.54 or by plain blosc2 do not; they verify structurally).
    """

    path: Path
    problems: list[str] = field(default_factory=list)
    chunks_checked: int = 0
    checksums: bool = False

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _describe(index: int, store: Any) -> str:
    return describe_chunk(index, tuple(store.shape), tuple(store.chunks))


def _check_metadata(report: VerifyReport, meta: Any, mapping: Any, store: Any) -> None:
    if not meta._has_array.value and tuple(store.shape) != (0,):
        report.problems.append(
            f"metadata says the file holds no array, but it holds one of shape {list(store.shape)}"
        )
    if meta.spatial.shape is not None and tuple(meta.spatial.shape) != tuple(store.shape):
        report.problems.append(
            f"metadata says shape {list(meta.spatial.shape)}, the array has {list(store.shape)}"
        )
    if parse_dtype(mapping.dtype) != store.dtype:
        report.problems.append(
            f"header dtype {mapping.dtype} differs from the array's {store.dtype}"
        )
    for name, actual in (("chunk_size", store.chunks), ("block_size", store.blocks)):
        recorded = getattr(meta.blosc2, name)
        if recorded is not None and meta._has_array.value and tuple(recorded) != tuple(actual):
            report.problems.append(
                f"meta.blosc2.{name} {list(recorded)} differs from the array's {list(actual)}"
            )


def _check_chunks(report: VerifyReport, store: Any, record: dict[str, Any] | None) -> None:
    schunk = store.schunk
    damaged = [] if record is None else damaged_chunks(store, record, range(schunk.nchunks))
    if damaged:
        more = f" ({len(damaged) - 1} more damaged chunks)" if len(damaged) > 1 else ""
        report.problems.append(
            f"{_describe(damaged[0], store)} does not match its checksum: "
            f"the stored bytes are damaged{more}"
        )
    known_bad = set(damaged)
    for index in range(schunk.nchunks):
        if index in known_bad:
            continue  # known bad: decompressing damaged bytes proves nothing more
        try:
            data = schunk.decompress_chunk(index)
        except Exception as exc:  # blosc2 raises bare RuntimeErrors on damaged chunks
            report.problems.append(f"{_describe(index, store)} cannot be decompressed: {exc}")
            return
        if len(data) != schunk.chunksize:
            report.problems.append(
                f"{_describe(index, store)} decompressed to {len(data)} bytes, "
                f"expected {schunk.chunksize}"
            )
            return
        report.chunks_checked += 1


def verify_file(filepath: str | Path) -> VerifyReport:
    """Check a ``.mla`` file completely and report every problem found.

    Reads the header and metadata with the standard-library reader, compares the
    metadata with the array, recomputes the per-chunk checksums when the file has
    them, and decompresses every chunk.

    Args:
        filepath: The ``.mla`` file.

    Returns:
        The report; ``report.ok`` is True for a sound file.
    """
    path = Path(filepath)
    report = VerifyReport(path=path)
    try:
        check_mla_path(path, must_exist=True)
        opened = open_file(path, mapped=True)
        header, store = opened.header, opened.array({"nthreads": 1})
    except MLArrayError as exc:
        report.problems.append(str(exc))
        return report
    record = header.mapping.integrity
    if header.mapping.metadata_problem is not None:
        report.problems.append(header.mapping.metadata_problem)
    if record is not None:
        report.checksums = True
        problem = record_problem(record, store)
        if problem is not None:
            report.problems.append(problem)
            record = None
    _check_metadata(report, header.meta, header.mapping, store)
    _check_chunks(report, store, record)
    return report
