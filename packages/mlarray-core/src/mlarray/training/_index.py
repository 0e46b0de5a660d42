"""Building, storing and loading the foreground index of ``.mla`` segmentation files."""

from __future__ import annotations

import enum
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blosc2

from mlarray.errors import FileFormatError, MLArrayError, NoArrayError
from mlarray.mlarray import MLArray
from mlarray.training._core import (
    INDEX_KEY,
    ForegroundIndex,
    atomic_write,
    check_mla_path,
    chunk_checksums,
    chunks_fingerprint,
    decode_index,
    describe_chunk,
    edit_working_copy,
    encode_index,
    open_file,
    read_file_header,
    record_problem,
    set_raw_vlmeta,
)
from mlarray.training._foreground import SamplingRule, compute_index

if TYPE_CHECKING:
    from mlarray_meta.header import Header

__all__ = ["IndexStatus", "build_index", "index_status", "load_index", "refresh_stored_index"]

PathLike = str | os.PathLike[str]


class IndexStatus(enum.Enum):
    """Whether a file holds a foreground index that matches its array."""

    CURRENT = "current"
    STALE = "stale"
    MISSING = "missing"


def _fingerprint(array: Any, integrity: dict[str, Any] | None) -> bytes:
    """Fingerprint of a Blosc2 array's chunks, from its integrity record when it has one."""
    crcs = (integrity or chunk_checksums(array))["chunks"]
    return chunks_fingerprint(tuple(array.shape), array.dtype.str, crcs)


def _verified_fingerprint(array: Any, integrity: dict[str, Any] | None, name: str) -> bytes:
    """Fingerprint of a Blosc2 array's chunks, checked against its integrity record.

    Raises:
        FileFormatError: A chunk's stored bytes do not match the checksum recorded
            for them: an index computed from them would describe damaged data.
    """
    try:
        crcs = chunk_checksums(array)["chunks"]
    except RuntimeError as exc:  # Blosc2 could not even fetch a chunk
        raise _damaged(name, f"a chunk cannot be read ({exc})") from exc
    if integrity is not None and record_problem(integrity, array) is None:
        for number, (actual, expected) in enumerate(zip(crcs, integrity["chunks"], strict=True)):
            if actual != expected:
                where = describe_chunk(number, tuple(array.shape), tuple(array.chunks))
                raise _damaged(name, f"{where} does not match its checksum")
    return chunks_fingerprint(tuple(array.shape), array.dtype.str, crcs)


def _damaged(name: str, problem: str) -> FileFormatError:
    return FileFormatError(f"{name}: {problem}, the file is damaged; run 'mlarray verify' on it")


def _store(array: Any, index: ForegroundIndex) -> None:
    set_raw_vlmeta(array, INDEX_KEY, encode_index(index))


def _compute_and_store(
    array: Any, integrity: dict[str, Any] | None, seed: int, rule: SamplingRule | None, name: str
) -> ForegroundIndex:
    fingerprint = _verified_fingerprint(array, integrity, name)
    try:
        index = compute_index(array, seed=seed, rule=rule, fingerprint=fingerprint, source=name)
    except MLArrayError:
        raise
    except RuntimeError as exc:  # Blosc2 could not decompress a chunk
        raise _damaged(name, f"a chunk cannot be decompressed ({exc})") from exc
    _store(array, index)
    return index


