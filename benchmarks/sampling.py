"""How well the automatic storage choice's sampled ratios predict the stored ones.

Usage::

    python benchmarks/sampling.py [--full] [--datasets D ...]

For every volume, every candidate of the choice is compressed whole (on 0.0.54's
layout, as the choice stores it) and its ratio relative to the reference (LZ4HC 8
with shuffle) is compared with the relative ratio the choice estimated from its
sample blocks. The reference setting is also estimated and stored on the ``fast``
preset's layout, to show how far the ratios of different block shapes can be
compared from samples. One line per volume and candidate on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

import blosc2
import numpy as np
from data import DATASET_NAMES, build_datasets
from plan import default_choice

from mlarray._autotune._choice import Candidate
from mlarray._autotune._sampling import sample_count, sample_layout


def stored_ratio(array: np.ndarray, candidate: Candidate) -> float:
    """The ratio of ``array`` stored whole with ``candidate``."""
    cparams = candidate.cparams(array.itemsize) | {"nthreads": blosc2.nthreads}
    layout = candidate.layout
    stored = blosc2.asarray(array, chunks=layout.chunks, blocks=layout.blocks, cparams=cparams)
    return array.nbytes / stored.schunk.cbytes


def main(argv: list[str] | None = None) -> int:
    """Print sampled against stored ratios, relative to the reference, per volume."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full-size volumes (default: quick)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASET_NAMES))
    args = parser.parse_args(argv)
    for name, dataset in build_datasets(args.datasets, quick=not args.full).items():
        array = dataset.array
        choice, other = default_choice(array)
        if choice is None:
            print(f"{name}: not tuned (smaller than the threshold)")
            continue
        reference = choice.reference
        stored_reference = stored_ratio(array, reference.candidate)
        print(f"{name} {array.shape} {array.dtype}: {choice.sample_blocks} sample blocks")
        for trial in choice.trials:
            stored = stored_ratio(array, trial.candidate) / stored_reference
            sampled = trial.ratio / reference.ratio
            mark = " (chosen)" if trial == choice.chosen else ""
            print(f"  {trial.candidate.key:24s} sampled {sampled:.4f} stored {stored:.4f}{mark}")
        candidate = dataclasses.replace(reference.candidate, layout=other)
        count = sample_count(array.nbytes, math.prod(other.blocks) * array.itemsize)
        sampled = sample_layout(array, other, count).ratio(candidate.cparams(array.itemsize))
        stored = stored_ratio(array, candidate) / stored_reference
        print(
            f"  {candidate.key} on fast blocks  sampled {sampled / reference.ratio:.4f} "
            f"stored {stored:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
