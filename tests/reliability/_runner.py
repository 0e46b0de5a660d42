"""Run corpus cases in worker subprocesses and attribute every death to its case.

Cases are split into shards; each shard runs in one worker process
(:mod:`tests.reliability._worker`) at a time. When a worker dies (signal, abort,
non-zero exit) or stops making progress, the case it had started is recorded as
crashed or hung, and a fresh worker resumes with the next case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("_worker.py")
MEMORY_HEADROOM = 1536 * 2**20
"""Address space a case may add to the worker's (RLIMIT_AS = baseline + this)."""
STALL_SECONDS = 60.0
"""A worker that logs nothing for this long (one operation of one case) is killed; its
current case hung."""


@dataclass(frozen=True)
class CaseResult:
    """What happened to one case.

    Attributes:
        index: Position of the case in the list given to :func:`run_cases`.
        ops: Outcome of each operation (see the worker), or None if the worker died.
        death: None, or how the worker died on this case (``"signal SIGSEGV"``,
            ``"exit status 1"``, ``"hung"``), with the tail of its stderr.
    """

    index: int
    ops: dict[str, str] | None
    death: str | None


def _describe_exit(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"


def _run_shard(
    cases: list[dict[str, Any]],
    references: dict[str, str],
    folder: Path,
    shard: int,
) -> dict[int, CaseResult]:
    results: dict[int, CaseResult] = {}
    first = 0
    attempt = 0
    while first < len(cases):
        attempt += 1
        log = folder / f"shard{shard}-{attempt}.log"
        job = folder / f"shard{shard}-{attempt}.json"
        job.write_text(
            json.dumps(
                {
                    "cases": cases,
                    "references": references,
                    "first": first,
                    "log": str(log),
                    "memory_headroom": MEMORY_HEADROOM,
                }
            )
        )
        log.touch()
        stderr_path = folder / f"shard{shard}-{attempt}.stderr"
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(WORKER), str(job)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=os.environ.copy(),
            )
            death = _watch(process, log)
        started, operation = None, ""
        for line in log.read_text().splitlines():
            if line.startswith("start "):
                started = int(line.split()[1])
                continue
            if line.startswith("op "):
                operation = line[3:]
                continue
            record = json.loads(line)
            results[record["index"]] = CaseResult(record["index"], record["ops"], None)
            started = None
        if death is None and started is None:
            break
        if started is None:  # died between cases (start-up): report on the next case
            started = first
        tail = stderr_path.read_text(errors="replace")[-2000:]
        what = f"{death or 'exited early'} (operation {operation or 'none yet'})"
        results[started] = CaseResult(started, None, f"{what}\n{tail}")
        first = started + 1
    return results


def _watch(process: subprocess.Popen[bytes], log: Path) -> str | None:
    """Wait for ``process``; kill it when ``log`` stops growing. Return how it died."""
    size, last_change = -1, time.monotonic()
    while True:
        code = process.poll()
        if code is not None:
            return None if code == 0 else _describe_exit(code)
        current = log.stat().st_size
        if current != size:
            size, last_change = current, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            process.kill()
            process.wait()
            return "hung"
        time.sleep(0.02)


def run_cases(
    cases: list[dict[str, Any]], references: dict[str, str], folder: Path, *, shards: int = 2
) -> list[CaseResult]:
    """Run every case in worker subprocesses; return one result per case, in order.

    Args:
        cases: Worker case dicts (``path``, ``reference`` name, ``patch``).
        references: Reference name to ``.npy`` path.
        folder: Where job files and logs are written.
        shards: Number of workers running at once.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parts = [cases[shard::shards] for shard in range(shards)]
    with ThreadPoolExecutor(shards) as pool:
        futures = [
            pool.submit(_run_shard, part, references, folder, shard)
            for shard, part in enumerate(parts)
        ]
        shard_results = [future.result() for future in futures]
    results: list[CaseResult] = []
    for index in range(len(cases)):
        shard, position = index % shards, index // shards
        result = shard_results[shard][position]
        results.append(CaseResult(index, result.ops, result.death))
    return results