def build_index(
    target: MLArray | PathLike,
    *,
    seed: int = 0,
    max_samples: int = 10_000,
    min_fraction: float = 0.01,
) -> ForegroundIndex:
    """Compute the foreground index of a segmentation and store it in its ``.mla`` file.

    For every non-zero label: its voxel count, its bounding box and a seeded sample
    of its voxels (up to ``max_samples`` and at least ``min_fraction`` of them,
    nnU-Net's rule). It is stored in binary form next to the metadata and stays
    tied to the exact chunks it was computed from: when the mask changes, saving or
    closing the file rewrites it, and a reader never uses an index that no longer
    matches (see :func:`load_index`).

    Args:
        target: A ``.mla`` path (rewritten atomically with the index added), or an
            MLArray backed by a file: opened for writing (the index is written into
            the open file, kept current on ``close()``) or read-only (its file is
            rewritten atomically).
        seed: Seeds the voxel sample.
        max_samples: Keep up to this many voxels per label...
        min_fraction: ...but at least this fraction of each label's voxels.

    Returns:
        The index stored.

    Raises:
        RuntimeError: The path is not a ``.mla`` file, or writing it fails.
        TypeError: The array is not integer or boolean, or an MLArray has no file.
        ValueError: The file is not a valid ``.mla`` file.
    """
    rule = SamplingRule(max_samples=max_samples, min_fraction=min_fraction)
    if isinstance(target, MLArray):
        if target.filepath is None:
            raise NoArrayError(
                f"{target!r}: the index is stored in a file; save the MLArray first, then "
                "build the index of the saved file"
            )
        store = edit_working_copy(target)
        if store is not None:  # an open edit: the index goes into its working copy
            return _compute_and_store(store, None, seed, rule, str(target.filepath))
        target = target.filepath
    path = check_mla_path(target, must_exist=True)
    built: list[ForegroundIndex] = []

    def write(temp: Path) -> None:
        shutil.copyfile(path, temp)
        header = read_file_header(temp)
        _require_array(header, path)
        array = blosc2.open(str(temp), mode="a", dparams={"nthreads": 1}, deserialize="safe")
        built.append(_compute_and_store(array, header.mapping.integrity, seed, rule, str(path)))
        del array

    atomic_write(path, write)
    return built[0]


def _require_array(header: Header, path: Path) -> None:
    if not header.meta._has_array.value:
        raise NoArrayError(f"{path}: a metadata-only file has no mask to index")


def _stored(header: Header) -> ForegroundIndex | None:
    frame = header.mapping.frame
    if INDEX_KEY not in frame.vlmeta:
        return None
    source = f"{frame.path}: vlmeta {INDEX_KEY!r}"
    value = frame.vlmeta_value(INDEX_KEY)
    if not isinstance(value, bytes):
        raise FileFormatError(f"{source}: expected a msgpack bin value")
    return decode_index(value, source=source)


def _read(path: PathLike) -> tuple[ForegroundIndex | None, IndexStatus]:
    checked = check_mla_path(path, must_exist=True)
    header = read_file_header(checked)
    try:
        stored = _stored(header)
    except FileFormatError:
        return None, IndexStatus.STALE  # damaged: as good as outdated, rebuild it
    if stored is None:
        return None, IndexStatus.MISSING
    if stored.shape != header.shape:
        return None, IndexStatus.STALE
    integrity = header.mapping.integrity
    if integrity is not None:
        crcs = integrity.get("chunks")
        if isinstance(crcs, list):
            current = chunks_fingerprint(header.shape, header.dtype, crcs)
        else:  # a malformed record cannot vouch for the index
            current = b""
    else:
        array = open_file(checked, mapped=True).array({"nthreads": 1})
        current = _fingerprint(array, None)
    if stored.fingerprint != current:
        return None, IndexStatus.STALE
    return stored, IndexStatus.CURRENT


def load_index(path: PathLike) -> ForegroundIndex | None:
    """Return the foreground index stored in a ``.mla`` file, if it matches the array.

    Reads only the file's header and trailer when the file records chunk checksums
    (every file mlarray writes does); otherwise the stored chunks are read, never
    decompressed.

    Returns:
        The index, or None when the file has none or the array changed since it was
        built (a stale index is never returned).

    Raises:
        RuntimeError: The path is not a readable ``.mla`` file.
        ValueError: The file is not a valid ``.mla`` file.
    """
    return _read(path)[0]


def index_status(path: PathLike) -> IndexStatus:
    """Say whether a ``.mla`` file holds a current, a stale or no foreground index."""
    return _read(path)[1]


def refresh_stored_index(array: Any, integrity: dict[str, Any]) -> None:
    """Recompute a stored index whose array changed; called when a file is finalised.

    Files without an index are left alone. An index whose fingerprint still matches
    the chunks costs one comparison; otherwise it is rebuilt with its own seed, or
    removed if the array can no longer be indexed.
    """
    vlmeta = array.schunk.vlmeta
    if INDEX_KEY not in vlmeta:
        return
    fingerprint = _fingerprint(array, integrity)
    try:
        stored = decode_index(vlmeta[INDEX_KEY], source=INDEX_KEY)
    except FileFormatError:
        stored = None
    if stored is not None and stored.fingerprint == fingerprint:
        return
    seed = 0 if stored is None else stored.seed
    try:
        index = compute_index(array, seed=seed, fingerprint=fingerprint)
    except MLArrayError:
        del vlmeta[INDEX_KEY]
        return
    _store(array, index)
