"""The loader benchmark: end-to-end patches/s of training loaders, side by side.

Usage (``nox -s bench -- --loader`` sets up the venvs and runs this)::

    python benchmarks/loader/run.py --nnunet-python P --medh5-python P --torchio-python P
        [--out DIR] [--passes 5] [--batches 30] [--cases 8] [--quick] [--markdown PATH]

Every loader is measured by ``measure.py`` in a fresh process under its own venv's
interpreter, with 0 and 2 worker processes, in passes interleaved across loaders
(the order rotates each pass) so that drift of the shared machine affects all of
them alike; the tables give medians over the passes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from prepare import prepare  # noqa: E402

LOADERS = ("mlarray", "nnunet", "medh5", "torchio", "npy", "transfer")
TITLES = {
    "mlarray": "mlarray PatchDataset (.mla)",
    "nnunet": "nnU-Net nnUNetDataLoader (blosc2)",
    "medh5": "medh5 PatchDataset (.medh5)",
    "torchio": "TorchIO Queue + LabelSampler (.nii.gz)",
    "npy": ".npy memmap, our sampler",
    "transfer": "DataLoader hand-over only (no reads)",
}
SIZE_KEYS = {"mlarray": "mlarray", "nnunet": "nnU-Net", "medh5": "medh5", "torchio": "NIfTI"}
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "BLOSC_NTHREADS": "1"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(python: str, loader: str, data: Path, workers: int, args: argparse.Namespace) -> dict:
    command = [python, str(HERE / "measure.py"), loader, str(data), "--workers", str(workers)]
    command += ["--batches", str(args.batches), "--warmup", str(args.warmup), "--seed", "0"]
    env = {**__import__("os").environ, **SINGLE_THREAD_ENV}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        log(f"{loader} ({workers} workers) FAILED:\n{result.stderr[-3000:]}")
        return {"failed": result.stderr[-500:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_passes(pythons: dict[str, str], data: Path, args: argparse.Namespace) -> dict:
    runs: dict[str, list[dict[str, Any]]] = {}
    loaders = [name for name in LOADERS if name in pythons]
    for number in range(args.passes):
        order = loaders[number % len(loaders) :] + loaders[: number % len(loaders)]
        for workers in args.workers:
            for loader in order:
                result = measure(pythons[loader], loader, data, workers, args)
                runs.setdefault(f"{loader}/{workers}", []).append(result)
                rate = result.get("patches_per_s", float("nan"))
                log(f"pass {number + 1}: {loader:8s} {workers} workers {rate:7.1f} patches/s")
    return runs


def summarize(runs: dict, sizes: dict) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key, results in runs.items():
        good = [r for r in results if "patches_per_s" in r]
        if not good:
            figures[key] = {"failed": True}
            continue
        figures[key] = {
            "patches_per_s": statistics.median(r["patches_per_s"] for r in good),
            "peak_mib": statistics.median(r["peak_mib"] for r in good),
            "cpu_ms_per_patch": statistics.median(r["cpu_ms_per_patch"] for r in good),
            "passes": [round(r["patches_per_s"], 1) for r in good],
        }
    for key, entry in figures.items():
        base = runs.get("nnunet/" + key.split("/")[1], [])
        pairs = [
            (mine["patches_per_s"], theirs["patches_per_s"])
            for mine, theirs in zip(runs[key], base, strict=False)
            if "patches_per_s" in mine and "patches_per_s" in theirs
        ]
        if pairs:  # the machine drifts between passes: compare within each pass
            entry["x_nnunet"] = statistics.median(a / b for a, b in pairs)
    per_case = {}
    for fmt in {k for case in sizes.values() for k in case}:
        per_case[fmt] = statistics.mean(case[fmt] for case in sizes.values()) / 2**20
    return {"figures": figures, "mib_per_case": per_case}


def markdown(summary: dict, workers: list[int]) -> str:
    figures, sizes = summary["figures"], summary["mib_per_case"]
    head = "| Loader | " + " | ".join(f"{w} workers: patches/s (x nnU-Net)" for w in workers)
    # "x nnU-Net" is the median over passes of the ratio within each pass
    head += " | " + " | ".join(
        f"peak MiB per {'process' if w == 0 else 'worker'} ({w})" for w in workers
    )
    head += " | " + " | ".join(f"CPU ms per patch ({w})" for w in workers)
    lines = [head + " | MiB per case |", "|---" * (2 + 3 * len(workers)) + "|"]
    for loader in LOADERS:
        cells = []
        for w in workers:
            mine = figures.get(f"{loader}/{w}", {})
            if "patches_per_s" not in mine:
                cells.append("failed")
                continue
            cells.append(f"{mine['patches_per_s']:.1f} ({mine.get('x_nnunet', 0.0):.2f}x)")
        for w in workers:
            mine = figures.get(f"{loader}/{w}", {})
            cells.append(f"{mine['peak_mib']:.0f}" if "peak_mib" in mine else "-")
        for w in workers:
            mine = figures.get(f"{loader}/{w}", {})
            cells.append(f"{mine['cpu_ms_per_patch']:.1f}" if "cpu_ms_per_patch" in mine else "-")
        size = sizes.get(SIZE_KEYS.get(loader, loader), 0.0)
        lines.append(f"| {TITLES[loader]} | " + " | ".join(cells) + f" | {size:.1f} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, workers: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = summary["figures"]
    shown = [name for name in LOADERS if name != "transfer"]  # its bar would dwarf the rest
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(workers)
    for offset, w in enumerate(workers):
        rates = [figures.get(f"{name}/{w}", {}).get("patches_per_s", 0.0) for name in shown]
        positions = [i + offset * width for i in range(len(shown))]
        ax.barh(positions, rates, height=width, label=f"{w} workers")
    ax.set_yticks([i + width * (len(workers) - 1) / 2 for i in range(len(shown))])
    ax.set_yticklabels([TITLES[name] for name in shown])
    ax.invert_yaxis()
    ax.set_xlabel("patches per second (batch of 2 x 128^3 float32, higher is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE.parent / "results" / "loader")
    parser.add_argument("--nnunet-python", required=True)
    parser.add_argument("--medh5-python")
    parser.add_argument("--torchio-python")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--loaders", nargs="+", choices=LOADERS, default=list(LOADERS))
    parser.add_argument("--quick", action="store_true", help="small cases, 2 passes")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--plot", type=Path, help="write the plot here (PNG)")
    args = parser.parse_args()
    if args.quick:
        args.passes, args.batches, args.cases = 2, 10, 4
    data = args.out / ("data-quick" if args.quick else "data")
    data.mkdir(parents=True, exist_ok=True)
    medh5 = Path(args.medh5_python) if args.medh5_python else None
    sizes = prepare(
        data, count=args.cases, quick=args.quick, nnunet=Path(args.nnunet_python), medh5=medh5
    )
    pythons = {"mlarray": sys.executable, "npy": sys.executable, "nnunet": args.nnunet_python}
    pythons["transfer"] = sys.executable
    if args.medh5_python:
        pythons["medh5"] = args.medh5_python
    if args.torchio_python:
        pythons["torchio"] = args.torchio_python
    pythons = {k: v for k, v in pythons.items() if k in args.loaders}
    runs = run_passes(pythons, data, args)
    summary = summarize(runs, sizes)
    summary["settings"] = {
        k: v
        for k, v in vars(args).items()
        if k in ("passes", "batches", "warmup", "cases", "workers")
    }
    (args.out / "loader.json").write_text(json.dumps({"runs": runs, **summary}, indent=2))
    table = markdown(summary, args.workers)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    plot(summary, args.workers, args.plot or args.out / "loader.png")


if __name__ == "__main__":
    main()
