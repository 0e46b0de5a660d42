"""Ours against the ``mlarray`` 0.0.54 package per volume, and each volume's frontier.

The targets of the automatic storage choice (issue 17) are same-run ratios
against the 0.0.54 package's defaults. :func:`target_table` puts them in one
Markdown table, one row per volume; :func:`frontier_plot` and :func:`frontier_table`
show, for every volume measured with ``--frontier``, the compression ratio against
128^3 patch reads (per CPU-second) of every candidate the choice tried, on 0.0.54's
blocks and on the ``fast`` preset's, with ours, 0.0.54 and the ``compact`` preset,
all relative to 0.0.54.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan import COMPACT, FRONTIER_PREFIX, LEGACY, OURS

Figures = dict[str, float | None]
Raw = dict[str, Any]
PerPass = Callable[[Raw, int], list[float | None]]
"""The figure of each pass of one format, from its raw results and the array's bytes."""

Operand = tuple[str, str]
"""A figure of one format: (format name, figure key)."""


def patch_rates(key: str) -> PerPass:
    """128^3 patches per second in each pass, from the raw lists ``key`` (wall or CPU)."""

    def rates(raw: Raw, nbytes: int) -> list[float | None]:
        return [
            len(p) / sum(p) if p and sum(p) > 0 else None for p in raw.get(key, {}).get("128", [])
        ]

    return rates


def cold_rates(raw: Raw, nbytes: int) -> list[float | None]:
    """Cold 128^3 patches per second in each pass."""
    return [len(p) / sum(p) if p else None for p in raw.get("cold_seconds", [])]


def save_rates(raw: Raw, nbytes: int) -> list[float | None]:
    """Save MB/s (fsync included) in each pass that wrote the file."""
    pairs = zip(raw["write_seconds"], raw["sync_seconds"], strict=True)
    return [nbytes / 1e6 / (write + sync) for write, sync in pairs]


@dataclass(frozen=True)
class Target:
    """One column of the target table: the ratio of two figures and its goal.

    With ``per_pass``, the ratio is the median over the passes of the ratio within
    each pass (the formats of a pass run one after another, so the drift of a
    shared machine cancels); otherwise it is the ratio of the two figures.

    Attributes:
        title: Column title.
        top: The figure divided.
        bottom: The figure it is divided by (for "cold vs best of zarr, HDF5", the
            better of the two formats named in :data:`COLD_PEERS`).
        goal: The ratio to reach (at least, or at most when ``at_most``).
        at_most: Whether lower is better.
        per_pass: The per-pass figure of a format, for paired ratios.
        digits: Decimals shown.
    """

    title: str
    top: Operand
    bottom: Operand
    goal: float
    at_most: bool = False
    per_pass: PerPass | None = None
    digits: int = 2

    def value(self, dataset: dict[str, Any]) -> float | None:
        """The ratio for one dataset of the results, None if a figure is missing."""
        if self.per_pass is not None:
            return self._paired(dataset)
        figures = _figures(dataset)
        top, bottom = _get(figures, *self.top), _get(figures, *self.bottom)
        return None if top is None or bottom is None or bottom == 0 else top / bottom

    def _paired(self, dataset: dict[str, Any]) -> float | None:
        assert self.per_pass is not None
        top, bottom = self._passes(dataset, self.top[0]), self._passes(dataset, self.bottom[0])
        ratios = [t / b for t, b in zip(top, bottom, strict=False) if t and b]
        return statistics.median(ratios) if ratios else None

    def _passes(self, dataset: dict[str, Any], name: str) -> list[float | None]:
        assert self.per_pass is not None
        formats = dataset["formats"]
        names = COLD_PEERS if name == BEST_COLD_PEER else (name,)
        series = [
            self.per_pass(formats[n]["raw"], dataset["nbytes"])
            for n in names
            if n in formats and formats[n]["status"] == "ok"
        ]
        if not series:
            return []
        return [
            max((v for v in values if v is not None), default=None)
            for values in zip(*series, strict=False)
        ]

    def cell(self, dataset: dict[str, Any], goal: float | None = None) -> str:
        """The ratio, marked with ✓ or ✗ against the goal."""
        value = self.value(dataset)
        if value is None:
            return "—"
        wanted = self.goal if goal is None else goal
        met = value <= wanted if self.at_most else value >= wanted
        return f"{value:.{self.digits}f} {'✓' if met else '✗'}"


BEST_COLD_PEER = "best of zarr, hdf5"
COLD_PEERS = ("zarr", "hdf5")


def _get(figures: dict[str, Figures], name: str, key: str) -> float | None:
    if name == BEST_COLD_PEER:
        peers = [figures.get(peer, {}).get(key) for peer in COLD_PEERS]
        return max((p for p in peers if p is not None), default=None)
    return figures.get(name, {}).get(key)


WALL, CPU = patch_rates("patch_seconds"), patch_rates("patch_cpu_seconds")
READS = "128³ reads"
READS_CPU = "128³ reads, CPU"
TARGETS = (
    Target("size", (LEGACY, "ratio"), (OURS, "ratio"), 1.0, at_most=True, digits=3),
    Target(READS, (OURS, ""), (LEGACY, ""), 1.10, per_pass=WALL),
    Target(READS_CPU, (OURS, ""), (LEGACY, ""), 1.10, per_pass=CPU),
    Target("save", (OURS, ""), (LEGACY, ""), 2.0, per_pass=save_rates),
    Target("cold 128³", (OURS, ""), (LEGACY, ""), 1.0, per_pass=cold_rates),
    Target("cold vs zarr, HDF5", (OURS, ""), (BEST_COLD_PEER, ""), 1.0, per_pass=cold_rates),
    Target("compact ratio", (COMPACT, "ratio"), (LEGACY, "ratio"), 1.5),
    Target("compact reads", (COMPACT, ""), (LEGACY, ""), 0.8, per_pass=WALL),
    Target("open (time)", (LEGACY, "open_ms"), (OURS, "open_ms"), 1.0),
    Target("1-patch memory", (LEGACY, "memory_mib"), (OURS, "memory_mib"), 1.0),
)
LABEL_READ_GOAL = 3.0
"""Label masks must read 128^3 patches at least 3x as fast as 0.0.54."""


