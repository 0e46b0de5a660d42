"""``mlarray demo``: the main job, on the sample scans nibabel ships (no download).

Each scan is converted to ``.mla`` and its header summary printed; the ``.mla``
is converted back to NIfTI and compared with the source (affine within 1e-6,
identical voxel values); then random patches are read from the memory-mapped
``.mla`` and from the ``.nii.gz``, and the reading speeds are compared.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from mlarray import MLArray
from mlarray.cli import info
from mlarray.errors import MLArrayFileError
from mlarray_io._sources import image_suffix
from mlarray_io.convert import convert_file

if TYPE_CHECKING:
    from nibabel.spatialimages import SpatialImage

__all__ = ["SAMPLE_SCANS", "DemoReport", "ScanReport", "register", "run_demo", "sample_scans"]

SAMPLE_SCANS = (
    "anatomical.nii",
    "example4d.nii.gz",
    "reoriented_anat_moved.nii",
    "example_nifti2.nii.gz",
)
AFFINE_TOLERANCE = 1e-6
PATCH_EDGE = 32
_SECONDS_PER_FORMAT = 0.5
_MIN_READS = 5
_SEED = 0


@dataclass(frozen=True)
class ScanReport:
    """What the demo found for one scan.

    Attributes:
        name: File name of the sample scan.
        shape: Shape of the image.
        affine_error: Largest absolute difference between the source affine and the
            affine of the NIfTI written back from the ``.mla``.
        data_identical: Whether that NIfTI holds the source's values and dtype.
        patches_match: Whether a patch read from the ``.mla`` equals the same patch
            read from the ``.nii.gz``.
        mla_patches_per_second: Random patches read per second from the ``.mla``.
        nifti_patches_per_second: The same from the ``.nii.gz``.
    """

    name: str
    shape: tuple[int, ...]
    affine_error: float
    data_identical: bool
    patches_match: bool
    mla_patches_per_second: float
    nifti_patches_per_second: float

    @property
    def ok(self) -> bool:
        """Geometry and data survived the round trip, and both files agree."""
        return self.verdict == "exact"

    @property
    def verdict(self) -> str:
        """``exact``, or what differs."""
        if self.affine_error > AFFINE_TOLERANCE:
            return f"affine off by {self.affine_error:.2g}"
        if not self.data_identical:
            return "data differ"
        return "exact" if self.patches_match else "patches differ"

    @property
    def speedup(self) -> float:
        """How many times faster patches are read from the ``.mla``."""
        return self.mla_patches_per_second / self.nifti_patches_per_second


@dataclass(frozen=True)
class DemoReport:
    """The outcome of :func:`run_demo`.

    Attributes:
        out_dir: Folder holding the ``.mla`` files and the NIfTI written back.
        scans: One report per sample scan.
        seconds: Wall-clock time of the demo.
    """

    out_dir: Path
    scans: list[ScanReport]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every scan passed its checks."""
        return all(scan.ok for scan in self.scans)


def sample_scans() -> list[Path]:
    """The sample scans in nibabel's package data.

    Raises:
        MLArrayFileError: If this nibabel installation lacks them.
    """
    import nibabel

    folder = Path(nibabel.__file__).parent / "tests" / "data"
    paths = [folder / name for name in SAMPLE_SCANS]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise MLArrayFileError(f"{folder}: nibabel's sample scans are missing: {missing}")
    return paths


def _patch_windows(shape: Sequence[int], count: int) -> list[tuple[slice, ...]]:
    """Random patch positions: up to PATCH_EDGE voxels along the first three axes."""
    rng = np.random.default_rng(_SEED)
    windows = []
    for _ in range(count):
        window = []
        for axis, size in enumerate(shape):
            edge = min(size, PATCH_EDGE) if axis < 3 else size
            start = int(rng.integers(0, size - edge + 1))
            window.append(slice(start, start + edge))
        windows.append(tuple(window))
    return windows


def _patches_per_second(read: Callable[[Any], Any], windows: Sequence[tuple[slice, ...]]) -> float:
    """Read patches at ``windows`` (cycling) for about half a second; return the rate."""
    cycle = itertools.cycle(windows)
    count, start = 0, time.perf_counter()
    while count < _MIN_READS or time.perf_counter() - start < _SECONDS_PER_FORMAT:
        read(next(cycle))
        count += 1
    return count / (time.perf_counter() - start)


