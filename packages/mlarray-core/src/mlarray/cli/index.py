"""``mlarray index FILE...``: build and store the foreground index of segmentation files."""

from __future__ import annotations

import argparse
from typing import Any

from mlarray.errors import MLArrayError

__all__ = ["register", "run"]


def register(subcommands: Any) -> None:
    """Add the ``index`` subcommand."""
    parser = subcommands.add_parser(
        "index",
        help="store the foreground index (label boxes and voxel samples) in .mla masks",
        description="Compute, for every label of each segmentation file, its bounding box "
        "and a seeded sample of its voxels (up to --max-samples and at least "
        "--min-fraction of them), and store it in the file. Files whose index is "
        "current are skipped unless --force. Exit status 1 if any file failed.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--seed", type=int, default=0, help="seed of the voxel sample (0)")
    parser.add_argument("--max-samples", type=int, default=10_000, help="per label (10000)")
    parser.add_argument("--min-fraction", type=float, default=0.01, help="per label (0.01)")
    parser.add_argument("--force", action="store_true", help="rebuild current indexes too")
    parser.set_defaults(func=run)


def run(arguments: argparse.Namespace) -> int:
    """Index each file; print one line per file."""
    from mlarray.training import IndexStatus, build_index, index_status

    failed = 0
    for name in arguments.files:
        try:
            if not arguments.force and index_status(name) is IndexStatus.CURRENT:
                print(f"{name}: index current, skipped")
                continue
            index = build_index(
                name,
                seed=arguments.seed,
                max_samples=arguments.max_samples,
                min_fraction=arguments.min_fraction,
            )
        except MLArrayError as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}")
            continue
        labels = "; ".join(
            f"{label.value}: {label.voxels} voxels, {len(label.samples)} samples"
            for label in index.labels
        )
        count = len(index.labels)
        print(f"{name}: indexed {count} label{'' if count == 1 else 's'} ({labels or 'none'})")
    return 1 if failed else 0
