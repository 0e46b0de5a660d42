"""Blosc2 compression and decompression parameters as given: checks, defaults, JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

import blosc2
import numpy as np

from mlarray.errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "decompression_params",
    "given_cparams",
    "params_to_json",
]

DEFAULT_DECOMPRESSION_THREADS = 1
_CPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.CParams))
_DPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.DParams))
_RECORDED_CPARAMS = ("codec", "codec_meta", "clevel", "filters", "filters_meta", "use_dict")


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


def given_cparams(cparams: Any) -> dict[str, Any]:
    """Return compression parameters given as a dict or ``blosc2.CParams``, checked.

    Raises:
        ArgumentTypeError: If ``cparams`` is neither, or a value has the wrong type.
        ArgumentValueError: If a key is unknown to blosc2 or a value out of range.
    """
    return _as_dict(cparams, blosc2.CParams, _CPARAMS_KEYS, "cparams")


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
