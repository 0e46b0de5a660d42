"""Calibrate the read-cost model of the automatic storage choice (mlarray._autotune._cost).

Usage::

    python benchmarks/calibrate.py [--quick] [--datasets D ...] [--out FILE]

For every volume and every layout/codec/filter combination of a grid wider than
the candidate set, the volume is compressed to a file, and random 128^3 patches
are read from it memory-mapped in one thread, in passes interleaved over the
combinations; each time is the smallest over the passes of the process CPU time
per patch (the least disturbed by other processes on a shared machine). The
model's regressors are computed for the same layouts with the measured ratios,
and non-negative least squares on relative errors gives the weights that
``COST_MODEL`` in ``mlarray/_autotune/_cost.py`` holds. The output file keeps every
measurement, the weights, and the error of the fit per volume.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
from data import build_datasets, patch_starts

from mlarray._autotune._choice import DENSER, FILTERS, SPLIT
from mlarray._autotune._cost import SHARED, read_features, setting_key
from mlarray._autotune._layouts import NamedLayout, legacy_layout
from mlarray.chunking import resolve_layout

HERE = Path(__file__).resolve().parent
DATASETS = (
    "ct-int16",
    "ct-float32",
    "ct-smooth-int16",
    "labels-uint8",
    "mni-t1-int16",
    "mni-t1-float32",
    "labels-many",
)
PATCH = 128
CODECS = ((blosc2.Codec.LZ4, 9), (blosc2.Codec.LZ4HC, 2), (blosc2.Codec.LZ4HC, 8))


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def halved(layout: NamedLayout) -> NamedLayout | None:
    """``layout`` with blocks halved along their first axis longer than 1 (None if odd)."""
    axis = next((a for a, side in enumerate(layout.blocks) if side > 1), None)
    if axis is None or layout.blocks[axis] % 2:
        return None
    blocks = list(layout.blocks)
    blocks[axis] //= 2
    return NamedLayout(f"{layout.name}, half blocks", layout.chunks, tuple(blocks))


def layouts(shape: tuple[int, ...], itemsize: int) -> dict[str, NamedLayout]:
    """Name to layout: 0.0.54's, today's power-of-two one (``fast``), each also with half blocks."""
    legacy = legacy_layout(shape, itemsize, patch=[192] * len(shape), mask=[True] * len(shape))
    pow2 = resolve_layout(shape, itemsize, block_budget=40 * 1024)
    assert pow2.chunk_size is not None
    assert pow2.block_size is not None
    ours = NamedLayout("pow2", pow2.chunk_size, pow2.block_size)
    out = {}
    for layout in (legacy, ours):
        out[layout.name] = layout
        half = halved(layout)
        if half is not None:
            out[half.name] = half
    return out


def combinations(shape: tuple[int, ...], itemsize: int) -> list[dict[str, Any]]:
    """Every layout with every codec and filter (byte shuffle too for one-byte items, as 0.0.54).

    The denser setting of the automatic choice (LZ4HC 9) is added with no filter and
    with shuffle; items of two bytes or more are also compressed with its split
    settings (byte shuffle, each byte stream compressed on its own).
    """
    plain = ("none", "bitshuffle", "shuffle")
    settings = [(c, level, f, False) for c, level in CODECS for f in plain]
    settings += [
        (codec, level, f, False) for codec, level, _, _ in DENSER for f in ("none", "shuffle")
    ]
    if itemsize > 1:
        settings += list(SPLIT)
    return [
        {
            "layout": name,
            "chunks": layout.chunks,
            "blocks": layout.blocks,
            "codec": codec.name,
            "clevel": level,
            "filter": filt,
            "split": split,
        }
        for name, layout in layouts(shape, itemsize).items()
        for codec, level, filt, split in settings
    ]


def read_seconds(
    paths: list[Path], starts: list[list[int]], shape: tuple[int, ...], passes: int
) -> list[float]:
    """Smallest CPU seconds per patch over ``passes`` interleaved passes, per file."""
    handles = [blosc2.open(str(p), mode="r", mmap_mode="r") for p in paths]
    box = [min(PATCH, n) for n in shape]
    best = [float("inf")] * len(paths)
    for _ in range(passes):
        for index, handle in enumerate(handles):
            started = time.process_time()
            for start in starts:
                handle[tuple(slice(s, s + b) for s, b in zip(start, box, strict=True))]
            best[index] = min(best[index], (time.process_time() - started) / len(starts))
    return best


def measure(
    name: str, array: np.ndarray, folder: Path, passes: int, count: int
) -> list[dict[str, Any]]:
    """Compress ``array`` every way of :func:`combinations` and time its patch reads."""
    rows, paths = combinations(array.shape, array.itemsize), []
    for index, row in enumerate(rows):
        path = folder / f"{name}-{index}.b2nd"
        cparams = {
            "codec": blosc2.Codec[row["codec"]],
            "clevel": row["clevel"],
            "filters": [FILTERS[row["filter"]]],
        }
        if row["split"]:
            cparams["splitmode"] = blosc2.SplitMode.ALWAYS_SPLIT
        started = time.process_time()
        stored = blosc2.asarray(
            array, chunks=row["chunks"], blocks=row["blocks"], cparams=cparams | {"nthreads": 1}
        )
        row["compress_seconds"] = time.process_time() - started
        stored.save(str(path), mode="w")
        row["ratio"] = array.nbytes / stored.schunk.cbytes
        paths.append(path)
    box = [min(PATCH, n) for n in array.shape]
    starts = patch_starts(array.shape, box, count, seed=7)
    for row, seconds in zip(rows, read_seconds(paths, starts, array.shape, passes), strict=True):
        features = read_features(
            array.shape,
            box,
            row["chunks"],
            row["blocks"],
            itemsize=array.itemsize,
            ratio=row["ratio"],
        )
        row |= {
            "volume": name,
            "seconds": seconds,
            "nbytes": array.nbytes,
            "key": setting_key(row["codec"], row["clevel"], row["filter"], row["split"]),
            "shared": list(features.shared()),
            "decoded_bytes": features.decoded_bytes,
            "compressed_bytes": features.compressed_bytes,
        }
    for path in paths:
        path.unlink()
    return rows


def fit_reads(
    rows: list[dict[str, Any]],
) -> tuple[list[float], dict[str, tuple[float, float]]]:
    """Shared weights and decoding costs per setting, by non-negative least squares.

    Each row is divided by its measured time, so that the fit minimises relative
    errors (a fast label-mask read counts as much as a slow float read).
    """
    from scipy.optimize import nnls

    keys = sorted({r["key"] for r in rows})
    x = np.zeros((len(rows), len(SHARED) + 2 * len(keys)))
    for index, row in enumerate(rows):
        column = len(SHARED) + 2 * keys.index(row["key"])
        x[index, : len(SHARED)] = row["shared"]
        x[index, column : column + 2] = row["decoded_bytes"], row["compressed_bytes"]
    y = np.array([r["seconds"] for r in rows])
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    weights, _ = nnls(x / scale / y[:, None], np.ones_like(y))
    weights = weights / scale
    for row, predicted in zip(rows, x @ weights, strict=True):
        row["predicted_seconds"] = float(predicted)
    shared = weights[: len(SHARED)].tolist()
    pairs = weights[len(SHARED) :].reshape(-1, 2).tolist()
    return shared, {key: (pair[0], pair[1]) for key, pair in zip(keys, pairs, strict=True)}


def fit_compression(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median seconds per input byte of single-threaded compression, per setting."""
    per_byte: dict[str, list[float]] = {}
    for row in rows:
        per_byte.setdefault(row["key"], []).append(row["compress_seconds"] / row["nbytes"])
    return {key: float(np.median(values)) for key, values in sorted(per_byte.items())}


