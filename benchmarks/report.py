"""Turn raw worker results into figures, and figures into a table, markdown, JSON and a plot."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan import FRONTIER_PREFIX, OURS
from targets import frontier_plot, frontier_table, target_table

MIB = 1024 * 1024


@dataclass(frozen=True)
class Figure:
    """One column of the report.

    Attributes:
        key: Key in the JSON ``figures`` mapping.
        title: Column title.
        higher_is_better: Direction, shown as an arrow in the title.
        digits: Decimals printed.
    """

    key: str
    title: str
    higher_is_better: bool
    digits: int

    @property
    def heading(self) -> str:
        """The title with its direction arrow."""
        return f"{self.title} {'↑' if self.higher_is_better else '↓'}"


FIGURES = (
    Figure("save_mbps", "save MB/s", True, 0),
    Figure("ratio", "ratio", True, 2),
    Figure("patch128_per_s", "128³/s", True, 0),
    Figure("cpu128_per_s", "128³/CPU-s", True, 0),
    Figure("patch192_per_s", "192³/s", True, 0),
    Figure("load1_s", "load 1t s", False, 3),
    Figure("load2_s", "load 2t s", False, 3),
    Figure("open_ms", "open ms", False, 3),
    Figure("memory_mib", "1-patch MiB", False, 1),
    Figure("cold128_per_s", "cold 128³/s", True, 1),
    Figure("cold_read_mib", "cold MiB read", False, 1),
)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(raw: dict[str, Any], nbytes: int, file_bytes: int | None) -> dict[str, float | None]:
    """Compute every figure from the raw results of all passes of one format.

    Args:
        raw: Lists of per-pass results (``write_seconds``, ``sync_seconds``,
            ``patch_seconds`` and ``patch_cpu_seconds`` per size, ``load_seconds`` per
            thread count, ``open_seconds``, ``extra_peak_kib``, ``cold_seconds``,
            ``cold_read_bytes`` and ``choice_seconds``).
        nbytes: Uncompressed size of the array.
        file_bytes: Size on disk of the format's file(s), if known.

    Returns:
        Figure key to value, ``None`` where not measured.
    """
    durations = zip(raw["write_seconds"], raw["sync_seconds"], strict=True)
    saves = [nbytes / 1e6 / (write + sync) for write, sync in durations]
    rates = {
        label: _median([len(p) / sum(p) for p in passes if p])
        for label, passes in raw["patch_seconds"].items()
    }
    cpu_rates = {
        label: _median([len(p) / sum(p) for p in passes if p and sum(p) > 0])
        for label, passes in raw.get("patch_cpu_seconds", {}).items()
    }
    loads = {n: _median(v) for n, v in raw["load_seconds"].items()}
    opens = [s for per_pass in raw["open_seconds"] for s in per_pass]
    memory = raw["extra_peak_kib"]
    choice = raw.get("choice_seconds", [])
    cold = [len(p) / sum(p) for p in raw.get("cold_seconds", []) if p]
    cold_bytes = [b for per_pass in raw.get("cold_read_bytes", []) for b in per_pass]
    return {
        "save_mbps": _median(saves),
        "ratio": nbytes / file_bytes if file_bytes else None,
        "patch128_per_s": rates.get("128"),
        "patch192_per_s": rates.get("192"),
        "cpu128_per_s": cpu_rates.get("128"),
        "load1_s": loads.get("1"),
        "load2_s": loads.get("2"),
        "open_ms": 1000 * statistics.median(opens) if opens else None,
        "memory_mib": memory[0] / 1024 if memory else None,
        "cold128_per_s": _median(cold),
        "cold_read_mib": statistics.median(cold_bytes) / MIB if cold_bytes else None,
        "choice_share": (
            statistics.median(choice) / (nbytes / 1e6 / statistics.median(saves))
            if choice and saves
            else None
        ),
    }


def _cell(figure: Figure, value: float | None, ours: float | None, with_ratio: bool) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{figure.digits}f}"
    if with_ratio and ours:
        text += f" ({value / ours:.2f})"
    return text


def _formats(dataset: dict[str, Any]) -> dict[str, Any]:
    """The formats of a dataset, without the candidates measured for the frontier."""
    return {n: r for n, r in dataset["formats"].items() if not n.startswith(FRONTIER_PREFIX)}


def _rows(dataset: dict[str, Any], with_ratio: bool) -> list[list[str]]:
    """Header row plus one row per format; a failed format shows its error."""
    formats = _formats(dataset)
    ours = formats.get(OURS, {}).get("figures") or {}
    rows = [["format", *(f.heading for f in FIGURES)]]
    for name, result in formats.items():
        if result["status"] != "ok":
            rows.append([name, f"FAILED: {result['error']}"])
            continue
        values = result["figures"]
        cells = [_cell(f, values[f.key], ours.get(f.key), with_ratio) for f in FIGURES]
        rows.append([name, *cells])
    return rows


def _caption(name: str, dataset: dict[str, Any]) -> str:
    shapes = ", ".join("x".join(map(str, s)) for s in dataset["patch_shapes"].values())
    size = dataset["nbytes"] / MIB
    return f"{name}: {dataset['description']}, {size:.0f} MiB; patches {shapes}"


def text_table(name: str, dataset: dict[str, Any]) -> str:
    """A fixed-width table of one dataset; each figure followed by its ratio to ours."""
    rows = _rows(dataset, with_ratio=True)
    full = [r for r in rows if len(r) == len(rows[0])]
    widths = [max(len(r[i]) for r in (rows if i == 0 else full)) for i in range(len(rows[0]))]
    lines = [_caption(name, dataset)]
    for row in rows:
        if len(row) == len(widths):
            cells = [row[0].ljust(widths[0])]
            cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells))
        else:
            lines.append(f"{row[0].ljust(widths[0])}  {row[1]}")
    return "\n".join(lines)


def layouts(dataset: dict[str, Any]) -> list[str]:
    """One ``format: layout (library version)`` line per format that ran."""
    return [
        f"{name}: {r['layout'] or '-'} ({r['version']})"
        for name, r in _formats(dataset).items()
        if r.get("version")
    ]


def markdown(results: dict[str, Any]) -> str:
    """A markdown section for docs/benchmarks.md: settings, then one table per dataset."""
    meta = results["meta"]
    lines = [
        f"Measured {meta['created']} on {meta['machine']}"
        f" ({'quick run' if meta['quick'] else 'full run'}, {meta['seconds']:.0f} s).",
        "Reproduce with `nox -s bench` (`nox -s bench -- --quick` for the short run).",
        "Each cell: the figure, then in parentheses its ratio to ours (ours = 1.00).",
        "↑ higher is better, ↓ lower is better. Warm page cache, patch reads in one thread;",
        "128³/CPU-s counts the reading process's CPU time instead of the clock (less",
        "disturbed by other processes on a shared machine).",
        "Save includes an fsync. 1-patch MiB: peak RSS growth of a fresh process that opens"
        " the file and reads one 128³ patch (memory-mapped file pages it touches count).",
        "",
    ]
    lines += ["### Against mlarray 0.0.54, per volume", "", target_table(results), ""]
    if frontier := frontier_table(results):
        lines += ["### Frontier: ratio / 128³ reads per CPU-s, both x 0.0.54", "", frontier, ""]
    for name, dataset in results["datasets"].items():
        rows = _rows(dataset, with_ratio=True)
        width = len(rows[0])
        lines += [f"### {_caption(name, dataset)}", ""]
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|---" + "|---:" * (width - 1) + "|")
        for row in rows[1:]:
            padded = row + [""] * (width - len(row))
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in padded) + " |")
        lines += ["", *(f"- {line}" for line in layouts(dataset)), ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Bar charts of 128³ patch reads/s and save MB/s per format, one row per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = results["datasets"]
    panels: list[tuple[str, Callable[[dict[str, Any]], float | None]]] = [
        ("128³ patch reads/s (1 thread)", lambda f: f["patch128_per_s"]),
        ("save MB/s", lambda f: f["save_mbps"]),
    ]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 3.2 * len(datasets)), squeeze=False)
    for row, (name, dataset) in zip(axes, datasets.items(), strict=True):
        formats = _formats(dataset)
        names = list(formats)
        for ax, (title, get) in zip(row, panels, strict=True):
            values = [
                (get(r["figures"]) or 0.0) if r["status"] == "ok" else 0.0 for r in formats.values()
            ]
            colors = ["tab:red" if n == OURS else "tab:gray" for n in names]
            ax.barh(names, values, color=colors)
            for index, result in enumerate(formats.values()):
                if result["status"] != "ok":
                    ax.text(0, index, " failed", va="center", color="tab:red", fontsize=8)
            ax.invert_yaxis()
            ax.set_title(f"{name}: {title}", fontsize=10)
            ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(results: dict[str, Any], out: Path, markdown_path: Path | None) -> str:
    """Write latest.json, latest.txt, latest.png (and frontier.png) to ``out``, markdown if asked.

    Returns:
        The text tables, for printing.
    """
    out.mkdir(parents=True, exist_ok=True)
    text = "\n\n".join(text_table(n, d) for n, d in results["datasets"].items())
    text += "\n\nAgainst mlarray 0.0.54, per volume\n" + target_table(results)
    if frontier := frontier_table(results):
        text += "\n\nFrontier: ratio / 128³ reads per CPU-s, both x 0.0.54\n" + frontier
    (out / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "latest.txt").write_text(text + "\n")
    plot(results, out / "latest.png")
    frontier_plot(results, out / "frontier.png")
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(markdown(results))
    return text
