"""Ours against the ``mlarray`` 0.0.54 package per volume, and each volume's frontier.

The targets of the automatic storage choice (issue 17) are same-run ratios
against the 0.0.54 package's defaults. :func:`target_table` puts them in one
Markdown table, one row per volume; :func:`frontier_plot` draws, for every volume
measured with ``--frontier``, the compression ratio against 128^3 patch reads of
every candidate the choice tried, with ours, 0.0.54 and the ``compact`` preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan import COMPACT, FRONTIER_PREFIX, LEGACY, OURS

Figures = dict[str, float | None]


Operand = tuple[str, str]
"""A figure of one format: (format name, figure key)."""


@dataclass(frozen=True)
class Target:
    """One column of the target table: the ratio of two figures and its goal.

    Attributes:
        title: Column title.
        top: The figure divided.
        bottom: The figure it is divided by (for "cold vs best of zarr, HDF5", the
            better of the two formats named in :data:`COLD_PEERS`).
        goal: The ratio to reach (at least, or at most when ``at_most``).
        at_most: Whether lower is better.
    """

    title: str
    top: Operand
    bottom: Operand
    goal: float
    at_most: bool = False

    def value(self, figures: dict[str, Figures]) -> float | None:
        """The ratio from the figures of every format, None if one is missing."""
        top, bottom = _get(figures, *self.top), _get(figures, *self.bottom)
        return None if top is None or bottom is None or bottom == 0 else top / bottom

    def cell(self, figures: dict[str, Figures], goal: float | None = None) -> str:
        """The ratio, marked with ✓ or ✗ against the goal."""
        value = self.value(figures)
        if value is None:
            return "—"
        wanted = self.goal if goal is None else goal
        met = value <= wanted if self.at_most else value >= wanted
        return f"{value:.2f} {'✓' if met else '✗'}"


BEST_COLD_PEER = "best of zarr, hdf5"
COLD_PEERS = ("zarr", "hdf5")


def _get(figures: dict[str, Figures], name: str, key: str) -> float | None:
    if name == BEST_COLD_PEER:
        peers = [figures.get(peer, {}).get(key) for peer in COLD_PEERS]
        return max((p for p in peers if p is not None), default=None)
    return figures.get(name, {}).get(key)


TARGETS = (
    Target("size", (LEGACY, "ratio"), (OURS, "ratio"), 1.0, at_most=True),
    Target("128³ reads", (OURS, "patch128_per_s"), (LEGACY, "patch128_per_s"), 1.10),
    Target("save", (OURS, "save_mbps"), (LEGACY, "save_mbps"), 2.0),
    Target("cold 128³", (OURS, "cold128_per_s"), (LEGACY, "cold128_per_s"), 1.0),
    Target("cold vs zarr, HDF5", (OURS, "cold128_per_s"), (BEST_COLD_PEER, "cold128_per_s"), 1.0),
    Target("compact ratio", (COMPACT, "ratio"), (LEGACY, "ratio"), 1.5),
    Target("compact reads", (COMPACT, "patch128_per_s"), (LEGACY, "patch128_per_s"), 0.8),
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

    Sizes are 0.0.54's ratio over ours (at most 1.00: not larger); open and memory
    are 0.0.54's figure over ours (higher is better); the rest ours over 0.0.54.
    """
    head = ["volume", *(t.title for t in TARGETS), "choice / save time", "ours stores"]
    goals = ["goal", *(f"{'≤' if t.at_most else '≥'} {t.goal:.2f}" for t in TARGETS), "≤ 10%", ""]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(TARGETS) + 1) + "|---|"]
    lines.append("| " + " | ".join(goals) + " |")
    for name, dataset in results["datasets"].items():
        figures = _figures(dataset)
        is_mask = dataset["dtype"] in ("uint8", "bool") and name.startswith("labels")
        cells = [
            t.cell(figures, LABEL_READ_GOAL if is_mask and t.title == "128³ reads" else None)
            for t in TARGETS
        ]
        share = figures.get(OURS, {}).get("choice_share")
        cells.append("—" if share is None else f"{100 * share:.1f}% {'✓' if share <= 0.1 else '✗'}")
        cells.append(dataset["formats"].get(OURS, {}).get("layout", "") or "—")
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def frontier_points(dataset: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(name, 128^3 reads/s, ratio) of every candidate measured, ours, 0.0.54 and compact."""
    points = []
    for name, figures in _figures(dataset).items():
        wanted = name.startswith(FRONTIER_PREFIX) or name in (OURS, LEGACY, COMPACT)
        reads, ratio = figures.get("patch128_per_s"), figures.get("ratio")
        if wanted and reads is not None and ratio is not None:
            points.append((name, reads, ratio))
    return points


def frontier_plot(results: dict[str, Any], path: Path) -> bool:
    """Plot the frontier of every volume measured with candidates; False if there is none."""
    every = {name: frontier_points(d) for name, d in results["datasets"].items()}
    datasets = {
        name: points
        for name, points in every.items()
        if any(p[0].startswith(FRONTIER_PREFIX) for p in points)
    }
    if not datasets:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 3
    rows = -(-len(datasets) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    styles = {
        OURS: ("tab:red", "o", "ours (chosen)"),
        LEGACY: ("tab:blue", "s", "0.0.54"),
        COMPACT: ("tab:green", "^", "compact"),
    }
    for ax, (name, points) in zip(axes.flat, datasets.items(), strict=False):
        candidates = [p for p in points if p[0].startswith(FRONTIER_PREFIX)]
        ax.scatter(
            [p[1] for p in candidates],
            [p[2] for p in candidates],
            s=14,
            c="tab:gray",
            label="candidates",
        )
        for label, reads, ratio in points:
            if label in styles:
                color, marker, text = styles[label]
                ax.scatter([reads], [ratio], c=color, marker=marker, s=40, label=text)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("128³ patch reads/s", fontsize=8)
        ax.set_ylabel("compression ratio", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
