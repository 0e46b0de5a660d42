"""What computing statistics costs during conversion (``mlarray convert`` vs ``--no-stats``).

Usage::

    python benchmarks/conversion_stats.py [--quick] [--repeats N] [--markdown PATH]

Writes the synthetic CT (int16), its z-normalized float32 copy and its uint8 label
mask (``data.py``) as ``.nii.gz`` files, then converts each to ``.mla`` with and
without statistics, alternating the two (A B A B ...) so that drift of the
machine affects both alike, and prints the median wall-clock and CPU times (CPU
time is what the statistics cost on a machine shared with other work), their
ratio and the time of the statistics alone (``mlarray_io._stats`` on the array).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np
from data import build_datasets

from mlarray_io._label_stats import label_statistics
from mlarray_io._stats import image_statistics
from mlarray_io.convert import convert_file

DATASETS = ("ct-int16", "ct-float32", "labels-uint8")


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of ``action()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, array: np.ndarray, folder: Path, repeats: int) -> dict[str, float]:
    """Median seconds of a conversion with and without statistics, and of the statistics."""
    source = folder / f"{name}.nii.gz"
    nib.save(nib.Nifti1Image(array, np.diag([0.7, 0.7, 2.5, 1.0])), source)
    is_seg = name.startswith("labels")
    target = folder / f"{name}.mla"
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(repeats):
        for stats in (False, True):
            convert = partial(convert_file, source, target, overwrite=True, stats=stats)
            times[stats].append(timed(partial(convert, is_seg=is_seg)))
    compute = label_statistics if is_seg else image_statistics
    alone = [timed(partial(compute, array)) for _ in range(repeats)]
    found = {}
    for clock, index in (("wall", 0), ("cpu", 1)):
        without = statistics.median(t[index] for t in times[False])
        with_stats = statistics.median(t[index] for t in times[True])
        found |= {
            f"{clock} without": without,
            f"{clock} with": with_stats,
            f"{clock} ratio": with_stats / without,
            f"{clock} alone": statistics.median(t[index] for t in alone),
        }
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use the 128x256x256 volume")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    arguments = parser.parse_args()
    datasets = build_datasets(DATASETS, quick=arguments.quick)
    rows = [
        "| data | clock | conversion without stats | with stats | ratio | stats alone |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        for name, dataset in datasets.items():
            found = measure(name, dataset.array, Path(folder), arguments.repeats)
            size = dataset.array.nbytes / 2**20
            for clock in ("wall", "cpu"):
                rows.append(
                    f"| {dataset.description}, {size:.0f} MiB | {clock} "
                    f"| {found[f'{clock} without']:.2f} s | {found[f'{clock} with']:.2f} s "
                    f"| {found[f'{clock} ratio']:.2f}x | {found[f'{clock} alone']:.2f} s |"
                )
                print(rows[-1], file=sys.stderr)
    table = "\n".join(rows)
    print(table)
    if arguments.markdown is not None:
        arguments.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
