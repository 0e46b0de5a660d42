"""Spatial metadata: geometry, axis roles and the world coordinate system."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from mlarray_meta._base import BaseMeta
from mlarray_meta._checks import (
    as_int_list,
    as_matrix,
    as_number_list,
    as_optional_str,
    as_str_list,
    as_unit_list,
)
from mlarray_meta._leniency import tolerated
from mlarray_meta.errors import MetaValidationError

__all__ = [
    "VECTOR_GEOMETRY",
    "AxisLabel",
    "AxisLabelEnum",
    "CoordSystem",
    "CoordSystemEnum",
    "MetaSpatial",
]


class AxisLabelEnum(StrEnum):
    """Axis label/role identifiers used for spatial metadata.

    Attributes:
        spatial: Generic spatial axis (used when no axis-specific label applies).
        spatial_x: Spatial axis representing X.
        spatial_y: Spatial axis representing Y.
        spatial_z: Spatial axis representing Z.
        non_spatial: Generic non-spatial axis.
        channel: Channel axis (e.g., color channels or feature maps).
        temporal: Time axis.
        continuous: Continuous-valued axis (non-spatial).
        components: Component axis (e.g., vector components).
    """

    spatial = "spatial"
    spatial_x = "spatial_x"
    spatial_y = "spatial_y"
    spatial_z = "spatial_z"
    non_spatial = "non_spatial"
    channel = "channel"
    temporal = "temporal"
    continuous = "continuous"
    components = "components"


AxisLabel = AxisLabelEnum

SPATIAL_LABELS = frozenset({"spatial", "spatial_x", "spatial_y", "spatial_z"})

VECTOR_GEOMETRY = ("spacing", "origin", "direction")
"""The geometry fields that together are the alternative to an ``affine``."""


class CoordSystemEnum(StrEnum):
    """Names of world coordinate systems.

    ``RAS``/``RAS+`` is the NIfTI world (x to the Right, y Anterior, z Superior),
    ``LPS``/``LPS+`` the ITK and DICOM world. ``unknown`` says the frame is not
    known; ``other`` names a frame outside this list. Any other string is kept
    verbatim by :class:`MetaSpatial`.
    """

    RAS = "RAS"
    LPS = "LPS"
    RAS_PLUS = "RAS+"
    LPS_PLUS = "LPS+"
    unknown = "unknown"
    other = "other"


CoordSystem = CoordSystemEnum


def is_spatial_label(label: str) -> bool:
    """Return True for the labels that mark a spatial axis."""
    return label in SPATIAL_LABELS


@dataclass(eq=True)
class MetaSpatial(BaseMeta):
    """Spatial metadata describing geometry and layout.

    Geometry is given either as ``spacing``/``origin``/``direction`` or as one
    homogeneous ``affine``, never both. Vectors have one value per spatial axis,
    in array axis order; which axes are spatial comes from ``axis_labels`` (all
    axes when there are no labels).

    Attributes:
        spacing: Per-axis spacing values (> 0), one per spatial axis.
        origin: World position of the first voxel, one value per spatial axis.
        direction: Direction cosine matrix of shape [n, n] for n spatial axes.
        affine: Homogeneous affine matrix of shape [n + 1, n + 1].
        shape: Array shape (all axes); a read-only view of the array's facts.
        axis_labels: Per-axis labels or roles, one per array axis.
        coord_system: World coordinate system name (see :class:`CoordSystem`).
        axis_units: Per-axis units, one per array axis.
        _num_spatial_axes: Count of spatial axes derived from axis_labels.
        _num_non_spatial_axes: Count of non-spatial axes derived from axis_labels.
    """

    AxisLabel: ClassVar[type[AxisLabelEnum]] = AxisLabelEnum
    CoordSystem: ClassVar[type[CoordSystemEnum]] = CoordSystemEnum
    _section: ClassVar[str] = "meta.spatial"
    _read_only: ClassVar[frozenset[str]] = frozenset({"shape"})
    _derived: ClassVar[frozenset[str]] = frozenset({"_num_spatial_axes", "_num_non_spatial_axes"})

    spacing: list[int | float] | None = None
    origin: list[int | float] | None = None
    direction: list[list[int | float]] | None = None
    affine: list[list[int | float]] | None = None
    shape: list[int] | None = None
    axis_labels: list[str | AxisLabelEnum] | None = None
    coord_system: str | CoordSystemEnum | None = None
    axis_units: list[str] | None = None
    _num_spatial_axes: int | None = None
    _num_non_spatial_axes: int | None = None

    @property
    def ndim(self) -> int | None:
        """Number of array axes (None if unknown).

        Taken from ``shape``, else from ``axis_labels``, else from the geometry
        (without labels every axis is spatial): the length of spacing, origin or
        direction, or the affine's size minus one. So is ``MLArray.ndim`` of a
        metadata-only file, as in ``mlarray`` 0.0.54.
        """
        if self.shape is not None:
            return len(self.shape)
        if self.axis_labels is not None:
            return len(self.axis_labels)
        for name in VECTOR_GEOMETRY:
            value = getattr(self, name)
            if value is not None:
                return len(value)
        return None if self.affine is None else len(self.affine) - 1

    @property
    def spatial_axis_mask(self) -> list[bool] | None:
        """For every array axis, whether it is spatial (None if the axes are unknown)."""
        if self.axis_labels is not None:
            return [is_spatial_label(str(label)) for label in self.axis_labels]
        return None if self.shape is None else [True] * len(self.shape)

    def copy_from(self, other: MetaSpatial, *, overwrite: bool = False) -> None:
        """Copy fields from another instance of the same class.

        As :meth:`BaseMeta.copy_from`, except that geometry is taken as a whole
        when not overwriting: if this section already holds geometry in one form
        (an ``affine``, or ``spacing``/``origin``/``direction``), the other form
        is not filled in from ``other``, because the two forms are exclusive.

        Args:
            other: Source instance.
            overwrite: When True, overwrite all fields. When False, only fill
                fields that are unset here.

        Raises:
            TypeError: If ``other`` is not a MetaSpatial.
        """
        if not overwrite and type(other) is type(self):
            if self.affine is not None:
                drop: tuple[str, ...] = VECTOR_GEOMETRY
            elif any(self._raw(name) is not None for name in VECTOR_GEOMETRY):
                drop = ("affine",)
            else:
                drop = ()
            if any(other._raw(name) is not None for name in drop):
                values = other.to_mapping()
                values.update(dict.fromkeys(drop))
                other = type(self).from_mapping(values)
        super().copy_from(other, overwrite=overwrite)

    def _validate_and_cast(self) -> None:
        path = self._path
        shape = as_int_list(self._raw("shape"), path("shape"), minimum=0, frozen=True)
        labels = as_str_list(self._raw("axis_labels"), path("axis_labels"))
        units = as_unit_list(self._raw("axis_units"), path("axis_units"))
        if labels is not None and shape is not None and len(labels) != len(shape):
            raise MetaValidationError(
                f"{path('axis_labels')}: expected {len(shape)} entries (one per array axis, "
                f"shape {list(shape)}), got {len(labels)}",
                path=path("axis_labels"),
            )
        self._check_unit_count(units, len(shape) if shape is not None else None, labels)
        num_spatial = None if labels is None else sum(map(is_spatial_label, labels))
        if num_spatial is not None:
            known = (num_spatial, "spatial axes in axis_labels")
        elif shape is not None:
            known = (len(shape), "array axes in shape")
        else:
            known = None
        vectors = self._validate_geometry(known)
        for name, value in vectors.items():
            self._store(name, value)
        self._store("shape", shape)
        self._store("axis_labels", labels)
        self._store("axis_units", units)
        self._store(
            "coord_system", as_optional_str(self._raw("coord_system"), path("coord_system"))
        )
        self._store("_num_spatial_axes", num_spatial)
        self._store(
            "_num_non_spatial_axes", None if labels is None else len(labels) - (num_spatial or 0)
        )

    def _check_unit_count(self, units: Any, ndim: int | None, labels: list[str] | None) -> None:
        """One unit per array axis (0.0.54 does not check: tolerated when reading)."""
        if not isinstance(units, list):
            return
        label_count = None if labels is None else len(labels)
        for expected, per in ((ndim, "array axis"), (label_count, "label")):
            if expected is not None and len(units) != expected:
                tolerated(
                    self._path("axis_units"),
                    f"{self._path('axis_units')}: expected {expected} entries (one per {per}), "
                    f"got {len(units)}",
                )
                return

    def _validate_geometry(self, known: tuple[int, str] | None) -> dict[str, Any]:
        """Check spacing/origin/direction/affine against each other and the axis count."""
        path = self._path
        values: dict[str, Any] = {
            "spacing": as_number_list(
                self._raw("spacing"), path("spacing"), positive=True, tolerant=True
            ),
            "origin": as_number_list(self._raw("origin"), path("origin"), tolerant=True),
            "direction": as_matrix(self._raw("direction"), path("direction"), tolerant=True),
            "affine": as_matrix(self._raw("affine"), path("affine"), tolerant=True),
        }
        if values["affine"] is not None:
            given = [
                name for name in ("spacing", "origin", "direction") if values[name] is not None
            ]
            if given:
                raise MetaValidationError(
                    f"{path('affine')}: give either an affine or spacing/origin/direction, "
                    f"not both (also set: {', '.join(given)})",
                    path=path("affine"),
                )
            affine = values["affine"]
            bottom = [0] * (len(affine) - 1) + [1]
            if len(affine) < 2 or affine[-1] != bottom:
                tolerated(
                    path("affine"),
                    f"{path('affine')}: expected a homogeneous matrix whose last row is "
                    f"{bottom}, got last row {affine[-1] if affine else []}",
                )
        for name, value in values.items():
            if value is None:
                continue
            axes = len(value) - 1 if name == "affine" else len(value)
            if known is None:
                known = (axes, f"spatial axes in {name}")
            elif axes != known[0]:
                unit = "rows" if name in ("direction", "affine") else "values"
                expected = known[0] + 1 if name == "affine" else known[0]
                raise MetaValidationError(
                    f"{path(name)}: expected {expected} {unit} (for {known[0]} {known[1]}), "
                    f"got {len(value)}",
                    path=path(name),
                )
        return values
