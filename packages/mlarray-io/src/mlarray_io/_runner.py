"""Running conversion jobs: in worker processes or on Dask, past failures, with progress.

A job converts one output from its sources (an image file; the channel files
of an nnU-Net case) and is picklable, so that a worker process or a Dask worker
runs it. Every output is written atomically, so an output that exists is
complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tqdm import tqdm

from mlarray.errors import MetaValidationError, MLArrayError
from mlarray_io._freshness import Freshness, freshness
from mlarray_io._options import ConversionOptions
from mlarray_io._pool import run_in_workers
from mlarray_io._sources import image_suffix
from mlarray_io._staging import make_folder
from mlarray_io._summary import ConversionRecord, ConversionSummary
from mlarray_io.convert import convert_with
from mlarray_io.errors import SchedulerError

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["SCHEDULER_TIMEOUT", "FileJob", "Job", "run_jobs"]

SCHEDULER_TIMEOUT = 5
"""Seconds to wait for a Dask scheduler given by its address before giving up."""


class Job(Protocol):
    """One output to convert, from its sources."""

    @property
    def source(self) -> Path:
        """The input named in records and messages."""

    @property
    def sources(self) -> tuple[Path, ...]:
        """Every file the output is made from."""

    @property
    def output(self) -> Path:
        """The file to write."""

    def record(self) -> dict[str, Any] | None:
        """The options recorded in a ``.mla`` output; None for other formats."""

    def run(self, *, overwrite: bool) -> None:
        """Convert, replacing an existing output only if ``overwrite``."""


@dataclass(frozen=True)
class FileJob:
    """One image file (or DICOM series folder) to one output file.

    Attributes:
        source: The image.
        output: The file to write.
        options: How to convert it.
        mask_pattern: The name pattern that made it a label map, if one did.
    """

    source: Path
    output: Path
    options: ConversionOptions
    mask_pattern: str | None = None

    @property
    def sources(self) -> tuple[Path, ...]:
        """The image, alone."""
        return (self.source,)

    def record(self) -> dict[str, Any] | None:
        """The options, for a ``.mla`` output."""
        return self.options.record() if image_suffix(self.output) == ".mla" else None

    def run(self, *, overwrite: bool) -> None:
        """Convert the image (see :func:`~mlarray_io.convert.convert_with`)."""
        try:
            convert_with(self.source, self.output, self.options, overwrite=overwrite)
        except MetaValidationError as exc:
            if self.mask_pattern is None:
                raise
            raise MetaValidationError(
                f"{exc}; it is a label map because its path matches {self.mask_pattern!r} "
                "(--seg-pattern chooses which files are label maps)"
            ) from exc


def _describe(exc: BaseException) -> str:
    """One line saying what went wrong; mlarray errors already name their cause."""
    return str(exc) if isinstance(exc, MLArrayError) else f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class _Run:
    job: Job
    why: Freshness


def _convert(run: _Run) -> ConversionRecord:
    """Run one job, turning any error into a failed record (runs in workers)."""
    job = run.job
    start = time.perf_counter()
    error = None
    try:
        make_folder(job.output.parent)
        job.run(overwrite=run.why.reason != "new")
    except Exception as exc:
        error = _describe(exc)
    return ConversionRecord(
        str(job.source), str(job.output), time.perf_counter() - start, error=error,
        reason=run.why.reason, detail=run.why.detail,
    )  # fmt: skip


def _outcome(future: Any, run: _Run) -> ConversionRecord:
    """The record a finished (concurrent or Dask) future holds, or why its worker failed."""
    try:
        record: ConversionRecord = future.result()
    except Exception as exc:
        return ConversionRecord(str(run.job.source), str(run.job.output), error=_describe(exc))
    return record


def _died(run: _Run, how: str) -> ConversionRecord:
    """The record of a run whose worker process died while converting it."""
    job = run.job
    error = f"{how} while converting it"
    return ConversionRecord(str(job.source), str(job.output), error=error, reason=run.why.reason)


def _run_locally(runs: Sequence[_Run], workers: int) -> Generator[ConversionRecord]:
    if workers == 1 or len(runs) <= 1:
        yield from map(_convert, runs)
    else:
        yield from run_in_workers(_convert, runs, workers, died=_died)


def _connect(scheduler: str) -> Any:
    """A Dask client of the scheduler at ``scheduler``, or an error within seconds.

    The client is not made the process's default, so dask's global configuration
    stays as the caller had it, also when the connection fails.
    """
    from mlarray_io.dask import import_distributed

    distributed = import_distributed()
    try:
        return distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
    except Exception as exc:
        raise SchedulerError(f"scheduler {scheduler!r} cannot be reached: {exc}") from exc


def _run_on_dask(runs: Sequence[_Run], scheduler: Client | str) -> Generator[ConversionRecord]:
    from mlarray_io.dask import import_distributed

    distributed = import_distributed()
    client: Any = _connect(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        with client.as_current():
            futures = client.map(_convert, runs, pure=False)
            by_future = dict(zip(futures, runs, strict=True))
            for future in distributed.as_completed(futures):
                yield _outcome(future, by_future[future])
    finally:
        if client is not scheduler:
            client.close()


def _plan(jobs: Sequence[Job], *, overwrite: bool) -> tuple[list[_Run], list[ConversionRecord]]:
    """Split jobs into runs and records settled already (current outputs, clashes)."""
    runs: list[_Run] = []
    settled: list[ConversionRecord] = []
    claimed: dict[Path, Path] = {}
    for job in jobs:
        source, output = str(job.source), str(job.output)
        if job.output in claimed:
            error = f"output name clashes with that of {claimed[job.output]}"
            settled.append(ConversionRecord(source, output, error=error))
        else:
            why = freshness(job.output, job.sources, job.record(), overwrite=overwrite)
            if why.current:
                settled.append(ConversionRecord(source, output, reason=why.reason, skipped=True))
            else:
                runs.append(_Run(job, why))
        claimed.setdefault(job.output, job.source)
    return runs, settled


def run_jobs(
    jobs: Sequence[Job],
    summary: ConversionSummary,
    *,
    workers: int | None,
    scheduler: Client | str | None,
    overwrite: bool,
    progress: bool,
) -> ConversionSummary:
    """Run ``jobs`` and add a record of each to ``summary`` (sorted, timed).

    Args:
        jobs: What to convert.
        summary: Where the records go.
        workers: Worker processes (``os.cpu_count()`` if None; 1: this process).
        scheduler: A Dask client or scheduler address, to run there instead.
        overwrite: Convert again jobs whose output exists and is current.
        progress: Show a progress bar (tqdm, on stderr).

    Returns:
        ``summary``.

    Raises:
        SchedulerError: If no Dask scheduler answers at the address ``scheduler``
            within :data:`SCHEDULER_TIMEOUT` seconds.
        WorkerStartError: If the worker processes cannot start (see
            :func:`~mlarray_io._pool.run_in_workers`).
    """
    started = time.perf_counter()
    runs, settled = _plan(jobs, overwrite=overwrite)
    for record in settled:
        summary.add(record)
    if scheduler is not None:
        records = _run_on_dask(runs, scheduler)
    else:
        records = _run_locally(runs, workers or os.cpu_count() or 1)
    bar = tqdm(total=len(jobs), initial=len(settled), disable=not progress, unit="image")
    with bar, closing(records):  # closing: stop the workers now if interrupted
        for record in records:
            summary.add(record)
            bar.update()
            bar.set_postfix(failed=len(summary.failed), refresh=False)
    for group in (summary.converted, summary.skipped, summary.failed):
        group.sort(key=lambda record: record.source)
    summary.seconds += time.perf_counter() - started
    return summary
