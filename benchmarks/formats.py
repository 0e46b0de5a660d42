"""One small adapter per storage format, all with the same four operations.

This module runs inside the worker processes, possibly under another venv's
Python (the legacy ``mlarray`` venv holds only numpy and blosc2), so it imports
nothing but numpy at module level; each adapter imports its library lazily.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

Slices = tuple[slice, ...]


def _dist_version(*names: str) -> str:
    """Return ``name version`` of the first installed distribution among ``names``."""
    for name in names:
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return f"{names[0]} (not installed)"


def _blosc2_layout(path: str) -> str:
    """Describe chunks, blocks and codec of a Blosc2 NDArray file (``.b2nd`` or ``.mla``)."""
    import blosc2

    arr = blosc2.open(path, mode="r")
    cp = arr.cparams
    filters = "+".join(f.name for f in cp.filters if f.name != "NOFILTER") or "none"
    chunks, blocks = "x".join(map(str, arr.chunks)), "x".join(map(str, arr.blocks))
    return f"chunks {chunks} blocks {blocks} {cp.codec.name} L{cp.clevel} {filters}"


def per_axis(sizes: list[int], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Spatial sizes given for the last axes, with 1 on leading (channel) axes, clipped."""
    full = [1] * (len(shape) - len(sizes)) + list(sizes)
    return tuple(min(size, n) for size, n in zip(full, shape, strict=True))


def enum_cparams(spec: dict[str, Any]) -> dict[str, Any]:
    """Blosc2 cparams from a JSON spec naming codec, filters (and splitmode) by enum names."""
    import blosc2

    cparams = {
        "codec": blosc2.Codec[spec["codec"]],
        "clevel": spec["clevel"],
        "filters": [blosc2.Filter[name] for name in spec["filters"]],
    }
    if "splitmode" in spec:
        cparams["splitmode"] = blosc2.SplitMode[spec["splitmode"]]
    return cparams


class Adapter(ABC):
    """Write, open, read a patch from and fully load one storage format.

    Args:
        **options: Format-specific settings from the benchmark plan (JSON values).
    """

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def write(self, path: str, array: np.ndarray) -> None:
        """Store ``array`` at ``path``."""

    @abstractmethod
    def open(self, path: str) -> Any:
        """Open ``path`` for patch reads, touching only the header (memory-mapped if possible)."""

    def close(self, handle: Any) -> None:  # noqa: B027 - optional hook
        """Release a handle returned by :meth:`open`."""

    @abstractmethod
    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        """Read ``slices`` from an open handle into memory."""

    @abstractmethod
    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        """Load the whole array with up to ``nthreads`` decompression threads."""

    @abstractmethod
    def version(self) -> str:
        """Name and version of the library doing the work (importing it)."""

    def layout(self, path: str) -> str:
        """Describe how the file stores the data (chunks, codec), for the report."""
        return ""

    def choice_seconds(self, array: np.ndarray) -> float | None:
        """Seconds spent choosing the storage of ``array`` when saving it (None: no choice)."""
        return None


class MLArrayAdapter(Adapter):
    """The public ``mlarray`` API; the same code serves ours and the 0.0.54 package.

    Options (``cparams`` such as the ``"compact"`` preset, or codec and filters by
    enum name; ``patch_size``, ``chunk_size``, ``block_size``) go to ``MLArray``.
    """

    def write(self, path: str, array: np.ndarray) -> None:
        from mlarray import MLArray

        options = dict(self.options)
        if isinstance(options.get("cparams"), dict):
            options["cparams"] = enum_cparams(options["cparams"])
        MLArray(array, **options).save(path)

    def open(self, path: str) -> Any:
        from mlarray import MLArray

        return MLArray.open(path, mmap_mode="r")

    def close(self, handle: Any) -> None:
        handle.close()

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.asarray(handle[slices])

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        from mlarray import MLArray

        return np.asarray(MLArray.load(path, dparams={"nthreads": nthreads}).to_numpy())

    def version(self) -> str:
        import mlarray  # noqa: F401 - fail here when the package is not importable

        return _dist_version("mlarray-core", "mlarray")

    def layout(self, path: str) -> str:
        return _blosc2_layout(path)

    def choice_seconds(self, array: np.ndarray) -> float | None:
        """Time the automatic storage choice alone (ours, without cparams) as a save makes it."""
        if "cparams" in self.options:
            return None
        try:
            from mlarray._autotune import automatic_choice
            from mlarray.chunking import resolve_layout
        except ImportError:  # the 0.0.54 package
            return None
        import time

        patch = resolve_layout(array.shape, array.itemsize).patch_size
        started = time.perf_counter()
        automatic_choice(
            array, patch=patch, mask=None, requested_patch=[192] * array.ndim, meta_mask=None
        )
        return time.perf_counter() - started


class Blosc2Adapter(Adapter):
    """A plain Blosc2 NDArray; options ``chunks``, ``blocks`` and ``cparams`` (enum names)."""

    def write(self, path: str, array: np.ndarray) -> None:
        import blosc2

        kwargs: dict[str, Any] = {"urlpath": path, "mode": "w"}
        for key in ("chunks", "blocks"):
            if self.options.get(key):
                kwargs[key] = per_axis(self.options[key], array.shape)
        if (spec := self.options.get("cparams")) is not None:
            kwargs["cparams"] = enum_cparams(spec)
        blosc2.asarray(array, **kwargs)

    def open(self, path: str) -> Any:
        import blosc2

        return blosc2.open(path, mode="r", mmap_mode="r")

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.asarray(handle[slices])

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        import blosc2

        return np.asarray(blosc2.open(path, mode="r", dparams={"nthreads": nthreads})[()])

    def version(self) -> str:
        import blosc2  # noqa: F401

        return _dist_version("blosc2")

    def layout(self, path: str) -> str:
        return _blosc2_layout(path)


