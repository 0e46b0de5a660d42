"""One measurement of remote patch reads, in a process of its own (``run.py`` starts it).

Usage: ``python measure.py TASK_JSON``. The task names the reader (``ours``,
``blosc2``, ``zarr``), the URL, the patch corners and size, and each patch's
expected CRC-32. The server counts the requests and bytes (``/__traffic__``);
the result (JSON on stdout) holds apart the open, a first patch across chunk
borders (read cold) and the random patches.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

Reader = Callable[[list[int]], np.ndarray]


def traffic(base: str) -> dict[str, int]:
    """The server's counts since the last call (which it then resets)."""
    with urllib.request.urlopen(f"{base}/__traffic__?reset") as answer:
        counted: dict[str, int] = json.load(answer)
    return counted


def open_ours(url: str, patch: int) -> Reader:
    from mlarray import MLArray

    image = MLArray.open(url)
    image.shape  # noqa: B018 - the header is read by open, the index on first access
    return lambda start: image.read_patches([start], patch)[0]


def open_blosc2(url: str, patch: int) -> Reader:
    import blosc2

    array = blosc2.open(url, lazy=True, remote_service="fsspec")
    return lambda start: np.asarray(array[tuple(slice(s, s + patch) for s in start)])


def open_zarr(url: str, patch: int) -> Reader:
    import zarr
    from zarr.storage import FsspecStore

    array = zarr.open_array(FsspecStore.from_url(url, read_only=True), mode="r")
    return lambda start: np.asarray(array[tuple(slice(s, s + patch) for s in start)])


OPENERS = {"ours": open_ours, "blosc2": open_blosc2, "zarr": open_zarr}


def main(task: dict[str, Any]) -> dict[str, Any]:
    base, starts, patch = task["server"], task["starts"], task["patch"]
    traffic(base)
    began = time.perf_counter()
    read = OPENERS[task["reader"]](task["url"], patch)
    opened = time.perf_counter() - began
    at_open = traffic(base)
    corner = read(task["corner"])  # one patch across chunk borders, read cold
    at_corner = traffic(base)
    began = time.perf_counter()
    crcs = [zlib.crc32(np.ascontiguousarray(read(start)).tobytes()) for start in starts]
    seconds = time.perf_counter() - began
    reads = traffic(base)
    wrong = sum(found != expected for found, expected in zip(crcs, task["crcs"], strict=True))
    wrong += zlib.crc32(np.ascontiguousarray(corner).tobytes()) != task["corner_crc"]
    return {
        "open_seconds": opened,
        "open_requests": at_open["requests"],
        "open_bytes": at_open["bytes"],
        "corner_requests": at_corner["requests"],
        "corner_bytes": at_corner["bytes"],
        "seconds": seconds,
        "patches": len(starts),
        "requests": reads["requests"],
        "bytes": reads["bytes"],
        "wrong": wrong,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
