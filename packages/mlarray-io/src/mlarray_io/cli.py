"""``mlarray convert SRC DST``: one image, or a whole dataset, between formats.

Plugged into the ``mlarray`` command through the ``mlarray.commands`` entry
point; ``mlarray_convert SRC DST`` is the legacy spelling of the same command.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlarray import cli
from mlarray.errors import MetaValidationError, MLArrayError
from mlarray_io._cast import parse_dtype
from mlarray_io._masks import MASK_PATTERNS, MaskRule
from mlarray_io._options import ConversionOptions
from mlarray_io._runner import FileJob
from mlarray_io._sources import IMAGE_SUFFIXES, image_suffix, is_dicom_folder
from mlarray_io._staging import write_text
from mlarray_io.dataset import ConversionSummary, convert_dataset
from mlarray_io.nnunet import export_nnunet, import_nnunet, is_nnunet_raw
from mlarray_io.omezarr import is_ome_zarr

__all__ = ["SUMMARY_NAME", "convert_main", "register", "run"]

SUMMARY_NAME = "conversion-summary.json"
NNUNET = "nnunet"
"""``--to nnunet``: write an nnU-Net dataset of ``.mla`` files back as a raw dataset."""


def _worker_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 worker, got {value}")
    return value


def _level_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 level, got {value}")
    return value


def _patch_size(text: str) -> int | tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N,N,N, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"patch sizes must be positive, got {text!r}")
    return sizes[0] if len(sizes) == 1 else sizes


def _output_format(text: str) -> str:
    chosen = text.lower() if text.lower() == NNUNET else "." + text.lower().lstrip(".")
    if chosen != NNUNET and chosen not in IMAGE_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"expected {NNUNET} or one of {', '.join(IMAGE_SUFFIXES)}, got {text!r}"
        )
    return chosen


def _dtype_name(text: str) -> str:
    try:
        return str(parse_dtype(text))
    except MLArrayError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("cast: ")) from None


def register(subcommands: Any) -> None:
    """Add the ``convert`` subcommand."""
    parser = subcommands.add_parser(
        "convert",
        help="convert images or datasets between NIfTI, NRRD, MHA, DICOM and .mla",
        description="Convert one image (SRC a file or DICOM series folder, DST a file) "
        "or a dataset (SRC a folder or a quoted glob pattern, DST a folder: the folder "
        "tree is mirrored, outputs that are up to date are skipped, failures are listed "
        "at the end and make the exit status 1).",
    )
    parser.add_argument("src", metavar="SRC", help="image, DICOM folder, dataset folder or glob")
    parser.add_argument("dst", metavar="DST", help="output file, or output folder for a dataset")
    parser.add_argument(
        "--workers",
        type=_worker_count,
        metavar="N",
        help="worker processes for a dataset (default: one per CPU)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run a dataset on this Dask scheduler, one task per image (needs mlarray-io[dask])",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="convert every input again (a rerun otherwise converts only new inputs, "
        "outputs older than their source and outputs made with other options)",
    )
    parser.add_argument(
        "--summary",
        metavar="PATH",
        type=Path,
        help=f"where to write a dataset's JSON summary (default: DST/{SUMMARY_NAME})",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )
    parser.add_argument(
        "--backend", choices=("nibabel", "sitk"), help="library that reads NIfTI sources"
    )
    parser.add_argument(
        "--patch-size",
        type=_patch_size,
        metavar="N[,N,N]",
        help="lay .mla outputs out for this training patch size (default: 192)",
    )
    parser.add_argument(
        "--preset",
        choices=("fast", "compact"),
        help="compression of .mla outputs: fast patch reads (default) or smaller files",
    )
    parser.add_argument(
        "--levels",
        type=_level_count,
        metavar="N",
        help="resolution levels of .ome.zarr outputs, each halving the last (default: 1)",
    )
    parser.add_argument(
        "--to",
        type=_output_format,
        metavar="FORMAT",
        help="format of a dataset's outputs: .mla (the default), .nii.gz, .nrrd, ... or "
        f"{NNUNET} (an nnU-Net dataset of .mla files written back as a raw dataset)",
    )
    parser.add_argument(
        "--cast",
        type=_dtype_name,
        metavar="DTYPE",
        help="convert the values to this dtype first (float32 for float16 images, "
        "which NIfTI and ITK cannot store); values it cannot hold are refused",
    )
    parser.add_argument(
        "--no-stats",
        dest="stats",
        action="store_false",
        help="do not compute statistics (meta.stats; label voxel counts and boxes) "
        "into .mla outputs",
    )
    parser.add_argument(
        "--seg",
        action="store_true",
        help="every input is a label map (stored as uint8/uint16 labels, marked is_seg)",
    )
    parser.add_argument(
        "--seg-pattern",
        dest="seg_patterns",
        action="append",
        metavar="PATTERN",
        help="inputs whose file name (or, for a pattern with '/', path) matches are label "
        "maps; repeat for several; replaces the default patterns "
        f"{' '.join(MASK_PATTERNS)}",
    )
    parser.set_defaults(func=run)


def _is_single_image(src: str, dst: Path) -> bool:
    """Whether SRC names one image (a file or a DICOM series with a file as DST)."""
    path = Path(src)
    if is_ome_zarr(path):
        return True
    if is_dicom_folder(path):
        return image_suffix(dst) is not None
    return not glob.has_magic(src) and not path.is_dir()


def _counted(summary: ConversionSummary, group: str) -> str:
    """``converted 3 (new: 2, options changed: 1)``: a group's count, with its reasons."""
    reasons = summary.reasons(group)
    counts = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    return f"{group} {sum(reasons.values())}" + (f" ({counts})" if counts else "")