class ZarrAdapter(Adapter):
    """A zarr v3 array; options ``chunks`` (default ``"auto"``) and ``blosc`` codec settings."""

    def write(self, path: str, array: np.ndarray) -> None:
        import zarr
        from zarr.codecs import BloscCodec

        chunks = self.options.get("chunks")
        kwargs: dict[str, Any] = {"chunks": per_axis(chunks, array.shape) if chunks else "auto"}
        if blosc := self.options.get("blosc"):
            kwargs["compressors"] = BloscCodec(**blosc)
        out = zarr.create_array(path, shape=array.shape, dtype=array.dtype, **kwargs)
        out[...] = array

    def open(self, path: str) -> Any:
        import zarr

        return zarr.open_array(path, mode="r")

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.asarray(handle[slices])

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        import zarr

        with zarr.config.set({"threading.max_workers": nthreads}):
            return np.asarray(zarr.open_array(path, mode="r")[...])

    def version(self) -> str:
        import zarr  # noqa: F401

        return _dist_version("zarr")

    def layout(self, path: str) -> str:
        arr = self.open(path)
        chunks = "x".join(map(str, arr.chunks))
        codecs = ", ".join(type(c).__name__ for c in arr.compressors) or "none"
        return f"chunks {chunks} {codecs}"


class HDF5Adapter(Adapter):
    """HDF5 via h5py, chunked (option ``chunks``), Blosc LZ4 through hdf5plugin or gzip 1."""

    @staticmethod
    def _filter() -> tuple[str, dict[str, Any]]:
        try:
            import hdf5plugin
        except ImportError:
            return "gzip level 1", {"compression": "gzip", "compression_opts": 1}
        blosc = hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)
        return "hdf5plugin Blosc LZ4 L5 shuffle", dict(blosc)

    @staticmethod
    def _h5py() -> Any:
        """Import h5py, registering hdf5plugin's filters when it is installed."""
        import h5py

        with contextlib.suppress(ImportError):
            import hdf5plugin  # noqa: F401 - registers the Blosc filter for reading
        return h5py

    def write(self, path: str, array: np.ndarray) -> None:
        h5py = self._h5py()
        chunks = per_axis(self.options["chunks"], array.shape)
        with h5py.File(path, "w") as f:
            f.create_dataset("data", data=array, chunks=chunks, **self._filter()[1])

    def open(self, path: str) -> Any:
        return self._h5py().File(path, "r")["data"]

    def close(self, handle: Any) -> None:
        handle.file.close()

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.asarray(handle[slices])

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        dataset = self.open(path)
        try:
            return np.asarray(dataset[()])
        finally:
            self.close(dataset)

    def version(self) -> str:
        self._h5py()
        return f"{_dist_version('h5py')}, {_dist_version('hdf5plugin')}"

    def layout(self, path: str) -> str:
        dataset = self.open(path)
        chunks = "x".join(map(str, dataset.chunks))
        self.close(dataset)
        return f"chunks {chunks} {self._filter()[0]}"


class NiftiAdapter(Adapter):
    """NIfTI-1 via nibabel; option ``gzip``. Stored x-fastest as scanners do, read via dataobj.

    The (z, y, x) C-order array is handed to nibabel transposed, so the file holds
    the bytes in their original order and patches come back as transposed views.
    """

    def write(self, path: str, array: np.ndarray) -> None:
        import nibabel as nib

        image = nib.Nifti1Image(array.T, np.eye(4), dtype=array.dtype)  # type: ignore[no-untyped-call]
        nib.save(image, path)

    def open(self, path: str) -> Any:
        import nibabel as nib

        return nib.load(path, mmap="r")

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.asarray(handle.dataobj[slices[::-1]]).T

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        import nibabel as nib

        image: Any = nib.load(path, mmap=False)
        return np.asarray(image.dataobj).T

    def version(self) -> str:
        import nibabel  # noqa: F401

        return _dist_version("nibabel")

    def layout(self, path: str) -> str:
        return "gzip level 1" if self.options.get("gzip") else "uncompressed"


class NpyAdapter(Adapter):
    """An uncompressed ``.npy`` file read through ``np.load(mmap_mode='r')``."""

    def write(self, path: str, array: np.ndarray) -> None:
        np.save(path, array)

    def open(self, path: str) -> Any:
        return np.load(path, mmap_mode="r")

    def read_patch(self, handle: Any, slices: Slices) -> np.ndarray:
        return np.array(handle[slices])

    def load_all(self, path: str, nthreads: int) -> np.ndarray:
        array: np.ndarray = np.load(path)
        return array

    def version(self) -> str:
        return _dist_version("numpy")

    def layout(self, path: str) -> str:
        return "uncompressed, memory-mapped"


ADAPTERS: dict[str, type[Adapter]] = {
    "mlarray": MLArrayAdapter,
    "blosc2": Blosc2Adapter,
    "zarr": ZarrAdapter,
    "hdf5": HDF5Adapter,
    "nifti": NiftiAdapter,
    "npy": NpyAdapter,
}


def make_adapter(name: str, options: dict[str, Any]) -> Adapter:
    """Instantiate the adapter registered as ``name`` with ``options``."""
    return ADAPTERS[name](**options)


def written_files(path: str) -> list[Path]:
    """All regular files a format wrote at ``path`` (a file or a zarr directory)."""
    root = Path(path)
    return [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())


def sync_files(path: str) -> None:
    """fsync every file written at ``path`` so the save is durable, as ours is."""
    for file in written_files(path):
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