def errors(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median relative error of the predicted read time, per volume."""
    out: dict[str, list[float]] = {}
    for row in rows:
        out.setdefault(row["volume"], []).append(abs(row["predicted_seconds"] / row["seconds"] - 1))
    return {volume: float(np.median(values)) for volume, values in out.items()}


def main(argv: list[str] | None = None) -> int:
    """Measure (or reuse the rows of ``--refit``), fit, write the results; print the model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full-size volumes (default: quick)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--passes", type=int, default=12)
    parser.add_argument("--patches", type=int, default=12)
    parser.add_argument("--refit", type=Path, help="fit the rows of an earlier output again")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "calibration.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.refit:
        rows: list[dict[str, Any]] = json.loads(args.refit.read_text())["rows"]
    else:
        rows = []
        for name, dataset in build_datasets(args.datasets, quick=not args.full).items():
            log(f"[{name}] {dataset.array.shape} {dataset.array.dtype}")
            with tempfile.TemporaryDirectory(prefix="mlarray-calibrate-") as folder:
                rows += measure(name, dataset.array, Path(folder), args.passes, args.patches)
            args.out.write_text(json.dumps({"rows": rows}) + "\n")  # kept if a later one fails
    shared, decode = fit_reads(rows)
    model = {
        "shared": dict(zip(SHARED, shared, strict=True)),
        "decode": decode,
        "compress": fit_compression(rows),
        "median_error": errors(rows),
    }
    result = model | {"seconds": round(time.perf_counter() - started), "rows": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(model, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