def _figures(dataset: dict[str, Any]) -> dict[str, Figures]:
    return {
        name: result["figures"]
        for name, result in dataset["formats"].items()
        if result["status"] == "ok"
    }


def target_table(results: dict[str, Any]) -> str:
    """Markdown: one row per volume, each cell ours / 0.0.54 (✓ when the target is met).

    Sizes are our file's bytes over 0.0.54's (at most 1.000: not larger); open and
    memory are 0.0.54's figure over ours (higher is better); the rest ours over
    0.0.54, as medians of the ratios within each pass.
    """
    head = ["volume", *(t.title for t in TARGETS), "choice / save time", "ours stores"]
    goals = ["goal", *(f"{'≤' if t.at_most else '≥'} {t.goal:.2f}" for t in TARGETS), "≤ 10%", ""]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(TARGETS) + 1) + "|---|"]
    lines.append("| " + " | ".join(goals) + " |")
    for name, dataset in results["datasets"].items():
        is_mask = dataset["dtype"] in ("uint8", "bool") and name.startswith("labels")
        cells = [
            t.cell(dataset, LABEL_READ_GOAL if is_mask and t.title in (READS, READS_CPU) else None)
            for t in TARGETS
        ]
        share = _figures(dataset).get(OURS, {}).get("choice_share")
        cells.append("—" if share is None else f"{100 * share:.1f}% {'✓' if share <= 0.1 else '✗'}")
        cells.append(dataset["formats"].get(OURS, {}).get("layout", "") or "—")
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


READ_FIGURE = "cpu128_per_s"
"""The read figure of the frontier: patches per CPU-second (candidates run in fewer passes)."""


def frontier_points(dataset: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(name, 128^3 reads, ratio), both relative to 0.0.54, of every candidate, ours and compact."""
    figures = _figures(dataset)
    legacy = figures.get(LEGACY, {})
    base_reads, base_ratio = legacy.get(READ_FIGURE), legacy.get("ratio")
    if not base_reads or not base_ratio:
        return []
    points = []
    for name, values in figures.items():
        wanted = name.startswith(FRONTIER_PREFIX) or name in (OURS, LEGACY, COMPACT)
        reads, ratio = values.get(READ_FIGURE), values.get("ratio")
        if wanted and reads is not None and ratio is not None:
            points.append((name, reads / base_reads, ratio / base_ratio))
    return points


def _frontiers(results: dict[str, Any]) -> dict[str, list[tuple[str, float, float]]]:
    """The points of every dataset measured with ``--frontier``."""
    every = {name: frontier_points(d) for name, d in results["datasets"].items()}
    return {
        name: points
        for name, points in every.items()
        if any(p[0].startswith(FRONTIER_PREFIX) for p in points)
    }


def frontier_table(results: dict[str, Any]) -> str:
    """Markdown: every candidate (rows) on every volume (columns), ratio and reads vs 0.0.54."""
    datasets = _frontiers(results)
    if not datasets:
        return ""
    rows: dict[str, dict[str, str]] = {}
    for volume, points in datasets.items():
        for name, reads, ratio in points:
            label = name.removeprefix(FRONTIER_PREFIX)
            rows.setdefault(label, {})[volume] = f"{ratio:.3f} / {reads:.2f}"
    order = sorted(rows, key=lambda n: (not n.startswith("LZ4"), "fast" in n, n))
    lines = ["| candidate | " + " | ".join(datasets) + " |", "|---" + "|---:" * len(datasets) + "|"]
    for label in order:
        cells = [rows[label].get(volume, "—") for volume in datasets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def frontier_plot(results: dict[str, Any], path: Path) -> bool:
    """Plot the frontier of every volume measured with candidates; False if there is none."""
    datasets = _frontiers(results)
    if not datasets:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = -(-len(datasets) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows), squeeze=False)
    styles = {
        OURS: ("tab:red", "o", "ours (chosen)"),
        LEGACY: ("tab:blue", "s", "0.0.54"),
        COMPACT: ("tab:green", "^", "compact preset"),
    }
    for ax, (name, points) in zip(axes.flat, datasets.items(), strict=False):
        for layout, marker in (("0.0.54 blocks", "o"), ("fast blocks", "x")):
            shown = [p for p in points if p[0].startswith(FRONTIER_PREFIX) and layout in p[0]]
            ax.scatter(
                [p[1] for p in shown],
                [p[2] for p in shown],
                s=16,
                marker=marker,
                c="tab:gray",
                label=f"candidates, {layout}",
            )
        for label, reads, ratio in points:
            if label in styles:
                color, marker, text = styles[label]
                ax.scatter([reads], [ratio], c=color, marker=marker, s=36, label=text)
        goal = LABEL_READ_GOAL if name.startswith("labels") else 1.10
        ax.axvline(goal, color="tab:orange", linewidth=0.8, linestyle="--")
        ax.axhline(1.0, color="tab:orange", linewidth=0.8, linestyle="--")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("128³ reads per CPU-s, x 0.0.54", fontsize=7)
        ax.set_ylabel("compression ratio, x 0.0.54", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