def _report(summary: ConversionSummary, written: str) -> None:
    """Print the counts and ``written`` (where the summary went), then every failure."""
    print(
        f"{_counted(summary, 'converted')}, {_counted(summary, 'skipped')}, "
        f"failed {len(summary.failed)} in {summary.seconds:.1f} s; {written}"
    )
    for record in summary.failed:
        reason = (record.error or "").removeprefix(f"{record.source}: ")
        print(f"FAILED {record.source}: {reason}", file=sys.stderr)


def _options(arguments: argparse.Namespace) -> dict[str, Any]:
    """The conversion options given on the command line."""
    given = {
        "backend": arguments.backend,
        "patch_size": arguments.patch_size,
        "cparams": arguments.preset,
        "cast": arguments.cast,
        "levels": arguments.levels,
        "is_seg": True if arguments.seg else None,
        "stats": None if arguments.stats else False,
    }
    return {name: value for name, value in given.items() if value is not None}


def _convert_one(arguments: argparse.Namespace, dst: Path, options: dict[str, Any]) -> int:
    """Convert SRC to DST; SRC is a label map if asked for or if its path says so."""
    src = Path(arguments.src)
    if arguments.to is not None:
        raise MetaValidationError(
            f"--to is for datasets; {dst}: the extension of DST names the format of one image"
        )
    chosen = ConversionOptions(**options)
    pattern = None
    if chosen.is_seg is None:
        pattern = MaskRule.from_patterns(arguments.seg_patterns).match(src, src.parent.parent)
        chosen = chosen if pattern is None else chosen.with_is_seg(True)
    start = time.perf_counter()
    FileJob(src, dst, chosen, mask_pattern=pattern).run(overwrite=arguments.overwrite)
    kind = "label map, " if chosen.is_seg else ""
    print(f"{arguments.src} -> {dst} ({kind}{time.perf_counter() - start:.2f} s)")
    return 0


def _convert_many(arguments: argparse.Namespace, dst: Path, options: dict[str, Any]) -> int:
    """Convert the dataset SRC into the folder DST; write and print the summary."""
    run = {
        "workers": arguments.workers,
        "scheduler": arguments.scheduler,
        "overwrite": arguments.overwrite,
        "progress": arguments.progress,
    }
    suffix = arguments.to or ".mla"
    if suffix == NNUNET:
        if options:
            given = ", ".join(sorted(options))
            raise MetaValidationError(
                f"--to {NNUNET} writes the raw files back as they were; drop {given}"
            )
        summary = export_nnunet(arguments.src, dst, **run)
    elif suffix == ".mla" and is_nnunet_raw(arguments.src):
        summary = import_nnunet(arguments.src, dst, **run, **options)
    else:
        patterns = arguments.seg_patterns
        summary = convert_dataset(
            arguments.src, dst, suffix=suffix, seg_patterns=patterns, **run, **options
        )
    summary_path = arguments.summary or dst / SUMMARY_NAME
    try:
        write_text(summary_path, summary.to_json() + "\n")
    except MLArrayError as exc:
        _report(summary, "summary not written")
        print(f"mlarray convert: error: the summary was not written: {exc}", file=sys.stderr)
        return cli.FAILED
    _report(summary, f"summary: {summary_path}")
    return 0 if summary.ok else cli.FAILED


def run(arguments: argparse.Namespace) -> int:
    """Convert one image or a dataset; exit status 1 if any input failed."""
    dst = Path(arguments.dst)
    options = _options(arguments)
    if _is_single_image(arguments.src, dst):
        return _convert_one(arguments, dst, options)
    return _convert_many(arguments, dst, options)


def convert_main(argv: Sequence[str] | None = None) -> int:
    """The legacy ``mlarray_convert SRC DST`` command: same as ``mlarray convert``."""
    return cli.main(["convert", *(sys.argv[1:] if argv is None else argv)])
