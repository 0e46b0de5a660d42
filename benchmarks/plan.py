"""What to measure: the formats under test, the run settings and the worker tasks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from data import patch_starts

OURS = "ours"
LEGACY = "mlarray-0.0.54"
COMPACT = "ours-compact"
FRONTIER_PREFIX = "candidate: "
FILTER_NAMES = {"none": "NOFILTER", "shuffle": "SHUFFLE", "bitshuffle": "BITSHUFFLE"}
FAST_BLOCK_BUDGET = 40 * 1024
"""The ``fast`` preset's block budget (mlarray._storage.L1_BLOCK_BUDGET)."""
FRONTIER_PASSES = 3
"""Passes in which the frontier's candidates are measured (the first ones)."""
BLOCK_BYTES = 32 * 1024


@dataclass(frozen=True)
class Settings:
    """How much to measure.

    Attributes:
        passes: Interleaved passes (A B A B ...); every figure is a median over them.
        write_passes: The first passes that also (re)write the file before reading it.
        patches_per_pass: Random patch positions read per size and pass.
        opens_per_pass: Header-only opens timed per pass.
        max_patch_seconds: Stop a size's reads in a pass past this much read time (slow formats).
        patch_sizes: Edge lengths of the cubic patches, clipped to the array shape.
        load_threads: Thread counts of the whole-volume loads.
        timeout: Seconds after which a worker process is killed and the format marked failed.
    """

    passes: int
    write_passes: int
    patches_per_pass: int
    opens_per_pass: int
    max_patch_seconds: float
    patch_sizes: tuple[int, ...] = (128, 192)
    load_threads: tuple[int, ...] = (1, 2)
    timeout: float = 900.0

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON values."""
        return asdict(self)

    @property
    def cold_patches_per_pass(self) -> int:
        """128^3 patches read per pass with the file out of the page cache."""
        return max(5, self.patches_per_pass // 4)


QUICK = Settings(
    passes=2, write_passes=1, patches_per_pass=20, opens_per_pass=50, max_patch_seconds=0.5
)
FULL = Settings(
    passes=5, write_passes=3, patches_per_pass=50, opens_per_pass=200, max_patch_seconds=6.0
)


def tuned_blosc2(dtype: np.dtype) -> dict[str, Any]:
    """Patch-tuned Blosc2 layout: 64^3 chunks, blocks of about 32 KiB, LZ4, shuffle if it helps."""
    edges = [32, 32, 32]
    while int(np.prod(edges)) * dtype.itemsize > BLOCK_BYTES:
        edges[edges.index(max(edges))] //= 2
    filters = ["SHUFFLE"] if dtype.itemsize > 1 else []
    return {
        "chunks": [64, 64, 64],
        "blocks": sorted(edges),
        "cparams": {"codec": "LZ4", "clevel": 5, "filters": filters},
    }


@dataclass(frozen=True)
class FormatSpec:
    """One contestant of the benchmark.

    Attributes:
        name: Row name in the report.
        adapter: Adapter name in :data:`formats.ADAPTERS`.
        python: Which interpreter runs it: ``"ours"``, ``"legacy"`` or ``"bench"``.
        suffix: File name suffix.
        options: Fixed adapter options.
        tuned: Whether to add :func:`tuned_blosc2` options for the dataset's dtype.
        reads_file_of: Read another format's file instead of writing one.
        candidate: A candidate of the automatic choice, measured for the frontier only
            (written once, then its 128^3 patch reads).
    """

    name: str
    adapter: str
    python: str
    suffix: str
    options: dict[str, Any] = field(default_factory=dict)
    tuned: bool = False
    reads_file_of: str | None = None
    candidate: bool = False

    def options_for(self, dtype: np.dtype) -> dict[str, Any]:
        """Adapter options for an array of ``dtype``."""
        return self.options | (tuned_blosc2(dtype) if self.tuned else {})


ZARR_BLOSC = {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}
FORMATS: tuple[FormatSpec, ...] = (
    FormatSpec(OURS, "mlarray", "ours", ".mla"),
    FormatSpec(LEGACY, "mlarray", "legacy", ".mla"),
    FormatSpec("ours-reads-0.0.54", "mlarray", "ours", ".mla", reads_file_of=LEGACY),
    FormatSpec(COMPACT, "mlarray", "ours", ".mla", {"cparams": "compact"}),
    FormatSpec("blosc2", "blosc2", "bench", ".b2nd"),
    FormatSpec("blosc2-tuned", "blosc2", "bench", ".b2nd", tuned=True),
    FormatSpec("zarr", "zarr", "bench", ".zarr"),
    FormatSpec("zarr-64", "zarr", "bench", ".zarr", {"chunks": [64] * 3, "blosc": ZARR_BLOSC}),
    FormatSpec("hdf5", "hdf5", "bench", ".h5", {"chunks": [32, 64, 64]}),
    FormatSpec("nifti-gz", "nifti", "bench", ".nii.gz", {"gzip": True}),
    FormatSpec("nifti", "nifti", "bench", ".nii", {"gzip": False}),
    FormatSpec("npy", "npy", "bench", ".npy"),
)
FORMAT_NAMES = tuple(spec.name for spec in FORMATS)


def default_choice(array: np.ndarray) -> tuple[Any, Any]:
    """The automatic choice for ``array`` saved with the defaults, and the ``fast`` layout.

    Returns:
        The :class:`mlarray._autotune.StorageChoice` (None for arrays not tuned) and
        the ``fast`` preset's chunks and blocks as a
        :class:`mlarray._autotune._layouts.NamedLayout`.
    """
    from mlarray._autotune import automatic_choice
    from mlarray._autotune._layouts import NamedLayout
    from mlarray.chunking import resolve_layout

    fast = resolve_layout(array.shape, array.itemsize, block_budget=FAST_BLOCK_BUDGET)
    assert fast.chunk_size is not None
    assert fast.block_size is not None
    choice = automatic_choice(
        array, patch=fast.patch_size, mask=None, requested_patch=[192] * array.ndim, meta_mask=None
    )
    return choice, NamedLayout("fast", fast.chunk_size, fast.block_size)


def frontier_formats(array: np.ndarray) -> list[FormatSpec]:
    """Every candidate of the automatic choice for ``array``, and the same on the ``fast`` layout.

    Written with explicit chunks, blocks and cparams, so that the benchmark measures
    the ratio and read speed the choice only predicted (the frontier of the volume);
    the ``fast`` preset's layout shows what other blocks would give.
    """
    choice, fast = default_choice(array)
    if choice is None:
        return []
    layouts = {"0.0.54": choice.reference.candidate.layout}
    layouts["fast"] = fast
    specs = []
    for trial in choice.trials:
        candidate = trial.candidate
        for name, layout in layouts.items():
            cparams: dict[str, Any] = {
                "codec": candidate.codec.name,
                "clevel": candidate.clevel,
                "filters": [FILTER_NAMES[candidate.filter]],
            }
            if candidate.split:
                cparams["splitmode"] = "ALWAYS_SPLIT"
            options = {
                "patch_size": None,
                "chunk_size": list(layout.chunks),
                "block_size": list(layout.blocks),
                "cparams": cparams,
            }
            label = f"{FRONTIER_PREFIX}{candidate.key} on {name} blocks"
            specs.append(FormatSpec(label, "mlarray", "ours", ".mla", options, candidate=True))
    return specs


def select_formats(names: list[str] | None) -> list[FormatSpec]:
    """The specs named (all by default), in catalog order, plus the writers readers need."""
    wanted = set(names or FORMAT_NAMES)
    unknown = wanted - set(FORMAT_NAMES)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMAT_NAMES}")
    wanted |= {s.reads_file_of for s in FORMATS if s.name in wanted and s.reads_file_of}
    return [spec for spec in FORMATS if spec.name in wanted]


def patch_shapes(shape: tuple[int, ...], settings: Settings) -> dict[str, list[int]]:
    """Patch shape per size label (``"128"``, ``"192"``), clipped to the array."""
    return {str(edge): [min(edge, n) for n in shape] for edge in settings.patch_sizes}


def pass_patches(shape: tuple[int, ...], settings: Settings, pass_index: int) -> dict[str, Any]:
    """Patch shapes and seeded positions of one pass; the same for every format."""
    return {
        label: {
            "shape": box,
            "starts": patch_starts(shape, box, settings.patches_per_pass, 1000 * pass_index + i),
        }
        for i, (label, box) in enumerate(patch_shapes(shape, settings).items())
    }


def cold_patches(shape: tuple[int, ...], settings: Settings, pass_index: int) -> dict[str, Any]:
    """The cold-read step of one pass: 128^3 patches at seeded positions of their own."""
    box = patch_shapes(shape, settings)[str(settings.patch_sizes[0])]
    starts = patch_starts(shape, box, settings.cold_patches_per_pass, 5000 + pass_index)
    return {"shape": box, "starts": starts, "max_seconds": settings.max_patch_seconds}


def pass_steps(
    shape: tuple[int, ...], settings: Settings, pass_index: int, writes: bool
) -> dict[str, Any]:
    """The worker steps of one measurement pass."""
    steps: dict[str, Any] = {
        "open": {"count": settings.opens_per_pass},
        "patches": {
            "sizes": pass_patches(shape, settings, pass_index),
            "max_seconds": settings.max_patch_seconds,
        },
        "load": {"threads": list(settings.load_threads)},
        "cold": cold_patches(shape, settings, pass_index),
    }
    if writes:
        steps = {"write": {"repeats": 1}} | steps
    return steps


def frontier_steps(
    shape: tuple[int, ...], settings: Settings, pass_index: int, writes: bool
) -> dict[str, Any]:
    """The steps of a frontier candidate in one pass: its 128^3 patch reads (after writing)."""
    sizes = pass_patches(shape, settings, pass_index)
    label = str(settings.patch_sizes[0])
    steps: dict[str, Any] = {
        "patches": {"sizes": {label: sizes[label]}, "max_seconds": settings.max_patch_seconds}
    }
    return {"write": {"repeats": 1}} | steps if writes else steps


def memory_steps(shape: tuple[int, ...], settings: Settings) -> dict[str, Any]:
    """The worker step measuring the memory of one fresh patch read (the first 128^3 patch)."""
    first = pass_patches(shape, settings, 0)[str(settings.patch_sizes[0])]
    return {"memory": {"start": first["starts"][0], "shape": first["shape"]}}
