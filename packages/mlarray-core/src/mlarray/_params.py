"""Blosc2 compression and decompression parameters: defaults, checks, JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

import blosc2
import numpy as np

from mlarray.errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "PRESETS",
    "AutomaticPlan",
    "CompressionPlan",
    "compression_plan",
    "decompression_params",
    "params_to_json",
]

DEFAULT_DECOMPRESSION_THREADS = 1
L1_BLOCK_BUDGET = 40 * 1024
"""Block budget of the fast preset: after the optimiser's 0.8 safety factor, blocks of
up to 32 KiB, one L1 data cache (measured: 32 KiB float32 blocks read 4-12% faster than
16 KiB ones, int16 the same; docs/benchmarks.md)."""
L2_BLOCK_BUDGET = 160 * 1024
"""Bytes an uncompressed block may take for the compact preset: most of an L2 cache."""
PRESETS = ("fast", "compact")
"""Named compression presets accepted wherever ``cparams`` is."""
_CPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.CParams))
_DPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.DParams))
_RECORDED_CPARAMS = ("codec", "codec_meta", "clevel", "filters", "filters_meta", "use_dict")


@dataclasses.dataclass(frozen=True)
class CompressionPlan:
    """How to compress one array.

    Attributes:
        cparams: Parameters for blosc2's ``cparams=`` arguments.
        block_budget: Bytes an uncompressed block may take; the chunk/block
            optimiser sizes blocks to it.
    """

    cparams: dict[str, Any]
    block_budget: int


@dataclasses.dataclass(frozen=True)
class AutomaticPlan:
    """No ``cparams`` given: the storage is chosen per array (:mod:`mlarray._autotune`).

    Attributes:
        fallback: The plan used where no choice can be made: no values to sample
            (``empty``, ``create``), or a layout not driven by a patch size.
    """

    fallback: CompressionPlan


def _preset(name: str, dtype: np.dtype[Any]) -> CompressionPlan:
    """The codec, level and filters chosen by measurement for ``dtype`` (docs/benchmarks.md).

    ``fast`` (the default): LZ4 level 9 with byte shuffle for multi-byte data
    (compresses 4-5x faster than LZ4HC at 0.97x its ratio on CT, same decode
    speed), LZ4HC level 8 without shuffle for one-byte data (label masks: the
    shuffle of 1-byte items only costs decode time). ``compact`` trades read
    speed for size: LZ4HC level 9 on unshuffled floats (values of a normalised
    image repeat as whole 4-byte words), Zstandard level 3 with shuffle on
    integers, Zstandard level 3 on bytes, with blocks sized to the L2 cache.
    """
    shuffle, plain = [blosc2.Filter.SHUFFLE], [blosc2.Filter.NOFILTER]
    if name == "fast":
        if dtype.itemsize == 1:
            return CompressionPlan({"codec": blosc2.Codec.LZ4HC, "clevel": 8, "filters": plain},
                                   L1_BLOCK_BUDGET)  # fmt: skip
        return CompressionPlan({"codec": blosc2.Codec.LZ4, "clevel": 9, "filters": shuffle},
                               L1_BLOCK_BUDGET)  # fmt: skip
    if dtype.kind == "f":
        return CompressionPlan({"codec": blosc2.Codec.LZ4HC, "clevel": 9, "filters": plain},
                               L2_BLOCK_BUDGET)  # fmt: skip
    filters = plain if dtype.itemsize == 1 else shuffle
    return CompressionPlan({"codec": blosc2.Codec.ZSTD, "clevel": 3, "filters": filters},
                           L2_BLOCK_BUDGET)  # fmt: skip


def _as_dict(params: Any, kind: type, allowed: frozenset[str], name: str) -> dict[str, Any]:
    """Parameters given as None, a dict or a blosc2 dataclass, as a checked dict."""
    if params is None:
        return {}
    if isinstance(params, kind):
        return _checked({name: getattr(params, name) for name in allowed}, name)
    if not isinstance(params, Mapping):
        raise ArgumentTypeError(
            f"{name}: expected a dict or blosc2.{kind.__name__}, got {type(params).__name__}",
            path=name,
        )
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ArgumentValueError(
            f"{name}: unknown keys {unknown}; blosc2.{kind.__name__} accepts {sorted(allowed)}",
            path=name,
        )
    return _checked(dict(params), name)


_ENUMS: dict[str, type[Enum]] = {
    "codec": blosc2.Codec,
    "splitmode": blosc2.SplitMode,
    "tuner": blosc2.Tuner,
}
_RANGES: dict[str, tuple[int, int | None]] = {
    "clevel": (0, 9),
    "nthreads": (1, None),
    "codec_meta": (0, 255),
    "typesize": (1, 255),
    "blocksize": (0, None),
}
_MAX_FILTERS = 6


def _checked(params: dict[str, Any], name: str) -> dict[str, Any]:
    """Check the value of every parameter blosc2 would otherwise reject late or obscurely.

    Raises:
        ArgumentTypeError: A value has the wrong type.
        ArgumentValueError: A value is out of range or names no codec, filter ...
    """
    for key, value in params.items():
        if value is None:
            continue  # blosc2's default
        field, path = f"{name}: {key}={value!r}", f"{name}.{key}"
        if key in _ENUMS:
            params[key] = _member(field, path, value, _ENUMS[key])
        elif key in _RANGES:
            params[key] = _integer(field, path, value, *_RANGES[key])
        elif key == "use_dict" and not isinstance(value, bool):
            raise ArgumentTypeError(f"{field}: expected True or False", path=path)
        elif key in ("filters", "filters_meta"):
            if not isinstance(value, list | tuple) or len(value) > _MAX_FILTERS:
                raise ArgumentValueError(f"{field}: expected a list of at most 6 values", path=path)
            if key == "filters":
                params[key] = [_member(field, path, item, blosc2.Filter) for item in value]
            else:
                params[key] = [_integer(field, path, item, -128, 255) for item in value]
    return params


def _member(field: str, path: str, value: Any, kind: type[Enum]) -> Any:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(member.name for member in kind)
        raise ArgumentValueError(
            f"{field} is not a blosc2.{kind.__name__}; expected one of {names}", path=path
        ) from None


def _integer(field: str, path: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ArgumentTypeError(f"{field}: expected an integer", path=path)
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ArgumentValueError(f"{field} is out of range; expected an integer {span}", path=path)
    return int(value)


def compression_plan(cparams: Any, dtype: np.dtype[Any]) -> CompressionPlan | AutomaticPlan:
    """Return how to compress an array of ``dtype``.

    ``cparams`` may name a preset (``"fast"`` or ``"compact"``) or give blosc2
    parameters; given parameters win over the ``fast`` preset's. Without
    ``cparams`` the storage is chosen per array (an :class:`AutomaticPlan`, with the
    ``fast`` preset where no choice can be made). Compression uses every core
    (``blosc2.nthreads``) unless told otherwise.

    Args:
        cparams: None, a preset name, a dict of ``blosc2.CParams`` fields, or a
            ``blosc2.CParams``.
        dtype: The dtype of the array to compress.

    Returns:
        The plan: blosc2 parameters and the block size budget, or the automatic plan.

    Raises:
        ArgumentTypeError: If ``cparams`` is not one of the accepted types.
        ArgumentValueError: If it names an unknown preset or keys blosc2 does not know.
    """
    if isinstance(cparams, str):
        if cparams not in PRESETS:
            raise ArgumentValueError(
                f"cparams: unknown preset {cparams!r}; expected one of {list(PRESETS)}, "
                "a dict or a blosc2.CParams",
                path="cparams",
            )
        plan, given = _preset(cparams, dtype), {}
    elif cparams is None:
        fast = compression_plan("fast", dtype)
        assert isinstance(fast, CompressionPlan)
        return AutomaticPlan(fast)
    else:
        plan = _preset("fast", dtype)
        given = _as_dict(cparams, blosc2.CParams, _CPARAMS_KEYS, "cparams")
    params = {**plan.cparams, "nthreads": blosc2.nthreads, **given, "typesize": dtype.itemsize}
    params.setdefault("filters_meta", [0] * len(params["filters"]))
    return CompressionPlan(params, plan.block_budget)


def decompression_params(dparams: Any) -> dict[str, Any]:
    """Return decompression parameters: one thread unless the user says otherwise.

    Args:
        dparams: None, a dict of ``blosc2.DParams`` fields, or a ``blosc2.DParams``.

    Returns:
        A dict accepted by blosc2's ``dparams=`` arguments.
    """
    given = _as_dict(dparams, blosc2.DParams, _DPARAMS_KEYS, "dparams")
    return {"nthreads": DEFAULT_DECOMPRESSION_THREADS, **given}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def params_to_json(params: Mapping[str, Any], *, compression: bool) -> dict[str, Any]:
    """Return the JSON form recorded in ``meta.blosc2`` (codecs and filters as ints).

    Only the parameters that describe the stored bytes are recorded for
    compression (codec, level, filters, dictionary); thread counts and typesize
    are properties of the machine or the dtype.
    """
    if compression:
        return {key: _plain(params[key]) for key in _RECORDED_CPARAMS if key in params}
    return {key: _plain(value) for key, value in params.items()}
