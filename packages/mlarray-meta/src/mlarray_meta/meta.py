"""The top-level :class:`Meta` container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlarray_meta._base import BaseMeta
from mlarray_meta._facts import ArrayFacts, changed_views
from mlarray_meta._leniency import lenient_reading, warn_kept
from mlarray_meta.errors import MetaValidationError
from mlarray_meta.sections import (
    MetaBbox,
    MetaBlosc2,
    MetaExtra,
    MetaHasArray,
    MetaImageFormat,
    MetaIsSeg,
    MetaSource,
    MetaStatistics,
    MetaVersion,
)
from mlarray_meta.spatial import MetaSpatial

__all__ = ["Meta", "meta_from_file"]

SECTIONS: dict[str, type[BaseMeta]] = {
    "source": MetaSource,
    "extra": MetaExtra,
    "spatial": MetaSpatial,
    "stats": MetaStatistics,
    "bbox": MetaBbox,
    "is_seg": MetaIsSeg,
    "blosc2": MetaBlosc2,
    "_has_array": MetaHasArray,
    "_image_meta_format": MetaImageFormat,
    "_mlarray_version": MetaVersion,
}


@dataclass
class Meta(BaseMeta):
    """Top-level metadata container for mlarray.

    Sections can be given as instances, mappings or raw values and are coerced
    to their classes, in the constructor and on assignment
    (``meta.source = {...}``, ``meta.is_seg = True``, ``meta.bbox = {...}``).

    Attributes:
        source: Source metadata from the original image source (JSON-serializable dict).
        extra: Additional metadata (JSON-serializable dict).
        spatial: Spatial metadata (spacing, origin, direction, affine, shape).
        stats: Summary statistics.
        bbox: Bounding boxes.
        is_seg: Segmentation flag.
        blosc2: Blosc2 chunking/tiling metadata (read-only).
        _has_array: Payload presence flag (read-only).
        _image_meta_format: Image metadata format identifier (read-only).
        _mlarray_version: Version string for mlarray (read-only).

    The read-only sections and ``spatial.shape`` are views of the stored array's
    facts (:class:`~mlarray_meta._facts.ArrayFacts`): ``_facts`` reads them as one
    record and :meth:`_set_facts` is the one way to change them.
    """

    _section: ClassVar[str] = "meta"
    _read_only: ClassVar[frozenset[str]] = frozenset(
        {"blosc2", "_has_array", "_image_meta_format", "_mlarray_version"}
    )

    source: MetaSource = field(default_factory=MetaSource)
    extra: MetaExtra = field(default_factory=MetaExtra)
    spatial: MetaSpatial = field(default_factory=MetaSpatial)
    stats: MetaStatistics = field(default_factory=MetaStatistics)
    bbox: MetaBbox = field(default_factory=MetaBbox)
    is_seg: MetaIsSeg = field(default_factory=MetaIsSeg)
    blosc2: MetaBlosc2 = field(default_factory=MetaBlosc2)
    _has_array: MetaHasArray = field(default_factory=MetaHasArray)
    _image_meta_format: MetaImageFormat = field(default_factory=MetaImageFormat)
    _mlarray_version: MetaVersion = field(default_factory=MetaVersion)

    def _validate_and_cast(self) -> None:
        for name, section in SECTIONS.items():
            self._store(name, section.ensure(self._raw(name)))
        self._check_layout()

    def _check_layout(self) -> None:
        """Check the chunk layout lengths against the array shape and spatial axes.

        ``patch_size`` is checked only against axes declared in ``axis_labels``:
        without labels the number of spatial axes is a guess, and the read-only
        layout must not block edits (or a reset) of the user's spatial fields.
        """
        shape = self.spatial.shape
        mask = None if self.spatial.axis_labels is None else self.spatial.spatial_axis_mask
        for name in ("chunk_size", "block_size"):
            sizes = getattr(self.blosc2, name)
            if sizes is not None and shape is not None and len(sizes) != len(shape):
                raise MetaValidationError(
                    f"meta.blosc2.{name}: expected {len(shape)} values (one per array axis, "
                    f"shape {list(shape)}), got {len(sizes)}",
                    path=f"meta.blosc2.{name}",
                )
        patch = self.blosc2.patch_size
        labelled = self.spatial.axis_labels is not None
        if patch is not None and mask is not None and labelled and len(patch) != sum(mask):
            raise MetaValidationError(
                f"meta.blosc2.patch_size: expected {sum(mask)} values (one per spatial axis), "
                f"got {len(patch)}",
                path="meta.blosc2.patch_size",
            )

    def validate(self) -> None:
        """Check every section again, e.g. after in-place edits of lists or dicts.

        Raises:
            MetaValidationError: If a value is invalid (wrong length, not finite ...).
            MetaTypeError: If a value has the wrong type (e.g. not JSON-serializable).
        """
        for name in SECTIONS:
            self._raw(name)._validate_and_cast()
        self._check_layout()

    def to_plain(self, *, include_none: bool = False) -> Any:
        """Convert to plain values, suppressing default sub-metas.

        Args:
            include_none: Include None values when True.

        Returns:
            A dict of field values where default child metas are represented
            as None and optionally filtered out.
        """
        out: dict[str, Any] = {}
        for name in SECTIONS:
            section = self._raw(name)
            value = None if section.is_default() else section.to_plain(include_none=include_none)
            if value is not None or include_none:
                out[name] = value
        return out

    @property
    def _facts(self) -> ArrayFacts:
        """The stored array's facts, as shown by the read-only views."""
        return ArrayFacts.of_views(
            self.spatial.shape,
            self.blosc2,
            self._has_array,
            self._image_meta_format,
            self._mlarray_version,
        )

    def _set_facts(self, facts: ArrayFacts) -> None:
        """Set the stored array's facts: the one way to change the read-only views.

        The container, the converters and the header reader call it with a new
        record, usually ``dataclasses.replace(meta._facts, ...)``; users cannot
        write the views (``ReadOnlyFieldError``).

        Args:
            facts: The new record.

        Raises:
            MetaValidationError: A fact is invalid or does not fit the user's
                metadata (e.g. ``axis_labels`` of another length than the shape);
                nothing changes then.
            MetaTypeError: A fact has the wrong type.
        """
        current = self._facts
        if facts == current:
            return
        views = changed_views(facts, current)
        spatial, shape = self.spatial, current.shape
        if facts.shape != shape:
            spatial._write({"shape": None if facts.shape is None else list(facts.shape)})
        try:
            self._write(views)
        except BaseException:
            if facts.shape != shape:
                spatial._write({"shape": None if shape is None else list(shape)})
            raise

    def _assign(self, values: Mapping[str, Any]) -> None:
        if "spatial" in values:
            values = {**values, "spatial": self._with_current_shape(values["spatial"])}
        super()._assign(values)

    def _with_current_shape(self, value: Any) -> MetaSpatial:
        """Return ``value`` as a MetaSpatial carrying this array's shape (a read-only fact)."""
        spatial = MetaSpatial.ensure(value)
        if spatial.shape == self.spatial.shape:
            return spatial
        fields = spatial.to_mapping()
        fields["shape"] = self.spatial.shape
        return MetaSpatial.from_mapping(fields)

    def _replace(self, name: str, value: Any) -> Meta:
        self._assign({name: SECTIONS[name].ensure(value)})
        return self

    def set_source(self, value: MetaSource | dict[str, Any]) -> Meta:
        """Replace the source metadata; returns ``self`` for chaining."""
        return self._replace("source", value)

    def set_extra(self, value: MetaExtra | dict[str, Any]) -> Meta:
        """Replace the extra metadata; returns ``self`` for chaining."""
        return self._replace("extra", value)

    def set_spatial(self, value: MetaSpatial | dict[str, Any]) -> Meta:
        """Replace the spatial metadata; the array's shape (a read-only fact) is kept.

        Args:
            value: A :class:`MetaSpatial` or a mapping of its fields.

        Returns:
            ``self``, for chaining.
        """
        return self._replace("spatial", value)

    def set_stats(self, value: MetaStatistics | dict[str, Any]) -> Meta:
        """Replace the statistics; returns ``self`` for chaining."""
        return self._replace("stats", value)

    def set_bbox(self, value: MetaBbox | dict[str, Any] | list[Any]) -> Meta:
        """Replace the bounding boxes with a MetaBbox, a mapping or a list of boxes."""
        if isinstance(value, (list, tuple)):
            value = {"bboxes": value}
        return self._replace("bbox", value)

    def set_is_seg(self, value: MetaIsSeg | bool | None) -> Meta:
        """Set the segmentation flag; returns ``self`` for chaining."""
        return self._replace("is_seg", value)

    def update_source(self, value: dict[str, Any]) -> Meta:
        """Merge ``value`` into the source metadata; returns ``self`` for chaining."""
        self.source.update(value)
        return self

    def update_extra(self, value: dict[str, Any]) -> Meta:
        """Merge ``value`` into the extra metadata; returns ``self`` for chaining."""
        self.extra.update(value)
        return self

    def add_bbox(
        self,
        bbox: list[list[int | float]],
        score: int | float | None = None,
        label: str | int | float | None = None,
    ) -> Meta:
        """Append one bounding box, with its score and label when the others have them.

        Args:
            bbox: The box as ``[ndims][2]`` pairs of ``[min, max]``.
            score: Its confidence score; required when existing boxes have scores.
            label: Its label; required when existing boxes have labels.

        Returns:
            ``self``, for chaining.

        Raises:
            MetaValidationError: If the box does not fit the existing boxes, or a
                score/label is given for some boxes but not others.
        """
        current = self.bbox
        count = len(current.bboxes or [])
        new: dict[str, Any] = {"bboxes": [*(current.bboxes or []), bbox]}
        for name, item in (("scores", score), ("labels", label)):
            existing = getattr(current, name)
            if (existing is None) != (item is None) and (count > 0 or existing is not None):
                have = "have" if existing is not None else "do not have"
                raise MetaValidationError(
                    f"meta.bbox.{name}: the {count} existing boxes {have} {name}; "
                    f"give a {name[:-1]} for every box or for none",
                    path=f"meta.bbox.{name}",
                )
            new[name] = None if item is None else [*(existing or []), item]
        current._assign(new)
        return self


def meta_from_file(mapping: Mapping[str, Any], *, source: str, warn: bool = True) -> Meta:
    """Build the :class:`Meta` of metadata read from a file: strict writing, lenient reading.

    Values that ``mlarray`` 0.0.54 accepts but this package would not write (see
    ``docs/migrating.md``) are kept as stored, with one
    :class:`~mlarray_meta.errors.MetaCompatibilityWarning` per field; saving them
    later raises until they are changed. Anything else invalid raises as in
    :meth:`Meta.from_mapping`.

    Args:
        mapping: The ``Meta.to_mapping()`` dict read from the file.
        source: Names the file in the warnings.
        warn: Emit the warnings (False where they were emitted already, e.g.
            when an MLArray is unpickled).

    Raises:
        MetaValidationError: A value is invalid even for 0.0.54.
        MetaTypeError: A value has a type 0.0.54 refuses too.
        UnknownFieldError: The mapping has a field the schema does not know.
    """
    with lenient_reading() as notes:
        meta = Meta.from_mapping(mapping)
    if warn:
        warn_kept(notes, source)
    return meta
