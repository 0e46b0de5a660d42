"""Random ``.mla`` files for the interop property tests, built through the shared public API.

Imported by the tests (our side) and by ``legacy_random.py`` (run by the interpreter
that has ``mlarray`` 0.0.54): both build the same files from the same seed with
:func:`build`, each with its own ``MLArray`` and ``Meta``, which is the point.

``legacy=True`` specs use everything 0.0.54 accepts, including the values mlarray
keeps only when reading (NaN statistics, a non-positive spacing, integer mapping
keys...; each is recorded in ``spec["tolerated"]``); ``legacy=False`` specs hold
only values mlarray writes.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

import numpy as np

DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "datetime64[s]", "<U3",
)  # fmt: skip
"""Every dtype 0.0.54 writes that the tests cover (it writes anything Blosc2 stores)."""
SPATIAL = ("spatial", "spatial_x", "spatial_y", "spatial_z")
NON_SPATIAL = ("non_spatial", "channel", "temporal", "continuous", "components", "", "echo")
UNITS = ("mm", "", "µm", "秒", "s", "a.u.", "ms")
COORD_SYSTEMS = (None, "RAS", "LPS", "RAS+", "LPS+", "unknown", "other", "scanner", "MNI152")
STATS = (
    "min", "max", "mean", "median", "std", "percentile_min", "percentile_max",
    "percentile_mean", "percentile_median", "percentile_std", "percentile_min_key",
    "percentile_max_key",
)  # fmt: skip
TEXT = ("PatientID", "Modality", "ünïcode ✓", "名前", "", "a b", "x" * 40)


class NumpyFloat(float):
    """A float that the 0.0.54 side stores as ``np.float64`` (0.0.54 takes it as a float)."""


class NumpyStr(str):
    """A string that the 0.0.54 side stores as ``np.str_``."""

    __slots__ = ()


def case(seed: int, *, legacy: bool) -> dict[str, Any]:
    """One random file description: array (or none), axes, geometry and every section."""
    rng = random.Random(seed)
    spec: dict[str, Any] = {"seed": seed, "tolerated": set()}
    odd = lambda p: legacy and rng.random() < p  # noqa: E731
    ndim = rng.choice((2, 3, 3, 4))
    labels = _labels(rng, ndim) if rng.random() < 0.6 else None
    if labels is not None and odd(0.2):
        labels = [NumpyStr(label) for label in labels]
    spatial = ndim if labels is None else sum(label in SPATIAL for label in labels)
    metadata_only = rng.random() < 0.12
    spec["shape"] = None if metadata_only else [rng.randint(1, 9) for _ in range(ndim)]
    spec["dtype"] = rng.choice(DTYPES)
    spec["axis_labels"] = labels
    spec["axis_units"] = _units(rng, ndim, spec, odd) if rng.random() < 0.5 else None
    spec["coord_system"] = rng.choice(COORD_SYSTEMS)
    spec["geometry"] = _geometry(rng, spatial, spec, odd)
    spec["stats"] = _stats(rng, spec, odd)
    spec["bbox"] = _bbox(rng, spatial, spec, odd)
    spec["is_seg"] = rng.choice((None, True, False))
    if spec["is_seg"] and not legacy:  # ours writes label maps of labels only; 0.0.54 any
        spec["dtype"] = rng.choice(("bool", "uint8", "uint16", "uint32"))
    spec["source"] = _mapping(rng, 3, spec, "meta.source", odd)
    spec["extra"] = _mapping(rng, 2, spec, "meta.extra", odd) if rng.random() < 0.5 else {}
    spec["patch_size"] = _patch(rng, ndim, labels, spatial)
    return spec


def _labels(rng: random.Random, ndim: int) -> list[str]:
    spatial = rng.choice((2, 3)) if ndim > 2 else rng.choice((1, 2))
    spatial = min(spatial, ndim)
    kinds = [rng.choice(SPATIAL) for _ in range(spatial)]
    kinds += [rng.choice(NON_SPATIAL) for _ in range(ndim - spatial)]
    rng.shuffle(kinds)
    return kinds


def _units(rng: random.Random, ndim: int, spec: dict[str, Any], odd: Any) -> Any:
    units: list[Any] = [rng.choice(UNITS) for _ in range(ndim)]
    if odd(0.15):
        units = rng.choice([[None, *units[1:]], units[:-1], "mm", [1, *units[1:]]])
        counted = spec["shape"] is not None or spec["axis_labels"] is not None
        if not isinstance(units, list) or units[0] in (None, 1) or counted:
            spec["tolerated"].add("meta.spatial.axis_units")
    return units


def _number(rng: random.Random, *, positive: bool = False) -> float | int:
    if rng.random() < 0.3:
        return rng.randint(1, 5) if positive else rng.randint(-100, 100)
    value = rng.uniform(0.1, 5.0) if positive else rng.uniform(-300.0, 300.0)
    return round(value, rng.choice((1, 3, 9)))


def _geometry(rng: random.Random, n: int, spec: dict[str, Any], odd: Any) -> dict[str, Any]:
    form = rng.choice(("none", "vectors", "vectors", "affine"))
    if n == 0 or form == "none":
        return {}
    if form == "affine":
        affine = [[_number(rng) for _ in range(n + 1)] for _ in range(n)] + [[0] * n + [1]]
        if odd(0.15):
            affine[-1][0] = 0.5
            spec["tolerated"].add("meta.spatial.affine")
        return {"affine": affine}
    geometry: dict[str, Any] = {}
    if rng.random() < 0.8:
        geometry["spacing"] = [_number(rng, positive=True) for _ in range(n)]
        if odd(0.2):
            geometry["spacing"][0] = rng.choice((0.0, -1.5, float("nan")))
            spec["tolerated"].add("meta.spatial.spacing")
        elif odd(0.2):
            geometry["spacing"][-1] = NumpyFloat(geometry["spacing"][-1])
    if rng.random() < 0.7:
        geometry["origin"] = [_number(rng) for _ in range(n)]
    if rng.random() < 0.5:
        order = list(range(n))
        rng.shuffle(order)
        geometry["direction"] = [[float(order[i] == j) for j in range(n)] for i in range(n)]
    return geometry


def _stats(rng: random.Random, spec: dict[str, Any], odd: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for name in rng.sample(STATS, rng.randint(0, len(STATS))):
        stats[name] = _number(rng)
        if odd(0.08):
            stats[name] = rng.choice((float("nan"), float("inf"), True))
            spec["tolerated"].add(f"meta.stats.{name}")
        elif odd(0.2):
            stats[name] = NumpyFloat(stats[name])
    return stats


def _bbox(rng: random.Random, n: int, spec: dict[str, Any], odd: Any) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {}
    dims = n or rng.choice((2, 3))
    boxes = []
    for _ in range(rng.randint(0, 4)):
        box = []
        for _ in range(dims):
            low = rng.randint(0, 50)
            box.append([low, low + rng.choice((0, rng.randint(1, 40), rng.uniform(0.5, 9.5)))])
        boxes.append(box)
    if boxes and odd(0.2):
        boxes[0][0].reverse()
        if boxes[0][0][0] > boxes[0][0][1]:
            spec["tolerated"].add("meta.bbox.bboxes")
    bbox: dict[str, Any] = {"bboxes": boxes}
    if rng.random() < 0.5:
        bbox["scores"] = [round(rng.random(), 4) for _ in boxes]
        if boxes and odd(0.2):
            bbox["scores"][-1] = float("nan")
            spec["tolerated"].add("meta.bbox.scores")
    if rng.random() < 0.5:
        bbox["labels"] = [rng.choice(("lesion", "nodule ✓", 1, 2, 0.5)) for _ in boxes]
    return bbox


def _value(rng: random.Random, depth: int, spec: dict[str, Any], field: str, odd: Any) -> Any:
    roll = rng.random()
    if depth > 0 and roll < 0.2:
        return _mapping(rng, depth - 1, spec, field, odd)
    if depth > 0 and roll < 0.35:
        return [_value(rng, depth - 1, spec, field, odd) for _ in range(rng.randint(0, 4))]
    if odd(0.05):
        spec["tolerated"].add(field)
        return float("nan")
    if odd(0.05):
        return NumpyFloat(rng.uniform(-1, 1))
    if odd(0.05):
        return (1, "tuple")  # 0.0.54 reads it back as a tuple; ours as a list
    return rng.choice(
        (None, True, False, 0, -7, 2**70, -(2**63), 3.25, -1e-300, 1e300, rng.choice(TEXT))
    )


def _mapping(rng: random.Random, depth: int, spec: dict[str, Any], field: str, odd: Any) -> Any:
    out: dict[Any, Any] = {}
    for _ in range(rng.randint(0, 4)):
        key: Any = rng.choice(TEXT) + str(rng.randint(0, 99))
        if odd(0.05):
            key = rng.choice((7, 1.5, None, True))
            spec["tolerated"].add(field)
        out[key] = _value(rng, depth, spec, field, odd)
    return out


def _patch(rng: random.Random, ndim: int, labels: list[str] | None, spatial: int) -> Any:
    roll = rng.random()
    optimisable = 2 <= spatial <= 3 and ndim - spatial <= 1 and ndim >= 2
    if roll < 0.6 or spatial == 0:
        return "default" if spatial else None
    if roll < 0.8 and optimisable and (labels is not None or ndim < 4):
        return rng.choice((8, 64, 300))
    return None


def build(spec: dict[str, Any], mlarray_class: Any, meta_class: Any, *, legacy: bool) -> Any:
    """Build the MLArray of ``spec`` with the given package's ``MLArray`` and ``Meta``."""
    convert = _to_numpy_scalars if legacy else (lambda value: value)
    sections = {
        name: convert(spec[name]) for name in ("source", "extra", "stats", "bbox") if spec[name]
    }
    meta = meta_class(is_seg=spec["is_seg"], **sections)
    geometry = {name: convert(value) for name, value in spec["geometry"].items()}
    labels = convert(spec["axis_labels"])
    if spec["shape"] is None:
        image = mlarray_class(meta=meta, axis_labels=labels, **geometry)
    else:
        image = mlarray_class(
            values(spec), meta=meta, axis_labels=labels, patch_size=spec["patch_size"], **geometry
        )
    if spec["axis_units"] is not None:
        image.meta.spatial.axis_units = spec["axis_units"]
    image.meta.spatial.coord_system = spec["coord_system"]
    return image


