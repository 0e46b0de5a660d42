"""Remote patch reads over loopback HTTP: ours, python-blosc2's lazy reader, zarr v3.

Usage::

    python benchmarks/remote/run.py [--quick] [--patch N] [--count N] [--passes N]
        [--readers R ...] [--out DIR] [--markdown PATH]

The synthetic CT of the main benchmark is stored once as a ``.mla`` file (read
by ours and by ``blosc2.open(url, lazy=True)``: the same bytes) and once as a
zarr v3 array with the same chunk grid and Blosc LZ4 with shuffle. One HTTP
server with range support (the one the tests use) serves both from its own
process and counts what it sends. Each reader opens the file in a fresh process
and reads the same seeded random patches one at a time; passes are interleaved
(A B C, B C A, ...) and the figures are medians over passes, ratios medians of
same-pass ratios. ``nox -s bench -- --remote`` runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
from data import FULL_CT_SHAPE, QUICK_CT_SHAPE, patch_starts, synthetic_ct  # noqa: E402

SERVER = HERE / "server.py"
READERS = ("ours", "blosc2", "zarr")
SEED = 7


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_files(folder: Path, volume: np.ndarray) -> dict[str, Any]:
    """Store the volume as ``ct.mla`` and ``ct.zarr`` (same chunk grid); describe both."""
    import zarr
    from zarr.codecs import BloscCodec

    from mlarray import MLArray

    image = MLArray(volume)
    image.save(folder / "ct.mla")
    chunks = tuple(image.meta.blosc2.chunk_size or ())
    out = zarr.create_array(
        folder / "ct.zarr",
        shape=volume.shape,
        dtype=volume.dtype,
        chunks=chunks,
        compressors=BloscCodec(cname="lz4", clevel=9, shuffle="shuffle"),
    )
    out[...] = volume
    zarr_bytes = sum(p.stat().st_size for p in (folder / "ct.zarr").rglob("*") if p.is_file())
    return {
        "chunks": list(chunks),
        "blocks": list(image.meta.blosc2.block_size or ()),
        "mla_bytes": (folder / "ct.mla").stat().st_size,
        "zarr_bytes": zarr_bytes,
    }


def measure(python: str, task: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(HERE / "measure.py"), json.dumps(task)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{task['reader']} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    if result["wrong"]:
        raise RuntimeError(f"{task['reader']} returned {result['wrong']} wrong patches")
    return result


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per reader, and medians of same-pass ratios of ours to each peer."""
    table: dict[str, Any] = {}
    for reader, results in runs.items():
        table[reader] = {
            "patches_per_s": statistics.median(r["patches"] / r["seconds"] for r in results),
            "requests_per_patch": statistics.median(r["requests"] / r["patches"] for r in results),
            "kib_per_patch": statistics.median(r["bytes"] / r["patches"] / 1024 for r in results),
            "open_requests": statistics.median(r["open_requests"] for r in results),
            "open_kib": statistics.median(r["open_bytes"] / 1024 for r in results),
            "corner_requests": statistics.median(r["corner_requests"] for r in results),
            "corner_kib": statistics.median(r["corner_bytes"] / 1024 for r in results),
        }
    if "ours" in runs:
        for reader, results in runs.items():
            if reader != "ours":
                ratios = [
                    (o["patches"] / o["seconds"]) / (p["patches"] / p["seconds"])
                    for o, p in zip(runs["ours"], results, strict=True)
                ]
                table[reader]["ours_speedup"] = statistics.median(ratios)
    return table


def markdown(summary: dict[str, Any], setup: dict[str, Any]) -> str:
    lines = [
        f"Synthetic CT {setup['shape']} int16, chunks {setup['chunks']}, blocks "
        f"{setup['blocks']}; {setup['count']} random {setup['patch']}^3 patches per pass, "
        f"{setup['passes']} passes; .mla {setup['mla_bytes'] / 2**20:.1f} MiB, zarr "
        f"{setup['zarr_bytes'] / 2**20:.1f} MiB. First patch at {setup['corner']} "
        "(across chunk borders on every axis), read cold after the open.",
        "",
        "| reader | patches/s | ours / reader | requests per patch | KiB per patch "
        "| open: requests | open: KiB | first patch: requests | first patch: KiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for reader, row in summary.items():
        ratio = f"{row['ours_speedup']:.2f}x" if "ours_speedup" in row else "-"
        lines.append(
            f"| {reader} | {row['patches_per_s']:.1f} | {ratio} | "
            f"{row['requests_per_patch']:.2f} | {row['kib_per_patch']:.1f} | "
            f"{row['open_requests']:.0f} | {row['open_kib']:.1f} | "
            f"{row['corner_requests']:.0f} | {row['corner_kib']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 128x256x256 volume, 3 passes")
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=READERS)
    parser.add_argument("--out", type=Path, default=None, help="write results.json here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    args = parser.parse_args()
    shape = QUICK_CT_SHAPE if args.quick else FULL_CT_SHAPE
    passes = 3 if args.quick else args.passes
    log(f"building the synthetic CT {shape}")
    volume, _ = synthetic_ct(shape)
    starts = patch_starts(shape, [args.patch] * 3, args.count, SEED)

    def crc(start: list[int]) -> int:
        box = tuple(slice(s, s + args.patch) for s in start)
        return zlib.crc32(np.ascontiguousarray(volume[box]))

    crcs = [crc(start) for start in starts]
    with tempfile.TemporaryDirectory(prefix="mlarray-remote-bench-") as tmp:
        folder = Path(tmp)
        setup = {**write_files(folder, volume), "shape": list(shape), "patch": args.patch}
        setup.update(count=args.count, passes=passes)
        # The first patch straddles the chunk borders on every axis (the worst case).
        corner = [chunk - args.patch // 2 for chunk in setup["chunks"]]
        setup["corner"] = corner
        server = subprocess.Popen(
            [sys.executable, str(SERVER), str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            urls = {"ours": "ct.mla", "blosc2": "ct.mla", "zarr": "ct.zarr"}
            runs: dict[str, list[dict[str, Any]]] = {r: [] for r in args.readers}
            for number in range(passes):
                order = args.readers[number % len(args.readers) :]
                order += args.readers[: number % len(args.readers)]
                for reader in order:
                    task = {"reader": reader, "server": base, "url": f"{base}/{urls[reader]}"}
                    task.update(starts=starts, crcs=crcs, patch=args.patch)
                    task.update(corner=corner, corner_crc=crc(corner))
                    runs[reader].append(measure(sys.executable, task))
                    last = runs[reader][-1]
                    log(f"pass {number + 1}/{passes} {reader}: "
                        f"{last['patches'] / last['seconds']:.1f} patches/s")  # fmt: skip
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)
    summary = summarize(runs)
    table = markdown(summary, setup)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        document = {"setup": setup, "summary": summary, "runs": runs}
        (args.out / "remote-results.json").write_text(json.dumps(document, indent=2))
    if args.markdown is not None:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
