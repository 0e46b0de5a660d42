"""Convert a whole dataset: in parallel, resumable, past bad inputs, locally or on Dask.

Every output is written atomically (see :func:`~mlarray_io.convert.convert_file`),
so an output that exists is complete: a second run skips it, and an interrupted
run leaves no partial file behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray_io._sources import find_images, image_suffix, output_path
from mlarray_io.convert import convert_file

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["ConversionRecord", "ConversionSummary", "convert_dataset"]


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


@dataclass(frozen=True)
class _Task:
    source: Path
    output: Path
    overwrite: bool
    load_options: dict[str, Any]


def _describe(exc: BaseException) -> str:
    """One line saying what went wrong; mlarray errors already name their cause."""
    return str(exc) if isinstance(exc, MLArrayError) else f"{type(exc).__name__}: {exc}"


def _convert(task: _Task) -> ConversionRecord:
    """Convert one input, turning any error into a failed record (runs in workers)."""
    start = time.perf_counter()
    error = None
    try:
        task.output.parent.mkdir(parents=True, exist_ok=True)
        convert_file(task.source, task.output, overwrite=task.overwrite, **task.load_options)
    except Exception as exc:
        error = _describe(exc)
    return ConversionRecord(
        str(task.source), str(task.output), time.perf_counter() - start, error=error
    )


def _outcome(future: Any, task: _Task) -> ConversionRecord:
    """The record a finished (concurrent or Dask) future holds, or why its worker failed."""
    try:
        record: ConversionRecord = future.result()
    except Exception as exc:
        return ConversionRecord(str(task.source), str(task.output), error=_describe(exc))
    return record


def _run_locally(tasks: Sequence[_Task], workers: int) -> Iterator[ConversionRecord]:
    if workers == 1 or len(tasks) <= 1:
        yield from map(_convert, tasks)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context)
    try:
        futures = {pool.submit(_convert, task): task for task in tasks}
        for future in as_completed(futures):
            yield _outcome(future, futures[future])
    finally:
        # On an interrupt, start nothing new; conversions under way finish atomically.
        pool.shutdown(cancel_futures=True)


def _run_on_dask(tasks: Sequence[_Task], scheduler: Client | str) -> Iterator[ConversionRecord]:
    from mlarray_io.dask import import_distributed

    distributed = import_distributed()
    client = distributed.Client(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        futures = client.map(_convert, tasks, pure=False)
        by_future = dict(zip(futures, tasks, strict=True))
        for future in distributed.as_completed(futures):
            yield _outcome(future, by_future[future])
    finally:
        if client is not scheduler:
            client.close()


def _skip_reason(source: Path, output: Path) -> str:
    if output.stat().st_mtime >= source.stat().st_mtime:
        return "already converted (output newer than its source)"
    return "output exists but is older than its source; convert with overwrite to redo it"


def _plan(
    images: Sequence[Path],
    base: Path,
    dst: Path,
    *,
    suffix: str,
    overwrite: bool,
    load_options: dict[str, Any],
) -> tuple[list[_Task], list[ConversionRecord]]:
    """Split inputs into tasks to run and records settled already (skips, clashes)."""
    tasks: list[_Task] = []
    settled: list[ConversionRecord] = []
    claimed: dict[Path, Path] = {}
    for image in images:
        output = output_path(image, base, dst, suffix)
        if output in claimed:
            error = f"output name clashes with that of {claimed[output]}"
            settled.append(ConversionRecord(str(image), str(output), error=error))
        elif output.exists() and not overwrite:
            reason = _skip_reason(image, output)
            settled.append(ConversionRecord(str(image), str(output), reason=reason))
        else:
            tasks.append(_Task(image, output, overwrite, load_options))
        claimed.setdefault(output, image)
    return tasks, settled


def convert_dataset(
    source: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    suffix: str = ".mla",
    workers: int | None = None,
    scheduler: Client | str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    **load_options: Any,
) -> ConversionSummary:
    """Convert every image of a dataset, mirroring its folder tree in ``dst_dir``.

    Runs in ``workers`` processes, or with ``scheduler`` as one task per image on
    a Dask cluster, each task reading and writing its own files (the files must
    be reachable from the workers). Outputs that exist are skipped, so an
    interrupted run is resumed by running it again. A bad input does not stop
    the run: it is listed in the summary with its error.

    Args:
        source: A folder (searched recursively for supported files and DICOM
            series folders) or a glob pattern such as ``"data/**/*.nii.gz"``.
        dst_dir: Output folder, created if missing.
        suffix: Output format, ``".mla"`` by default (any supported file suffix).
        workers: Number of worker processes; ``os.cpu_count()`` by default, 1 to
            convert in this process.
        scheduler: A ``dask.distributed.Client`` or a scheduler address such as
            ``"tcp://10.0.0.1:8786"``; needs the ``dask`` extra.
        overwrite: Convert again inputs whose output exists.
        progress: Show a progress bar (tqdm, on stderr).
        **load_options: Passed to :func:`~mlarray_io.convert.convert_file` for every
            input: ``patch_size`` and ``cparams`` lay ``.mla`` outputs out, the rest
            goes to :func:`mlarray_io.load` (``backend``, ``is_seg``, ...).

    Returns:
        What was converted, skipped and failed, with reasons and timings.

    Raises:
        MLArrayFileError: If ``source`` is missing or holds no image, or
            ``suffix`` is not a supported format.
        MissingDependencyError: If ``scheduler`` is given and Dask is not installed.
    """
    started = time.perf_counter()
    if image_suffix(Path(f"image{suffix}")) != suffix.lower():
        raise MLArrayFileError(f"suffix {suffix!r} is not a supported image format")
    dst = Path(dst_dir)
    base, images = find_images(source, exclude=dst)
    dst.mkdir(parents=True, exist_ok=True)
    tasks, settled = _plan(
        images, base, dst, suffix=suffix, overwrite=overwrite, load_options=load_options
    )
    summary = ConversionSummary(str(source), str(dst))
    for record in settled:
        summary.add(record)
    if scheduler is not None:
        records = _run_on_dask(tasks, scheduler)
    else:
        records = _run_locally(tasks, workers or os.cpu_count() or 1)
    with tqdm(total=len(images), initial=len(settled), disable=not progress, unit="image") as bar:
        for record in records:
            summary.add(record)
            bar.update()
            bar.set_postfix(failed=len(summary.failed), refresh=False)
    for group in (summary.converted, summary.skipped, summary.failed):
        group.sort(key=lambda record: record.source)
    summary.seconds = time.perf_counter() - started
    return summary