def _same_values(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    native = a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=")
    return native and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _load_nifti(path: Path) -> SpatialImage:
    import nibabel

    return cast("SpatialImage", nibabel.load(path))


def _check_scan(source: Path, out_dir: Path) -> ScanReport:
    stem = source.name.removesuffix(image_suffix(source) or "")
    mla = convert_file(source, out_dir / f"{stem}.mla", overwrite=True)
    print(f"== {source.name} -> {mla}")
    info.run(argparse.Namespace(files=[str(mla)]))
    back = convert_file(mla, out_dir / f"{stem}.roundtrip.nii.gz", overwrite=True)
    original, written = _load_nifti(source), _load_nifti(back)
    source_data = np.asanyarray(original.dataobj)
    image = MLArray.open(mla, mmap_mode="r")
    try:
        windows = _patch_windows(source_data.shape, 64)
        return ScanReport(
            name=source.name,
            shape=tuple(source_data.shape),
            affine_error=float(np.max(np.abs(original.affine - written.affine))),
            data_identical=_same_values(source_data, np.asanyarray(written.dataobj)),
            patches_match=bool(np.array_equal(image[windows[0]], written.dataobj[windows[0]])),
            mla_patches_per_second=_patches_per_second(image.__getitem__, windows),
            nifti_patches_per_second=_patches_per_second(written.dataobj.__getitem__, windows),
        )
    finally:
        image.close()


def _print_table(scans: Sequence[ScanReport]) -> None:
    print(
        f"\n{'scan':<27} {'shape':<18} {'round trip':<20} "
        f"{'.mla patch/s':>12} {'.nii.gz patch/s':>15} {'speed-up':>9}"
    )
    for scan in scans:
        print(
            f"{scan.name:<27} {scan.shape!s:<18} {scan.verdict:<20} "
            f"{scan.mla_patches_per_second:>12.0f} {scan.nifti_patches_per_second:>15.0f} "
            f"{scan.speedup:>8.1f}x"
        )


def run_demo(out_dir: str | os.PathLike[str]) -> DemoReport:
    """Run the demo on nibabel's sample scans, printing as it goes.

    Args:
        out_dir: Folder for the ``.mla`` files and NIfTI round trips (created if
            missing; existing demo outputs are replaced).

    Returns:
        The checks and speeds for every scan.

    Raises:
        MLArrayFileError: If nibabel's sample scans are missing.
    """
    start = time.perf_counter()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    scans = []
    for source in sample_scans():
        scans.append(_check_scan(source, folder))
        print()
    _print_table(scans)
    exact = sum(scan.ok for scan in scans)
    print(
        f"\ngeometry round trip .mla -> NIfTI: {exact}/{len(scans)} exact "
        f"(affine within {AFFINE_TOLERANCE:g}, identical data)\n"
        f"patches: up to {PATCH_EDGE} voxels per spatial axis at random positions, "
        "memory-mapped .mla vs nibabel's proxy on the .nii.gz"
    )
    report = DemoReport(folder, scans, time.perf_counter() - start)
    print(f"outputs in {folder}; done in {report.seconds:.1f} s")
    return report


def register(subcommands: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subcommands.add_parser(
        "demo",
        help="convert nibabel's sample scans, check geometry, time patch reads",
        description="Convert the sample scans nibabel ships to .mla, print their header "
        "summaries, check the geometry round trip to NIfTI and compare random patch "
        "reads from .mla and .nii.gz. Exit status 1 if a round trip is not exact.",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="keep the outputs here (default: a temporary folder)",
    )
    parser.set_defaults(func=run)


def run(arguments: argparse.Namespace) -> int:
    """Run the demo in ``--out`` or in a temporary folder removed afterwards."""
    if arguments.out is not None:
        return 0 if run_demo(arguments.out).ok else 1
    with tempfile.TemporaryDirectory(prefix="mlarray-demo-") as folder:
        report = run_demo(folder)
    print("(a temporary folder, now removed: keep the files with --out DIR)")
    return 0 if report.ok else 1
