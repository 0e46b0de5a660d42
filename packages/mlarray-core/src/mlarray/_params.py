"""Blosc2 compression and decompression parameters: defaults, checks, JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

import blosc2
import numpy as np

from mlarray.errors import MetaTypeError, MetaValidationError

__all__ = [
    "DEFAULT_CLEVEL",
    "DEFAULT_CODEC",
    "compression_params",
    "decompression_params",
    "params_to_json",
]

DEFAULT_CODEC = blosc2.Codec.LZ4HC
DEFAULT_CLEVEL = 8
DEFAULT_DECOMPRESSION_THREADS = 1
_CPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.CParams))
_DPARAMS_KEYS = frozenset(f.name for f in dataclasses.fields(blosc2.DParams))
_RECORDED_CPARAMS = ("codec", "codec_meta", "clevel", "filters", "filters_meta", "use_dict")


def _as_dict(params: Any, kind: type, allowed: frozenset[str], name: str) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, kind):
        return {name: getattr(params, name) for name in allowed}
    if not isinstance(params, Mapping):
        raise MetaTypeError(
            f"{name}: expected a dict or blosc2.{kind.__name__}, got {type(params).__name__}"
        )
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise MetaValidationError(
            f"{name}: unknown keys {unknown}; blosc2.{kind.__name__} accepts {sorted(allowed)}"
        )
    return dict(params)


def compression_params(cparams: Any, dtype: np.dtype[Any]) -> dict[str, Any]:
    """Return the compression parameters to use for an array of ``dtype``.

    User values win over the defaults (LZ4HC, clevel 8, byte shuffle). For
    one-byte dtypes the shuffle filter is dropped unless the user asked for
    filters: shuffling bytes of size one changes nothing but costs decode time.
    Compression uses every core (``blosc2.nthreads``) unless told otherwise.

    Args:
        cparams: None, a dict of ``blosc2.CParams`` fields, or a ``blosc2.CParams``.
        dtype: The dtype of the array to compress.

    Returns:
        A dict accepted by blosc2's ``cparams=`` arguments.

    Raises:
        MetaTypeError: If ``cparams`` is not a dict or CParams.
        MetaValidationError: If it names keys blosc2 does not know.
    """
    given = _as_dict(cparams, blosc2.CParams, _CPARAMS_KEYS, "cparams")
    params: dict[str, Any] = {
        "codec": DEFAULT_CODEC,
        "clevel": DEFAULT_CLEVEL,
        "nthreads": blosc2.nthreads,
    }
    if dtype.itemsize == 1:
        params["filters"] = [blosc2.Filter.NOFILTER]
        params["filters_meta"] = [0]
    params.update(given)
    params["typesize"] = dtype.itemsize
    return params


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
