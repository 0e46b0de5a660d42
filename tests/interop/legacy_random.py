"""Write or read the random files of the property tests with ``mlarray`` 0.0.54.

Run by the interpreter that has ``mlarray==0.0.54`` installed, not by pytest:

    python legacy_random.py write FOLDER FIRST_SEED COUNT
    python legacy_random.py read FOLDER

``write`` builds the files of seeds FIRST_SEED.. with :func:`random_meta.build`
(``legacy=True``) and saves them as ``FOLDER/<seed>.mla``. Both modes then read
every ``FOLDER/*.mla`` back with 0.0.54, loaded (``MLArray(path)``) and memory
mapped (``MLArray.open(path)``), and write ``FOLDER/legacy_view.pickle``:
``{stem: {"load": view, "open": view}}`` with ``view = {"meta": to_mapping() as
plain data, "array": digest or None}``, or ``{stem: {"error": message}}``, and
prints ``{"files": count}``.
"""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import Meta, MLArray

sys.path.insert(0, str(Path(__file__).resolve().parent))  # -I leaves the script folder out
from random_meta import build, case, digest


def plain(value: Any) -> Any:
    """0.0.54's metadata as builtins: its frozen containers and NumPy scalars unwrapped."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return str(value)
    return value


def view(image: MLArray) -> dict[str, Any]:
    has_array = bool(image.meta._has_array.has_array)
    return {
        "meta": plain(image.meta.to_mapping()),
        "array": digest(image[...]) if has_array else None,
    }


def describe(path: Path) -> dict[str, Any]:
    try:
        return {"load": view(MLArray(path)), "open": view(MLArray.open(path, mmap_mode="r"))}
    except Exception as exc:  # report, so one refused file does not hide the others
        return {"error": f"{type(exc).__name__}: {exc}"}


def write(folder: Path, first: int, count: int) -> dict[str, Any]:
    """Save the files of seeds ``first``..; return the seeds 0.0.54 refused to build."""
    refused = {}
    for seed in range(first, first + count):
        try:
            build(case(seed, legacy=True), MLArray, Meta, legacy=True).save(folder / f"{seed}.mla")
        except Exception as exc:
            refused[str(seed)] = {
                "error": f"0.0.54 refused to write it: {type(exc).__name__}: {exc}"
            }
    return refused


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # 0.0.54 and blosc2 deprecation noise
    target = Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    refused = write(target, int(sys.argv[3]), int(sys.argv[4])) if sys.argv[1] == "write" else {}
    views = {path.stem: describe(path) for path in sorted(target.glob("*.mla"))} | refused
    with open(target / "legacy_view.pickle", "wb") as out:
        pickle.dump(views, out, protocol=5)
    print(json.dumps({"files": len(views)}))
