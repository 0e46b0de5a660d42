"""Pickling of :class:`~mlarray.MLArray`, for dataloader workers started with ``spawn``.

A read-only file handle travels as its path and open arguments and is opened
again by the receiving process (a Blosc2 array cannot be pickled, and each
process must map the file itself); an in-memory array travels as its data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import blosc2
import numpy as np

from mlarray._remote import RemoteFile
from mlarray._storage import StorageSpec
from mlarray.errors import MLArrayFileError
from mlarray.meta import Meta
from mlarray_meta.meta import meta_from_file

if TYPE_CHECKING:
    from mlarray._file_backing import FileBacking

__all__ = ["Picklable"]


class Picklable:
    """``__getstate__``/``__setstate__`` of :class:`~mlarray.MLArray`."""

    _meta: Meta
    mode: str | None
    mmap_mode: str | None
    _store: Any
    _file: FileBacking | None
    _frame_borrowed: bool
    _spec: StorageSpec
    _plan: Any

    if TYPE_CHECKING:  # provided by MLArray

        @property
        def shape(self) -> tuple[int, ...] | None: ...

        @property
        def filepath(self) -> str | None: ...

        @property
        def meta(self) -> Meta: ...

        def _init_state(self, meta: Meta, spec: StorageSpec) -> None: ...

    def __getstate__(self) -> dict[str, Any]:
        """Pickle support, for dataloader workers started with ``spawn``.

        A file opened read-only (or copy-on-write, before any write) pickles as its
        path and open arguments and is opened again by the receiving process, which
        then maps the file itself (a remote file: opens its own session); an
        in-memory array (or a copy-on-write one written to) pickles its data.

        Raises:
            MLArrayFileError: For a file opened for writing: a second process writing
                the same file in place would corrupt it.
        """
        state = {"meta": self.meta.to_mapping(), "dparams": self._spec.dparams}
        file = self._file
        reads_file = file is not None and (file.pending or file.read_only or self._frame_borrowed)
        if file is not None and self.shape is not None and reads_file:
            if file.session is not None:
                raise MLArrayFileError(
                    f"{file.path}: an MLArray opened for writing cannot be pickled; "
                    "open the file read-only in each worker process"
                )
            opened = file.opened
            return {
                **state,
                "file": str(file.path),
                "mode": self.mode,
                "mmap_mode": self.mmap_mode,
                "verify": file.verify,
                "remote": opened.reopen_arguments() if isinstance(opened, RemoteFile) else {},
            }
        data = self._store
        if data is not None and not isinstance(data, np.ndarray):
            data = data.to_cframe()
        return {**state, "data": data, "plan": self._plan, "spec": self._spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        meta = meta_from_file(state["meta"], source="an unpickled MLArray", warn=False)
        if "file" in state:
            opened = type(self).open(  # type: ignore[attr-defined]  # MLArray.open
                state["file"],
                mode=state["mode"],
                mmap_mode=state["mmap_mode"],
                dparams=state["dparams"],
                verify=state["verify"],
                **state.get("remote", {}),
            )
            self.__dict__.update(opened.__dict__)
            self._meta = meta
            return
        self._init_state(meta, state["spec"])
        data = state["data"]
        if isinstance(data, bytes):
            data = blosc2.ndarray_from_cframe(data, copy=True)
            data.schunk.dparams = blosc2.DParams(**self._spec.dparams)
        self._store, self._plan = data, state["plan"]
