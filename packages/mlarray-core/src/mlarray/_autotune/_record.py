"""The record of an automatic storage choice, kept in the file next to the metadata.

:func:`mlarray._autotune.choose_storage` decides how an array is stored; the
record says what was chosen and why: the layout, the chosen candidate and the
0.0.54 package's default with their sampled ratios and predicted read and
compression times, every candidate tried, and the date of the cost model. It is
UTF-8 JSON in the vlmeta entry :data:`RECORD_KEY`, stored uncompressed so that
``mlarray_meta``'s standard library reader decodes it
(``read_frame(path).vlmeta_value(RECORD_KEY)``). The ``mlarray`` 0.0.54 package
ignores the entry; ``meta.blosc2`` holds the chosen codec, level, filter, chunks
and blocks as for any other file.
"""

from __future__ import annotations

import json
from typing import Any

from mlarray._autotune._choice import StorageChoice, Trial
from mlarray._autotune._cost import MODEL_DATE
from mlarray._file_metadata import set_raw_vlmeta

__all__ = ["RECORD_KEY", "RECORD_VERSION", "keep_record", "record_json", "write_record"]

RECORD_KEY = "mla_storage"
"""vlmeta key of the record."""
RECORD_VERSION = 2
"""2: rows have a ``split`` column (byte streams compressed one by one), and
``compressed_bytes`` and ``choice_ms`` say how many bytes the choice compressed and
the predicted milliseconds that took."""
RULE_SUMMARY = "fastest predicted read at least as compact as mlarray 0.0.54's default"
"""The rule in a few words (the whole of it: ``mlarray._autotune._choice.RULE``)."""


COLUMNS = ("codec", "clevel", "filter", "split", "ratio", "read_ms", "compress_ms")
"""The fields of each row of ``candidates`` in the record."""


def _row(trial: Trial) -> list[Any]:
    candidate = trial.candidate
    return [
        candidate.codec.name,
        candidate.clevel,
        candidate.filter,
        candidate.split,
        round(trial.ratio, 4),
        round(1000 * trial.read_seconds, 3),
        round(1000 * trial.compress_seconds, 1),
    ]


def record_json(choice: StorageChoice) -> dict[str, Any]:
    """The record of ``choice`` as plain JSON data.

    ``candidates`` holds one row per candidate (fields in ``columns``); ``chosen``
    and ``reference`` are rows too (the reference, 0.0.54's default, is among the
    candidates when it is one). Every candidate has ``layout``'s chunks and blocks.
    """
    layout = choice.chosen.candidate.layout
    return {
        "version": RECORD_VERSION,
        "rule": RULE_SUMMARY,
        "layout": {
            "name": layout.name,
            "chunks": list(layout.chunks),
            "blocks": list(layout.blocks),
        },
        "patch": list(choice.patch),
        "sample_blocks": choice.sample_blocks,
        "compressed_bytes": choice.compressed_bytes,
        "choice_ms": round(1000 * choice.compress_seconds, 1),
        "columns": list(COLUMNS),
        "chosen": _row(choice.chosen),
        "reference": _row(choice.reference),
        "candidates": [_row(trial) for trial in choice.trials],
        "model": MODEL_DATE,
    }


def write_record(store: Any, choice: StorageChoice) -> None:
    """Store the record of ``choice`` in the vlmeta of the Blosc2 array ``store``."""
    payload = json.dumps(record_json(choice), separators=(",", ":")).encode()
    set_raw_vlmeta(store, RECORD_KEY, payload)


def keep_record(store: Any, choice: StorageChoice | None) -> None:
    """Store the record of ``choice`` in ``store``; without one, keep any it holds readable.

    python-blosc2 compresses vlmeta entries when it copies a frame (``save``), so a
    record copied from another file is stored again, uncompressed.
    """
    if choice is not None:
        write_record(store, choice)
    elif RECORD_KEY in store.schunk.vlmeta:
        set_raw_vlmeta(store, RECORD_KEY, bytes(store.schunk.vlmeta[RECORD_KEY]))
