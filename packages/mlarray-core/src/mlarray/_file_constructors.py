"""The classmethods of :class:`~mlarray.MLArray` that make one from a file: open, create, load.

Each builds the backing of its kind of file (:mod:`mlarray._local_file`,
:mod:`mlarray._remote._backing`, :mod:`mlarray._memory`) and hands it, with the
metadata, to ``MLArray._of``, the one way in to a new instance.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

import blosc2
import numpy as np

from mlarray._backing import Backing
from mlarray._coerce import coerce_meta
from mlarray._constructors import as_shape
from mlarray._edit import close_at_exit
from mlarray._file_backing import FileBacking, OpenOptions
from mlarray._local_file import create_file, open_local
from mlarray._memory import loaded
from mlarray._paths import (
    CREATE_MMAP_MODES,
    CREATE_MODES,
    OPEN_MMAP_MODES,
    OPEN_MODES,
    check_mla_path,
    check_mode,
)
from mlarray._remote import CacheArgument, is_url
from mlarray._remote._backing import open_remote_backing
from mlarray._storage import StorageSpec
from mlarray.meta import Meta

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["FileConstructors"]

M = TypeVar("M", bound="FileConstructors")
PathLike = str | os.PathLike[str]


class FileConstructors:
    """``open``, ``create`` and ``load`` of MLArray; they reach it only through ``_of``."""

    if TYPE_CHECKING:  # MLArray._of, and the attributes every instance has

        @classmethod
        def _of(cls: type[M], meta: Meta, spec: StorageSpec, backing: Backing) -> M: ...

        mode: str | None
        mmap_mode: str | None

        def close(self) -> None: ...

    @classmethod
    def open(
        cls: type[M],
        filepath: PathLike,
        mode: str = "r",
        mmap_mode: str | None = "r",
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        *,
        verify: bool = False,
        storage_options: dict[str, Any] | None = None,
        cache: CacheArgument = None,
    ) -> M:
        """Open an existing MLArray file with memory mapping.

        Chunks are read and decompressed on demand; nothing is loaded up front. The
        file is opened once: header and data always come from the same file, even
        when a ``save`` replaces it meanwhile.

        A URL (``https://``, ``s3://``, ``gs://`` or any fsspec URL; needs
        ``pip install "mlarray-core[remote]"``) opens a remote file read-only: the
        header is read with one or two range requests, then each read fetches only
        the blocks it touches (see ``docs/remote.md``).

        Args:
            filepath: Target file path (must end with ".mla"), or the URL of one.
            mode: 'r' (default, read-only) or 'a' (read/write), used when
                ``mmap_mode`` is None.
            mmap_mode: 'r' (default, read-only), 'r+' (read/write), 'c'
                (copy-on-write: changes stay in memory) or None (standard I/O with
                ``mode``). Overrides ``mode`` if set. Writable opens are
                transactions: the file changes only at :meth:`close`.
            dparams: Blosc2 decompression parameters. If None, defaults to
                {'nthreads': 1}.
            verify: Check each chunk against the checksum stored at save time the
                first time a read touches it (files without checksums are read
                unchecked). Writes switch the checks off. A remote file's chunks are
                then fetched whole.
            storage_options: For a URL: options of the fsspec filesystem of its scheme
                (credentials, endpoint, HTTP headers).
            cache: For a URL: a :class:`~mlarray.BlockCache` (or a folder for one)
                keeping the fetched blocks on local disk, shared between processes.

        Returns:
            The opened MLArray. Call :meth:`close` (or use it in a ``with`` block)
            to store the edits made in a writable mode.

        Raises:
            RuntimeError: If the file extension is invalid, the file is missing or
                mode/mmap_mode is invalid for opening, or (writable modes) the file
                or its folder is not writable; for a URL, if a writable mode is asked
                for (ReadOnlyError) or the file cannot be read (RemoteFileError).
            ImportError: A URL needs fsspec (or its scheme's package), not installed.
            ValueError: If the file is not a valid ``.mla`` file (FileFormatError),
                or, with ``verify``, its checksum record is unusable or a read
                touches a damaged chunk (ChecksumError, naming the chunk and region).
        """
        spec = StorageSpec.of(dparams=dparams)
        check_mode(mode, OPEN_MODES, "mode", "opening")
        check_mode(mmap_mode, OPEN_MMAP_MODES, "mmap_mode", "opening")
        options = OpenOptions(mode, mmap_mode, spec.dparams, verify, storage_options, cache)
        if is_url(filepath):
            backing: FileBacking = open_remote_backing(filepath, options)
        else:
            backing = open_local(filepath, options)
        image = cls._of(backing.meta, spec, backing)
        image.mode, image.mmap_mode = mode, mmap_mode
        if backing.edits:
            close_at_exit(image)
        return image

    @classmethod
    def create(
        cls: type[M],
        filepath: PathLike,
        shape: int | list[int] | tuple[int, ...] | np.ndarray[Any, Any],
        dtype: DTypeLike,
        meta: Meta | dict[str, Any] | None = None,
        mode: str = "w",
        mmap_mode: str | None = "w+",
        patch_size: int | list[int] | tuple[int, ...] | str | None = "default",
        chunk_size: int | list[int] | tuple[int, ...] | None = None,
        block_size: int | list[int] | tuple[int, ...] | None = None,
        cparams: dict[str, Any] | blosc2.CParams | str | None = None,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
    ) -> M:
        """Create a new MLArray file with memory mapping.

        The file is built next to ``filepath`` and put in place, complete, by
        :meth:`close` (or the end of a ``with`` block, or garbage collection and
        interpreter exit when ``close`` is never called). Until then a file already
        at ``filepath`` stays as it was; a crash or a full disk never leaves a
        partial file there. Writes go through standard I/O even with
        ``mmap_mode='w+'``, so that a full disk raises an error instead of killing
        the process with ``SIGBUS``.

        Args:
            filepath: Target file path. Must end with ".mla".
            shape: Shape of the array to create, non-spatial axes included.
            dtype: Numpy dtype for the new array.
            meta: Optional metadata; a dict is stored as ``meta.source``.
            mode: Must be 'w' (default): create or overwrite.
            mmap_mode: 'w+' (default) or None. Overrides mode if set.
            patch_size: Patch size hint (int or one value per spatial axis);
                "default" means 192.
            chunk_size: Explicit chunk size (only with ``patch_size=None``).
            block_size: Explicit block size (only with ``patch_size=None``).
            cparams: Blosc2 compression parameters (a dict or ``blosc2.CParams``), or a
                preset name: ``"fast"`` (the default here, as the values are not
                known yet: LZ4 with shuffle, LZ4HC for one-byte data) or
                ``"compact"`` (smaller files, slower reads).
            dparams: Blosc2 decompression parameters (default one thread).

        Returns:
            The new, writable MLArray.

        Raises:
            RuntimeError: If the file extension is invalid, mode/mmap_mode is
                invalid for creation, or the file cannot be written (its folder is
                missing or not writable, the disk is full: MLArrayFileError).
        """
        path = check_mla_path(filepath, must_exist=False)
        check_mode(mode, CREATE_MODES, "mode", "creating")
        check_mode(mmap_mode, CREATE_MMAP_MODES, "mmap_mode", "creating")
        spec = StorageSpec.of(patch_size, chunk_size, block_size, cparams, dparams)
        metadata = coerce_meta(meta)
        shape_tuple, np_dtype = as_shape(shape), np.dtype(dtype)
        backing = create_file(
            path, metadata, spec, shape_tuple, np_dtype, OpenOptions(mode, mmap_mode, spec.dparams)
        )
        image = cls._of(metadata, spec, backing)
        image.mode, image.mmap_mode = mode, mmap_mode
        close_at_exit(image)
        return image

    @classmethod
    def load(
        cls: type[M],
        filepath: PathLike,
        dparams: dict[str, Any] | blosc2.DParams | None = None,
        compressed: bool = True,
        *,
        verify: bool = False,
    ) -> M:
        """Load a MLArray file as a whole without memory mapping.

        Args:
            filepath: Path to the MLArray file to be loaded. The filepath needs to
                have the extension ".mla".
            dparams: Blosc2 decompression parameters used when loading/accessing
                compressed chunks. If None, defaults to {'nthreads': 1}.
            compressed: Keep the data compressed in memory (True) or decompress it
                into a NumPy array (False).
            verify: Check every chunk against the checksum stored at save time
                (files without checksums are loaded unchecked).

        Returns:
            An in-memory MLArray, detached from the file.

        Raises:
            RuntimeError: If the file extension is not ".mla" or the file is missing.
            ValueError: If the file is not a valid ``.mla`` file (FileFormatError),
                or, with ``verify``, a chunk does not match its checksum
                (ChecksumError, naming the chunk and region).
        """
        path = check_mla_path(filepath, must_exist=True)
        spec = StorageSpec.of(dparams=dparams)
        keep = compressed is not False
        meta, backing = loaded(path, dparams=spec.dparams, verify=verify, compressed=keep)
        return cls._of(meta, spec, backing)