def _to_numpy_scalars(value: Any) -> Any:
    if isinstance(value, NumpyFloat):
        return np.float64(value)
    if isinstance(value, NumpyStr):
        return np.str_(value)
    if isinstance(value, dict):
        return {key: _to_numpy_scalars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_numpy_scalars(item) for item in value]
    return value


def values(spec: dict[str, Any]) -> np.ndarray:
    """The array of ``spec``: deterministic from its seed, every dtype."""
    shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
    count = math.prod(shape)
    raw = (np.arange(count, dtype=np.int64) * 7919 + spec["seed"] * 104729) % 65521
    if dtype.kind in "USM":
        return raw.astype(dtype if dtype.kind != "U" else np.int64).astype(dtype).reshape(shape)
    if dtype.kind == "b":
        return (raw % 3 == 0).reshape(shape)
    if dtype.kind in "fc":
        return ((raw - 32760) / 97.0).astype(dtype).reshape(shape)
    info = np.iinfo(dtype)
    low, high = max(int(info.min), -40000), min(int(info.max), 40000)
    return (raw % (high - low + 1) + low).astype(dtype).reshape(shape)


def digest(array: np.ndarray) -> dict[str, Any]:
    """Shape, dtype and SHA-256 of an array's C-ordered bytes."""
    array = np.ascontiguousarray(array)
    sha = hashlib.sha256(array.tobytes()).hexdigest()
    return {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": sha}
