"""Convert a whole dataset: in parallel, resumable, past bad inputs, locally or on Dask.

Every output is written atomically (see :func:`~mlarray_io.convert.convert_file`),
so an output that exists is complete: a second run skips it, and an interrupted
run leaves no partial file behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlarray.errors import MLArrayFileError
from mlarray_io._masks import MaskRule
from mlarray_io._options import ConversionOptions
from mlarray_io._runner import FileJob, run_jobs
from mlarray_io._sources import find_images, image_suffix, output_path
from mlarray_io._staging import make_folder
from mlarray_io._summary import ConversionRecord, ConversionSummary

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["ConversionRecord", "ConversionSummary", "convert_dataset"]


def _jobs(
    images: Sequence[Path], base: Path, dst: Path, suffix: str, options: ConversionOptions,
    masks: MaskRule,
) -> list[FileJob]:  # fmt: skip
    """One job per image; label maps found by ``masks`` unless ``options.is_seg`` decides."""
    jobs = []
    for image in images:
        output = output_path(image, base, dst, suffix)
        pattern = masks.match(image, base) if options.is_seg is None else None
        chosen = options if pattern is None else options.with_is_seg(True)
        jobs.append(FileJob(image, output, chosen, mask_pattern=pattern))
    return jobs


def convert_dataset(
    source: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    suffix: str = ".mla",
    workers: int | None = None,
    scheduler: Client | str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    seg_patterns: Sequence[str] | None = None,
    **options: Any,
) -> ConversionSummary:
    """Convert every image of a dataset, mirroring its folder tree in ``dst_dir``.

    Runs in ``workers`` processes, or with ``scheduler`` as one task per image on
    a Dask cluster, each task reading and writing its own files (the files must
    be reachable from the workers). Outputs that are up to date are skipped, so
    an interrupted run is resumed by running it again; an output older than its
    source, or (for ``.mla`` outputs) made with other options than this run's
    (recorded in its ``meta.extra["conversion"]``), is converted again. A bad
    input does not stop the run: it is listed in the summary with its error.

    Label maps are found by their paths (see ``seg_patterns``) unless ``is_seg``
    is given: they are converted with ``is_seg=True``, so they are stored as
    labels in the smallest unsigned integer dtype and marked ``meta.is_seg``.

    Args:
        source: A folder (searched recursively for supported files and DICOM
            series folders) or a glob pattern such as ``"data/**/*.nii.gz"``.
        dst_dir: Output folder, created if missing.
        suffix: Output format, ``".mla"`` by default (any supported file suffix).
        workers: Number of worker processes; ``os.cpu_count()`` by default, 1 to
            convert in this process.
        scheduler: A ``dask.distributed.Client`` or a scheduler address such as
            ``"tcp://10.0.0.1:8786"``; needs the ``dask`` extra.
        overwrite: Convert every input again, even where the output is up to date.
        progress: Show a progress bar (tqdm, on stderr).
        seg_patterns: Shell-style patterns of label maps (ignoring case): matched
            against the file name, or against the end of the path below
            ``source`` when they hold a ``/``. None means nnU-Net's
            ``labelsTr/*`` and ``labelsTs/*`` and the names ``*_seg*``,
            ``*mask*`` and ``*label*``; an empty list finds none.
        **options: The options of :func:`~mlarray_io.convert.convert_file` for
            every input: ``patch_size``, ``cparams``, ``cast``, and ``backend``,
            ``reorient``, ``is_seg`` (True: every input is a label map; False:
            none is) for :func:`mlarray_io.load`.

    Returns:
        What was converted, skipped and failed, with reasons and timings.

    Raises:
        MLArrayFileError: If ``source`` is missing or holds no image,
            ``suffix`` is not a supported format, or ``dst_dir`` cannot be created.
        MissingDependencyError: If ``scheduler`` is given and Dask is not installed.
        SchedulerError: If ``scheduler`` is an address where no Dask scheduler
            answers within :data:`~mlarray_io._runner.SCHEDULER_TIMEOUT` seconds.
        WorkerStartError: If the worker processes cannot start: above all, when
            a script calls this function without the ``if __name__ == "__main__":``
            guard (worker processes are started with the ``spawn`` method).
        KeyboardInterrupt: On Ctrl-C: the workers are stopped, and the outputs
            they were writing removed.
    """
    if image_suffix(Path(f"image{suffix}")) != suffix.lower():
        raise MLArrayFileError(f"suffix {suffix!r} is not a supported image format")
    chosen = ConversionOptions(**options)
    dst = Path(dst_dir)
    base, images = find_images(source, exclude=dst)
    make_folder(dst)
    jobs = _jobs(images, base, dst, suffix, chosen, MaskRule.from_patterns(seg_patterns))
    return run_jobs(
        jobs,
        ConversionSummary(str(source), str(dst)),
        workers=workers,
        scheduler=scheduler,
        overwrite=overwrite,
        progress=progress,
    )
