"""Read access to an MLArray's data: indexing, the array protocol, patch batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from mlarray._patches import patch_boxes, read_patches
from mlarray.errors import FileFormatError, MLArrayError, NoArrayError
from mlarray.meta import Meta

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from mlarray._file_backing import FileBacking
    from mlarray._integrity import ChunkVerifier

__all__ = ["ArrayAccess"]


class ArrayAccess:
    """Reads of :class:`~mlarray.MLArray` data, straight from the Blosc2 or NumPy array."""

    meta: Meta
    _store: Any
    _file: FileBacking | None

    @property
    def _verifier(self) -> ChunkVerifier | None:
        """The checks of chunks read (``open(verify=True)``), or None."""
        return None if self._file is None else self._file.verifier

    def _require_array(self, action: str) -> Any:
        if self._store is None:
            raise NoArrayError(f"cannot {action}: this MLArray holds no array data")
        return self._store

    def _decompressed(self) -> np.ndarray[Any, Any]:
        store = self._require_array("decompress")
        if isinstance(store, np.ndarray):
            return store
        if self._verifier is not None:
            self._verifier.check_all()
        with self._decoding():
            return np.asarray(store[...])

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        """Report blosc2's only sign of a chunk it cannot decompress (a bare RuntimeError)."""
        try:
            yield
        except MLArrayError:
            raise  # ours (a remote file that cannot be read, ...): it names its cause
        except RuntimeError as exc:
            raise self._undecodable(exc) from exc

    def _undecodable(self, exc: RuntimeError) -> FileFormatError:
        """The error for a read that blosc2 could not decompress (a damaged chunk)."""
        if self._file is None:  # in memory: no file to blame or to verify
            return FileFormatError(
                f"{self!r}: a chunk of the compressed data cannot be decompressed ({exc})"
            )
        return FileFormatError(
            f"{self!r}: a chunk cannot be decompressed, the file is damaged ({exc}); "
            "run 'mlarray verify' on it"
        )

    def __getitem__(self, key: Any) -> Any:
        store = self._require_array("read")
        if self._verifier is not None:
            self._verifier.check_key(key)
        with self._decoding():
            return store[key]

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> Any:
        """NumPy's array protocol: the data as an ndarray.

        Args:
            dtype: Convert to this dtype.
            copy: As in NumPy 2: True always returns a new array, None copies only
                when needed, False never copies.

        Raises:
            ValueError: If ``copy`` is False but the data is held compressed or a
                dtype conversion is asked for (a copy cannot be avoided).
        """
        array = self._decompressed()
        fresh = array is not self._store  # decompressed just now: already a copy
        converts = dtype is not None and np.dtype(dtype) != array.dtype
        if copy is False and (fresh or converts):
            raise ValueError(
                f"{self!r}: the data cannot be returned without a copy (it is held "
                f"compressed or needs a dtype conversion); use copy=None"
            )
        if converts:
            return array.astype(dtype)
        return array.copy() if copy and not fresh else array

    def __len__(self) -> int:
        shape = self._require_array("take len()").shape
        if not shape:
            raise TypeError("len() of a 0-d MLArray")
        return int(shape[0])

    def __iter__(self) -> Iterator[Any]:
        store = self._require_array("iterate")
        for index in range(store.shape[0]):
            yield self[index]

    def read_patches(
        self,
        starts: Sequence[Sequence[int]],
        size: int | Sequence[int],
        *,
        out: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, Any]:
        """Read many patches of one size in one call, e.g. a dataloader batch.

        Each patch decodes straight into its row of the result, so with a reused
        ``out`` nothing is allocated per batch.

        Args:
            starts: One start per patch: an index per array axis, or one per spatial
                axis (non-spatial axes such as channels are then read whole).
            size: The patch size: an int for every spatial axis, one value per
                spatial axis, or one value per array axis.
            out: Optional C-contiguous array of shape ``(len(starts), *patch)`` and
                the array's dtype to fill; a new one is allocated when None.

        Returns:
            The patches, stacked along a new first axis.

        Raises:
            TypeError: If no array data is loaded, or ``out`` does not fit.
            ValueError: If a patch has the wrong number of indices or leaves the array.
            ChecksumError: The file was opened with ``verify=True`` and a chunk a patch
                touches does not match its checksum (nothing is returned).
        """
        store = self._require_array("read patches")
        shape = tuple(store.shape)
        mask = self.meta.spatial.spatial_axis_mask or [True] * len(shape)
        patch, boxes = patch_boxes(starts, size, shape, mask)
        if self._verifier is not None:
            for begin, stop in boxes:
                self._verifier.check_key(tuple(map(slice, begin, stop)))
        with self._decoding():
            return read_patches(store, boxes, patch, out)
