"""The record of an automatic storage choice, kept in the file next to the metadata.

:func:`mlarray._autotune.choose_storage` decides how an array is stored; the
record says what was chosen and why: the rule, the chosen candidate and the
0.0.54 package's default with their sampled ratios and predicted read times,
and every other candidate tried. It is UTF-8 JSON in the vlmeta entry
:data:`RECORD_KEY`, stored uncompressed so that ``mlarray_meta``'s standard
library reader decodes it (``read_frame(path).vlmeta_value(RECORD_KEY)``). The
``mlarray`` 0.0.54 package ignores the entry; ``meta.blosc2`` holds the chosen
codec, level, filter, chunks and blocks as for any other file.
"""

from __future__ import annotations

import json
from typing import Any

from mlarray._autotune._choice import StorageChoice, Trial
from mlarray._autotune._cost import COST_MODEL
from mlarray._header import _set_raw_vlmeta

__all__ = ["RECORD_KEY", "RECORD_VERSION", "keep_record", "record_json", "write_record"]

RECORD_KEY = "mla_storage"
"""vlmeta key of the record."""
RECORD_VERSION = 1


def _trial_json(trial: Trial) -> dict[str, Any]:
    candidate = trial.candidate
    return {
        "codec": candidate.codec.name,
        "clevel": candidate.clevel,
        "filter": candidate.filter,
        "layout": candidate.layout.name,
        "chunks": list(candidate.layout.chunks),
        "blocks": list(candidate.layout.blocks),
        "ratio": round(trial.ratio, 4),
        "read_ms": round(1000 * trial.read_seconds, 4),
        "compress_ms": round(1000 * trial.compress_seconds, 3),
    }


def record_json(choice: StorageChoice) -> dict[str, Any]:
    """The record of ``choice`` as plain JSON data."""
    return {
        "version": RECORD_VERSION,
        "rule": choice.rule,
        "chosen": _trial_json(choice.chosen),
        "reference": _trial_json(choice.reference) | {"of": "mlarray 0.0.54 default"},
        "candidates": [_trial_json(trial) for trial in choice.trials],
        "patch": list(choice.patch),
        "sample_blocks": choice.sample_blocks,
        "model": COST_MODEL.source,
    }


def write_record(store: Any, choice: StorageChoice) -> None:
    """Store the record of ``choice`` in the vlmeta of the Blosc2 array ``store``."""
    payload = json.dumps(record_json(choice), separators=(",", ":")).encode()
    _set_raw_vlmeta(store, RECORD_KEY, payload)


def keep_record(store: Any, choice: StorageChoice | None) -> None:
    """Store the record of ``choice`` in ``store``; without one, keep any it holds readable.

    python-blosc2 compresses vlmeta entries when it copies a frame (``save``), so a
    record copied from another file is stored again, uncompressed.
    """
    if choice is not None:
        write_record(store, choice)
    elif RECORD_KEY in store.schunk.vlmeta:
        _set_raw_vlmeta(store, RECORD_KEY, bytes(store.schunk.vlmeta[RECORD_KEY]))
