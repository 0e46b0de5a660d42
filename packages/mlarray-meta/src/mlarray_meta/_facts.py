"""The record of the stored array's facts, apart from the user's metadata.

Shape, storage layout, compression parameters, payload presence and format
markers describe the stored bytes, not the user's metadata. They live in one
frozen :class:`ArrayFacts` record; ``meta.spatial.shape``, ``meta.blosc2``,
``meta._has_array``, ``meta._image_meta_format`` and ``meta._mlarray_version``
are read-only views of it. The container (``mlarray-core``), the converters
(``mlarray-io``) and the header reader set a Meta's facts in one way only:
:meth:`mlarray_meta.Meta._set_facts` with a new record, usually made with
:func:`dataclasses.replace` from ``meta._facts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from mlarray_meta._base import BaseMeta
from mlarray_meta.sections import MetaBlosc2, MetaHasArray, MetaImageFormat, MetaVersion

__all__ = ["STORAGE_FIELDS", "ArrayFacts", "changed_views"]

STORAGE_FIELDS = ("chunk_size", "block_size", "patch_size", "cparams", "dparams")
"""The facts shown in ``meta.blosc2`` (the storage record, as 0.0.54 writes it)."""


@dataclass(frozen=True)
class ArrayFacts:
    """What the stored array is: its shape, storage, payload presence and format markers.

    Attributes:
        shape: Array shape (all axes), or None when unknown.
        has_array: Whether the array data is present (False for metadata-only files).
        chunk_size: Chunk size per axis, or None.
        block_size: Block size per axis, or None.
        patch_size: The patch size asked for when the layout was chosen, or None.
        cparams: Blosc2 compression parameters as recorded (JSON-like), or None.
        dparams: Blosc2 decompression parameters as recorded (JSON-like), or None.
        image_meta_format: The image format the array was converted from, or None.
        mlarray_version: The version of the package that last wrote the file, or None.
    """

    shape: tuple[int, ...] | None = None
    has_array: bool = False
    chunk_size: tuple[int, ...] | None = None
    block_size: tuple[int, ...] | None = None
    patch_size: tuple[int | float, ...] | None = None
    cparams: Mapping[str, Any] | None = None
    dparams: Mapping[str, Any] | None = None
    image_meta_format: str | None = None
    mlarray_version: str | None = None

    @classmethod
    def of_views(
        cls,
        shape: Any,
        storage: MetaBlosc2,
        has_array: MetaHasArray,
        image_meta_format: MetaImageFormat,
        mlarray_version: MetaVersion,
    ) -> ArrayFacts:
        """Read the record back from its views (``meta.spatial.shape``, ``meta.blosc2`` ...)."""
        return cls(
            shape=_as_tuple(shape),
            has_array=bool(has_array.value),
            chunk_size=_as_tuple(storage.chunk_size),
            block_size=_as_tuple(storage.block_size),
            patch_size=_as_tuple(storage.patch_size),
            cparams=storage.cparams,
            dparams=storage.dparams,
            image_meta_format=image_meta_format.value,
            mlarray_version=mlarray_version.value,
        )

    def filled_from(self, other: ArrayFacts) -> ArrayFacts:
        """These facts, each unset one (None, empty, no payload) taken from ``other``."""
        return ArrayFacts(
            **{
                f.name: theirs if _is_unset(mine) else mine
                for f in fields(self)
                for mine, theirs in ((getattr(self, f.name), getattr(other, f.name)),)
            }
        )


def _is_unset(value: Any) -> bool:
    if value is None or value is False:
        return True
    return isinstance(value, (tuple, Mapping)) and len(value) == 0


def changed_views(facts: ArrayFacts, current: ArrayFacts) -> dict[str, BaseMeta]:
    """The view sections of a Meta (by field name) that change when ``current`` becomes ``facts``.

    The shape is left out: it is a field of the user's ``meta.spatial``.
    """
    views: dict[str, BaseMeta] = {}
    if any(getattr(facts, name) != getattr(current, name) for name in STORAGE_FIELDS):
        views["blosc2"] = MetaBlosc2(
            **{name: _as_list(getattr(facts, name)) for name in STORAGE_FIELDS}
        )
    if facts.has_array != current.has_array:
        views["_has_array"] = MetaHasArray(facts.has_array)
    if facts.image_meta_format != current.image_meta_format:
        views["_image_meta_format"] = MetaImageFormat(facts.image_meta_format)
    if facts.mlarray_version != current.mlarray_version:
        views["_mlarray_version"] = MetaVersion(facts.mlarray_version)
    return views


def _as_tuple(values: Any) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
