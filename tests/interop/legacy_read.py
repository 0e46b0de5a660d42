"""Read ``.mla`` files with ``mlarray`` 0.0.54 and describe what it sees.

Run by the interpreter that has ``mlarray==0.0.54`` installed, not by pytest:

    python legacy_read.py FOLDER

For every ``FOLDER/*.mla`` it opens the file twice (``MLArray.open(path)``, memory
mapped, and ``MLArray(path)``, loaded) and prints one JSON object:
``{name: {"open": view, "load": view}}`` where a view holds the metadata
(``Meta.to_mapping()``), shape, dtype, spacing/origin/direction, and the SHA-256 of
the C-ordered array bytes; or ``{"error": message}`` if 0.0.54 refuses the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import MLArray


def view(image: MLArray) -> dict[str, Any]:
    has_array = bool(image.meta._has_array.has_array)
    result: dict[str, Any] = {
        "meta": image.meta.to_mapping(),
        "has_array": has_array,
        "spacing": image.spacing,
        "origin": image.origin,
        "direction": image.direction,
    }
    if has_array:
        array = np.ascontiguousarray(image[...])
        result["shape"] = list(array.shape)
        result["dtype"] = array.dtype.str
        result["sha256"] = hashlib.sha256(array.tobytes()).hexdigest()
    return result


def describe(path: Path) -> dict[str, Any]:
    try:
        return {"open": view(MLArray.open(path, mmap_mode="r")), "load": view(MLArray(path))}
    except Exception as exc:  # report, so one bad file does not hide the others
        return {"error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print(json.dumps({path.stem: describe(path) for path in sorted(folder.glob("*.mla"))}))
