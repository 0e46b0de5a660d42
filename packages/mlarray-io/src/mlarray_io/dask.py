"""``.mla`` files as Dask arrays, for dataset statistics on a cluster.

A Blosc2 array cannot be pickled, so nothing opened is ever sent to a worker:
each task opens the file itself (memory-mapped, read-only), reads one chunk and
closes it. The files must therefore be reachable from every worker (a shared
filesystem). Partitions follow the file's chunks, so no chunk is decompressed
twice.

Dataset statistics on a cluster (needs ``pip install "mlarray-io[dask]"``): the
0.5 and 99.5 intensity percentiles of integer images such as CT, exact, for
normalization, and the voxel count of each label:

```python
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client

from mlarray_io.dask import to_dask_array


def value_counts(paths):
    # Each distinct value of the images at ``paths`` and its voxel count.
    voxels = da.concatenate([to_dask_array(path).ravel() for path in paths])
    return dask.compute(*da.unique(voxels, return_counts=True))


with Client("tcp://scheduler:8786"):
    values, counts = value_counts(sorted(Path("data/images").glob("*.mla")))
    cumulative = np.cumsum(counts) / counts.sum()
    low, high = values[np.searchsorted(cumulative, [0.005, 0.995])]
    labels, label_counts = value_counts(sorted(Path("data/labels").glob("*.mla")))
```

For float images, ``da.percentile(voxels, [0.5, 99.5])`` gives approximate
percentiles without collecting every distinct value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from mlarray import MLArray
from mlarray.errors import NoArrayError
from mlarray_io._optional import require
from mlarray_meta.format import read_frame

if TYPE_CHECKING:
    import dask.array

__all__ = ["import_distributed", "to_dask_array"]

_EXTRA = '"mlarray-io[dask]"'


def import_distributed() -> ModuleType:
    """Import ``dask.distributed``, naming the extra to install if it is missing.

    Raises:
        MissingDependencyError: If Dask's distributed scheduler is not installed.
    """
    return require("dask.distributed", _EXTRA)


@dataclass(frozen=True)
class _ChunkReader:
    """A picklable stand-in for a ``.mla`` file: indexing opens the file and reads."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> Any:
        image = MLArray.open(self.path, mmap_mode="r")
        try:
            return image[key]
        finally:
            image.close()


def to_dask_array(path: str | os.PathLike[str]) -> dask.array.Array:
    """Expose a ``.mla`` file as a Dask array whose partitions are the file's chunks.

    Only the header is read here; each partition is read by its own task, which
    opens the file memory-mapped. The chunk grid comes from the file's frame, so
    any file :meth:`MLArray.open` opens works, also one written by plain blosc2
    or another tool without mlarray metadata. The file must not change while the
    array is in use.

    Args:
        path: A ``.mla`` file reachable from every Dask worker.

    Returns:
        A lazy Dask array with the file's shape, dtype and chunks.

    Raises:
        MissingDependencyError: If Dask is not installed.
        NoArrayError: If the file holds metadata only.
        RuntimeError: If the file is missing or not a ``.mla`` file.
    """
    dask_array = require("dask.array", _EXTRA)
    tokenize = require("dask.base", _EXTRA).tokenize
    image = MLArray.open(path, mmap_mode="r")
    try:
        shape, dtype = image.shape, image.dtype
    finally:
        image.close()
    if shape is None or dtype is None:
        raise NoArrayError(f"{path}: holds metadata only, no array to read")
    chunks = read_frame(path).chunks
    file = Path(path).resolve()
    stat = file.stat()
    array: dask.array.Array = dask_array.from_array(
        _ChunkReader(str(file), shape, dtype),
        chunks=tuple(chunks),
        name="mlarray-" + tokenize(str(file), stat.st_mtime_ns, stat.st_size),
        lock=False,
        meta=np.empty((0,) * len(shape), dtype=dtype),
    )
    return array
