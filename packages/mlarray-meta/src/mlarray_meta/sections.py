"""The metadata sections other than spatial: free-form, statistics, boxes, flags, layout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlarray_meta._base import BaseMeta, FrozenList, SingleKeyBaseMeta, freeze
from mlarray_meta._checks import (
    as_bool,
    as_int_list,
    as_number_list,
    as_optional_number,
    as_optional_str,
)
from mlarray_meta._json import to_json_safe, unwrap
from mlarray_meta._leniency import tolerated
from mlarray_meta.errors import MetaTypeError, MetaValidationError

__all__ = [
    "MetaBbox",
    "MetaBlosc2",
    "MetaExtra",
    "MetaHasArray",
    "MetaImageFormat",
    "MetaIsSeg",
    "MetaSource",
    "MetaStatistics",
    "MetaVersion",
]


class _JsonDictSection(SingleKeyBaseMeta):
    """A section wrapping one JSON-serializable dict (``source``, ``extra``)."""

    _value_is_mapping: ClassVar[bool] = True

    def _validate_and_cast(self) -> None:
        key = self._key()
        value = self._raw(key)
        if value is None:
            value = {}
        if not isinstance(unwrap(value), Mapping):
            raise MetaTypeError(
                f"{self._section}: expected a dict, got {type(value).__name__}", path=self._section
            )
        self._store(key, to_json_safe(value, self._section))

    def __setitem__(self, key: Any, item: Any) -> None:
        if not isinstance(key, str):
            raise MetaTypeError(
                f"{self._section}: keys must be strings for JSON, got {type(key).__name__}",
                path=self._section,
            )
        self.value[key] = to_json_safe(item, f"{self._section}[{key!r}]")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Merge ``other`` and ``kwargs`` into the wrapped dict (values made JSON-safe)."""
        merged = dict(self.value)
        merged.update(dict(other), **kwargs)
        self.value = merged

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return ``self[key]``, first storing ``default`` (made JSON-safe) if it is missing."""
        if key not in self.value:
            self[key] = default
        return self.value[key]


@dataclass(eq=False, repr=False)
class MetaSource(_JsonDictSection):
    """Source metadata from the original image source stored as JSON-serializable dict.

    Attributes:
        data: Arbitrary JSON-serializable metadata.
    """

    _section: ClassVar[str] = "meta.source"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False, repr=False)
class MetaExtra(_JsonDictSection):
    """Generic extra metadata stored as JSON-serializable dict.

    Attributes:
        data: Arbitrary JSON-serializable metadata.
    """

    _section: ClassVar[str] = "meta.extra"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetaStatistics(BaseMeta):
    """Numeric summary statistics for an array.

    Attributes:
        min: Minimum value.
        max: Maximum value.
        mean: Mean value.
        median: Median value.
        std: Standard deviation.
        percentile_min: Minimum percentile value.
        percentile_max: Maximum percentile value.
        percentile_mean: Mean percentile value.
        percentile_median: Median percentile value.
        percentile_std: Standard deviation of percentile values.
        percentile_min_key: Minimum percentile key used to determine percentile_min
            (for example 0.05).
        percentile_max_key: Maximum percentile key used to determine percentile_max
            (for example 0.95).
    """

    _section: ClassVar[str] = "meta.stats"

    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None
    std: float | None = None
    percentile_min: float | None = None
    percentile_max: float | None = None
    percentile_mean: float | None = None
    percentile_median: float | None = None
    percentile_std: float | None = None
    percentile_min_key: float | None = None
    percentile_max_key: float | None = None

    def _validate_and_cast(self) -> None:
        for name in self._field_names():
            self._store(name, as_optional_number(self._raw(name), self._path(name), tolerant=True))


@dataclass
class MetaBbox(BaseMeta):
    """Bounding box metadata with optional scores and labels.

    Attributes:
        bboxes: List of bounding boxes with shape [n_boxes, ndims, 2], where each
            inner pair is [min, max] for a dimension. Values must be ints or floats.
        scores: Optional confidence scores aligned with bboxes (ints or floats).
        labels: Optional labels aligned with bboxes. Each label may be a string,
            int, or float.
    """

    _section: ClassVar[str] = "meta.bbox"

    bboxes: list[list[list[int | float]]] | None = None
    scores: list[int | float] | None = None
    labels: list[str | int | float] | None = None

    def _validate_and_cast(self) -> None:
        boxes = self._validate_boxes(self._raw("bboxes"))
        scores = as_number_list(self._raw("scores"), self._path("scores"), tolerant=True)
        labels = self._validate_labels(self._raw("labels"))
        for name, aligned in (("scores", scores), ("labels", labels)):
            if aligned is not None and len(aligned) != len(boxes or []):
                message = (
                    f"{self._path(name)}: expected one entry per bounding box "
                    f"({len(boxes or [])}), got {len(aligned)}"
                )
                if boxes is not None:
                    raise MetaValidationError(message, path=self._path(name))
                tolerated(self._path(name), message)  # 0.0.54 checks only against boxes
        self._store("bboxes", boxes)
        self._store("scores", scores)
        self._store("labels", labels)

    def _validate_boxes(self, value: Any) -> list[list[list[int | float]]] | None:
        if value is None:
            return None
        value = unwrap(value)
        if not isinstance(value, (list, tuple)):
            raise MetaTypeError(
                f"{self._path('bboxes')}: expected a list of boxes [n][ndims][2], "
                f"got {type(value).__name__}",
                path=self._path("bboxes"),
            )
        boxes = [self._validate_box(box, index) for index, box in enumerate(value)]
        for index, box in enumerate(boxes):
            if len(box) != len(boxes[0]):
                tolerated(
                    self._path("bboxes"),
                    f"{self._path('bboxes')}[{index}]: expected {len(boxes[0])} dimensions like "
                    f"box 0, got {len(box)}",
                )
                break
        return boxes

    def _validate_box(self, box: Any, index: int) -> list[list[int | float]]:
        field = self._path("bboxes")
        where = f"{field}[{index}]"
        box = unwrap(box)
        if not isinstance(box, (list, tuple)):
            raise MetaTypeError(
                f"{where}: expected [ndims][2] pairs of [min, max], got {box!r}", path=where
            )
        if not box:
            message = f"{where}: expected [ndims][2] pairs of [min, max], got []"
            tolerated(field, message, MetaTypeError)
        pairs = [
            as_number_list(pair, f"{where}[{dim}]", tolerant=True, root=field) or []
            for dim, pair in enumerate(box)
        ]
        for dim, pair in enumerate(pairs):
            if len(pair) != 2:
                raise MetaValidationError(
                    f"{where}[{dim}]: expected a [min, max] pair, got {len(pair)} values",
                    path=f"{where}[{dim}]",
                )
            if pair[0] > pair[1]:
                tolerated(field, f"{where}[{dim}]: min {pair[0]} is greater than max {pair[1]}")
        return pairs

    def _validate_labels(self, value: Any) -> list[str | int | float] | None:
        if value is None:
            return None
        value = unwrap(value)
        if not isinstance(value, (list, tuple)):
            raise MetaTypeError(
                f"{self._path('labels')}: expected a list, got {type(value).__name__}",
                path=self._path("labels"),
            )
        labels: list[str | int | float] = []
        for index, label in enumerate(value):
            label = unwrap(label)
            if isinstance(label, bool) or not isinstance(label, (str, int, float)):
                raise MetaTypeError(
                    f"{self._path('labels')}[{index}]: expected a str, int or float, "
                    f"got {type(label).__name__}",
                    path=f"{self._path('labels')}[{index}]",
                )
            labels.append(to_json_safe(label, f"{self._path('labels')}[{index}]"))
        return labels


@dataclass(eq=False, repr=False)
class MetaIsSeg(SingleKeyBaseMeta):
    """Flag indicating whether the array is a segmentation mask.

    Attributes:
        is_seg: True/False when known, None when unknown.
    """

    _section: ClassVar[str] = "meta.is_seg"
    is_seg: bool | None = None

    def _validate_and_cast(self) -> None:
        self._store("is_seg", as_bool(self._raw("is_seg"), self._section, optional=True))


@dataclass
class MetaBlosc2(BaseMeta):
    """Metadata for Blosc2 tiling and chunking: a read-only view of the array's facts.

    Attributes:
        chunk_size: List of per-dimension chunk sizes. Length must match ndims.
        block_size: List of per-dimension block sizes. Length must match ndims.
        patch_size: The patch size asked for when the layout was chosen, one positive
            number per spatial axis (whole numbers unless a file says otherwise).
        cparams: Blosc2 compression parameters as a JSON-serializable dict.
        dparams: Blosc2 decompression parameters as a JSON-serializable dict.
    """

    _section: ClassVar[str] = "meta.blosc2"
    _read_only: ClassVar[frozenset[str]] = frozenset(
        {"chunk_size", "block_size", "patch_size", "cparams", "dparams"}
    )

    chunk_size: list[int] | None = None
    block_size: list[int] | None = None
    patch_size: list[int] | None = None
    cparams: dict[str, Any] | None = None
    dparams: dict[str, Any] | None = None

    def _validate_and_cast(self) -> None:
        for name in ("chunk_size", "block_size"):
            self._store(name, as_int_list(self._raw(name), self._path(name), frozen=True))
        # The patch size asked for, kept as given (0.0.54 records fractions it was given).
        patch = as_number_list(self._raw("patch_size"), self._path("patch_size"), positive=True)
        self._store(
            "patch_size", None if patch is None else FrozenList(patch, self._path("patch_size"))
        )
        chunks, blocks = self._raw("chunk_size"), self._raw("block_size")
        if chunks is not None and blocks is not None:
            if len(chunks) != len(blocks):
                raise MetaValidationError(
                    f"{self._path('block_size')}: expected {len(chunks)} values like chunk_size, "
                    f"got {len(blocks)}",
                    path=self._path("block_size"),
                )
            for axis, (chunk, block) in enumerate(zip(chunks, blocks, strict=True)):
                if block > chunk:
                    raise MetaValidationError(
                        f"{self._path('block_size')}[{axis}]: block {block} is larger than "
                        f"chunk {chunk}",
                        path=f"{self._path('block_size')}[{axis}]",
                    )
        for name in ("cparams", "dparams"):
            value = self._raw(name)
            if value is not None:
                if not isinstance(unwrap(value), dict):
                    raise MetaTypeError(
                        f"{self._path(name)}: expected a dict or None, got {type(value).__name__}",
                        path=self._path(name),
                    )
                value = freeze(to_json_safe(value, self._path(name)), self._path(name))
            self._store(name, value)


@dataclass(eq=False, repr=False)
class MetaHasArray(SingleKeyBaseMeta):
    """Flag indicating whether an array is present; a read-only view of the array's facts.

    Attributes:
        has_array: True when array data is present.
    """

    _section: ClassVar[str] = "meta._has_array"
    _read_only: ClassVar[frozenset[str]] = frozenset({"has_array"})
    has_array: bool = False

    def _validate_and_cast(self) -> None:
        self._store("has_array", as_bool(self._raw("has_array"), self._section, optional=False))


@dataclass(eq=False, repr=False)
class MetaImageFormat(SingleKeyBaseMeta):
    """String describing the image metadata format; a read-only view of the array's facts.

    Attributes:
        image_meta_format: Format identifier, or None.
    """

    _section: ClassVar[str] = "meta._image_meta_format"
    _read_only: ClassVar[frozenset[str]] = frozenset({"image_meta_format"})
    image_meta_format: str | None = None

    def _validate_and_cast(self) -> None:
        self._store(
            "image_meta_format", as_optional_str(self._raw("image_meta_format"), self._section)
        )


@dataclass(eq=False, repr=False)
class MetaVersion(SingleKeyBaseMeta):
    """Version metadata for mlarray; a read-only view of the array's facts.

    Attributes:
        mlarray_version: Version string, or None.
    """

    _section: ClassVar[str] = "meta._mlarray_version"
    _read_only: ClassVar[frozenset[str]] = frozenset({"mlarray_version"})
    mlarray_version: str | None = None

    def _validate_and_cast(self) -> None:
        self._store("mlarray_version", as_optional_str(self._raw("mlarray_version"), self._section))
