"""Side-by-side benchmark of ours, mlarray 0.0.54 and the usual array formats.

Usage::

    python benchmarks/run.py [--quick] [--formats F ...] [--datasets D ...]
        [--legacy-python PATH] [--ours-python PATH] [--out DIR] [--markdown PATH]

Every format is measured by ``worker.py`` in fresh processes under the right
interpreter, in passes interleaved across formats (A B A B) so that drift of the
machine affects all of them alike. ``nox -s bench`` runs it with both venvs set up.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from data import DATASET_NAMES, Dataset, build_datasets
from formats import written_files
from plan import (
    FORMAT_NAMES,
    FRONTIER_PASSES,
    FULL,
    QUICK,
    FormatSpec,
    Settings,
    frontier_formats,
    frontier_steps,
    memory_steps,
    pass_steps,
    patch_shapes,
    select_formats,
)
from report import summarize, write_outputs

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
SINGLE_THREAD_ENV = {
    "BLOSC_NTHREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "ZARR_THREADING__MAX_WORKERS": "1",
}


class WorkerError(RuntimeError):
    """A worker process failed; the message says why."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(message, file=sys.stderr, flush=True)


def call_worker(python: str | None, task: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one worker task under ``python`` and return its JSON result.

    Raises:
        WorkerError: No interpreter, a crash, a timeout or an error reported by the worker.
    """
    if not python:
        raise WorkerError("no interpreter given (pass --legacy-python / --ours-python)")
    env = os.environ | SINGLE_THREAD_ENV
    try:
        proc = subprocess.run(
            [python, str(WORKER), json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError as exc:
        raise WorkerError(f"interpreter not found: {python}") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(f"worker timed out after {timeout:.0f} s") from exc
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise WorkerError(f"worker exited with code {proc.returncode}: {tail}") from None
    if "error" in result:
        raise WorkerError(result["error"])
    return result


class FormatRun:
    """What one format accumulated over the passes of one dataset."""

    def __init__(self, spec: FormatSpec, python: str | None) -> None:
        self.spec = spec
        self.python = python
        self.error: str | None = None
        self.info: dict[str, str] = {"version": "", "layout": "", "python": python or ""}
        self.raw: dict[str, Any] = {
            "write_seconds": [],
            "sync_seconds": [],
            "choice_seconds": [],
            "open_seconds": [],
            "patch_seconds": {},
            "patch_cpu_seconds": {},
            "load_seconds": {},
            "extra_peak_kib": [],
            "cold_seconds": [],
            "cold_read_bytes": [],
        }

    def add(self, result: dict[str, Any]) -> None:
        """Merge one worker result into the raw lists."""
        self.info |= {k: result[k] for k in ("version", "layout", "python") if result.get(k)}
        raw = self.raw
        raw["write_seconds"] += result.get("write_seconds", [])
        raw["sync_seconds"] += result.get("sync_seconds", [])
        raw["choice_seconds"] += result.get("choice_seconds", [])
        if "open_seconds" in result:
            raw["open_seconds"].append(result["open_seconds"])
        for key in ("patch_seconds", "patch_cpu_seconds", "load_seconds"):
            for label, value in result.get(key, {}).items():
                raw[key].setdefault(label, []).append(value)
        if "extra_peak_kib" in result:
            raw["extra_peak_kib"].append(result["extra_peak_kib"])
        for key in ("cold_seconds", "cold_read_bytes"):
            if key in result:
                raw[key].append(result[key])


class DatasetRun:
    """Measure all formats on one dataset.

    Args:
        dataset: The data.
        specs: Formats to measure, writers before their readers.
        settings: How much to measure.
        pythons: Interpreter per role (``ours``, ``legacy``, ``bench``).
        folder: Existing empty folder for the files.
    """

    def __init__(
        self,
        dataset: Dataset,
        specs: list[FormatSpec],
        settings: Settings,
        pythons: dict[str, str | None],
        folder: Path,
    ) -> None:
        self.dataset, self.settings, self.folder = dataset, settings, folder
        self.runs = {s.name: FormatRun(s, pythons[s.python]) for s in specs}
        self.source = folder / "source.npy"
        np.save(self.source, dataset.array)

    def path(self, spec: FormatSpec) -> Path:
        """The file a format writes, or reads when it reads another format's file."""
        owner = self.runs[spec.reads_file_of].spec if spec.reads_file_of else spec
        stem = f"candidate-{list(self.runs).index(owner.name)}" if owner.candidate else owner.name
        return self.folder / f"{stem}{owner.suffix}"

    def _task(self, run: FormatRun, steps: dict[str, Any]) -> None:
        spec = run.spec
        if spec.reads_file_of and self.runs[spec.reads_file_of].error:
            run.error = f"needs the file of {spec.reads_file_of}, which failed"
            return
        task = {
            "adapter": spec.adapter,
            "options": spec.options_for(self.dataset.array.dtype),
            "path": str(self.path(spec)),
            "source": str(self.source),
            "steps": steps,
        }
        started = time.perf_counter()
        try:
            run.add(call_worker(run.python, task, self.settings.timeout))
        except WorkerError as exc:
            run.error = str(exc)
        status = f"FAILED: {run.error}" if run.error else "ok"
        log(f"  {spec.name:<18} {time.perf_counter() - started:6.1f} s  {status}")

    def measure(self) -> dict[str, Any]:
        """Run the interleaved passes and the memory probes; return the dataset's results."""
        shape, settings = self.dataset.array.shape, self.settings
        for index in range(settings.passes):
            log(f"[{self.dataset.name}] pass {index + 1}/{settings.passes}")
            for run in self.runs.values():
                if run.error:
                    continue
                if run.spec.candidate:
                    if index < FRONTIER_PASSES:
                        self._task(run, frontier_steps(shape, settings, index, index == 0))
                else:
                    writes = index < settings.write_passes and not run.spec.reads_file_of
                    self._task(run, pass_steps(shape, settings, index, writes))
        log(f"[{self.dataset.name}] memory of one patch read in a fresh process")
        for run in self.runs.values():
            if not run.error and not run.spec.candidate:
                self._task(run, memory_steps(shape, settings))
        return self._results()

    def _results(self) -> dict[str, Any]:
        array = self.dataset.array
        formats = {}
        for name, run in self.runs.items():
            files = written_files(str(self.path(run.spec)))
            size = sum(f.stat().st_size for f in files if f.exists()) or None
            if run.spec.reads_file_of:
                run.info["layout"] = f"the file written by {run.spec.reads_file_of}"
            formats[name] = {
                "status": "failed" if run.error else "ok",
                "error": run.error,
                **run.info,
                "file_bytes": size,
                "figures": summarize(run.raw, array.nbytes, size),
                "raw": run.raw,
            }
        return {
            "description": self.dataset.description,
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "nbytes": array.nbytes,
            "patch_shapes": patch_shapes(array.shape, self.settings),
            "formats": formats,
        }


def machine() -> str:
    """CPU model and core count, for the record."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln)
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small CT, fewer passes (< 2 min)")
    parser.add_argument("--formats", nargs="+", choices=FORMAT_NAMES, help="default: all")
    parser.add_argument("--datasets", nargs="+", choices=DATASET_NAMES, help="default: all")
    parser.add_argument("--legacy-python", help="python of a venv with mlarray==0.0.54")
    parser.add_argument(
        "--ours-python", default=sys.executable, help="python with our packages (default: this one)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    parser.add_argument("--markdown", type=Path, help="also write the tables as markdown here")
    parser.add_argument("--passes", type=int, help="interleaved passes (default: 5, quick 2)")
    parser.add_argument(
        "--frontier",
        action="store_true",
        help="also measure every candidate of the automatic storage choice (ratio and reads)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the outputs; return the process exit code."""
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.passes:
        writes = min(settings.write_passes, args.passes)
        settings = dataclasses.replace(settings, passes=args.passes, write_passes=writes)
    specs = select_formats(args.formats)
    pythons = {"ours": args.ours_python, "legacy": args.legacy_python, "bench": sys.executable}
    started = time.perf_counter()
    datasets = build_datasets(args.datasets or DATASET_NAMES, args.quick)
    log(f"data ready in {time.perf_counter() - started:.1f} s")
    results = {}
    for name, dataset in datasets.items():
        candidates = frontier_formats(dataset.array) if args.frontier else []
        with tempfile.TemporaryDirectory(prefix=f"mlarray-bench-{name}-") as work:
            run = DatasetRun(dataset, specs + candidates, settings, pythons, Path(work))
            results[name] = run.measure()
    meta = {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python benchmarks/run.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "quick": args.quick,
        "settings": settings.to_json(),
        "pythons": pythons,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(write_outputs({"meta": meta, "datasets": results}, args.out, args.markdown))
    log(f"done in {meta['seconds']} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
