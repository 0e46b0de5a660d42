"""MLArray's geometry properties on top of ``meta.spatial`` and :mod:`mlarray.geometry`.

Geometry is stored either as spacing/origin/direction or as an affine, never
both. The properties read whichever is stored (``image.affine`` composes one from
spacing/origin/direction); assigning one form while the other is stored raises
``ValueError``, as in ``mlarray`` 0.0.54: set the other form to None first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mlarray import geometry
from mlarray.errors import MetaValidationError
from mlarray_meta.spatial import VECTOR_GEOMETRY

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from mlarray.meta import Meta, MetaSpatial

__all__ = [
    "SpatialProperties",
    "affine_of",
    "apply_explicit",
    "decomposed",
    "set_affine",
    "spatial_list_property",
]


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def apply_explicit(
    spatial: MetaSpatial,
    *,
    spacing: Any,
    origin: Any,
    direction: Any,
    affine: Any,
    axis_labels: Any,
) -> None:
    """Apply geometry arguments given explicitly to a constructor; they win.

    An explicit affine replaces stored spacing/origin/direction and explicit
    spacing/origin/direction replace a stored affine.

    Raises:
        MetaValidationError: If ``affine`` is given together with
            spacing/origin/direction.
    """
    separate = {"spacing": spacing, "origin": origin, "direction": direction}
    given = [name for name, value in separate.items() if value is not None]
    if affine is not None and given:
        raise MetaValidationError(
            f"affine: give either an affine or spacing/origin/direction, not both "
            f"(also given: {', '.join(given)})"
        )
    updates: dict[str, Any] = {name: _plain(separate[name]) for name in given}
    if affine is not None:
        updates.update({"affine": _plain(affine), "spacing": None, "origin": None})
        updates["direction"] = None
    elif given:
        updates["affine"] = None
    if axis_labels is not None:
        updates["axis_labels"] = list(axis_labels)
    if updates:
        spatial.assign(**updates)


def _refuse_mixed_forms(spatial: MetaSpatial, name: str, value: Any) -> None:
    """Refuse to set one geometry form while the other is stored (as 0.0.54 does).

    Raises:
        MetaValidationError: ``value`` is not None and the other form is set.
    """
    if value is None:
        return
    other = VECTOR_GEOMETRY if name == "affine" else ("affine",)
    stored = [field for field in other if getattr(spatial, field) is not None]
    if stored:
        clear = " and ".join(f"image.{field} = None" for field in stored)
        raise MetaValidationError(
            f"{name}: this image's geometry is stored as {', '.join(stored)}; an affine and "
            f"spacing/origin/direction are never mixed, so set {clear} first"
        )


def _set_separate(spatial: MetaSpatial, name: str, value: Any) -> None:
    """Set spacing, origin or direction (None clears it)."""
    _refuse_mixed_forms(spatial, name, value)
    spatial.assign(**{name: _plain(value)})


def spatial_list_property(name: str, doc: str) -> property:
    """A read/write property exposing ``meta.spatial.<name>`` (the live list)."""

    def getter(self: Any) -> Any:
        return getattr(self.meta.spatial, name)

    def setter(self: Any, value: Any) -> None:
        _set_separate(self.meta.spatial, name, value)

    return property(getter, setter, doc=doc)


def affine_of(spatial: MetaSpatial, spatial_ndim: int | None) -> np.ndarray[Any, Any] | None:
    """The stored affine, or one composed from spacing/origin/direction."""
    if spatial.affine is not None:
        return np.asarray(spatial.affine, dtype=np.float64)
    if spatial_ndim is None and all(getattr(spatial, name) is None for name in VECTOR_GEOMETRY):
        return None
    return geometry.compose_affine(
        spatial.spacing, spatial.origin, spatial.direction, ndim=spatial_ndim
    )


def set_affine(spatial: MetaSpatial, value: Any) -> None:
    """Store an affine (None clears it); spacing/origin/direction must be unset."""
    _refuse_mixed_forms(spatial, "affine", value)
    if value is not None:
        value = geometry.as_affine(value, None).tolist()
    spatial.assign(affine=value)


def decomposed(affine: np.ndarray[Any, Any] | None, part: str) -> Any:
    """One factor of ``affine`` as plain lists (None when there is no affine)."""
    if affine is None:
        return None
    extract = {
        "translation": geometry.translation,
        "scale": geometry.scale,
        "rotation": geometry.rotation,
        "shear": geometry.shear,
    }[part]
    return extract(affine).tolist()


class _Geometric(Protocol):
    """What the geometry properties need from the class they are mixed into."""

    meta: Meta

    @property
    def shape(self) -> tuple[int, ...] | None: ...

    @property
    def ndim(self) -> int | None: ...

    @property
    def spatial_ndim(self) -> int | None: ...

    @property
    def affine(self) -> np.ndarray[Any, Any] | None: ...


class SpatialProperties:
    """The geometry and dimension properties of :class:`~mlarray.MLArray` (public API only).

    They read ``meta`` and ``shape``, nothing private: the class holds no state.
    """

    @property
    def ndim(self: _Geometric) -> int | None:
        """Number of spatial and non-spatial dimensions, or None if not determinable.

        The array's when there is one; for metadata only, from the axis labels or
        the length of the geometry (see :attr:`MetaSpatial.ndim`); None once a
        file's array is closed, as in mlarray 0.0.54.
        """
        shape = self.shape
        if shape is not None:
            return len(shape)
        return None if self.meta._has_array.value else self.meta.spatial.ndim  # closed: None

    @property
    def spatial_ndim(self: _Geometric) -> int | None:
        """Number of spatial dimensions, or None if not determinable."""
        ndim = self.ndim
        mask = self.meta.spatial.spatial_axis_mask
        return ndim if ndim is None or mask is None else sum(mask)

    spacing = spatial_list_property("spacing", "Spacing per spatial axis (a live list).")
    origin = spatial_list_property("origin", "Origin per spatial axis (a live list).")
    direction = spatial_list_property(
        "direction", "Direction cosine matrix with shape (n, n) for n spatial axes."
    )

    @property
    def affine(self: _Geometric) -> np.ndarray[Any, Any] | None:
        """Homogeneous affine matrix (n + 1, n + 1) mapping voxel indices to world.

        Computed from spacing/origin/direction when no affine is stored; None if
        no array is loaded and no geometry is set.
        """
        return affine_of(self.meta.spatial, self.spatial_ndim)

    @affine.setter
    def affine(self: _Geometric, value: ArrayLike | None) -> None:
        set_affine(self.meta.spatial, value)

    @property
    def translation(self: _Geometric) -> Any:
        """Translation vector (one value per spatial axis) of the affine."""
        return decomposed(self.affine, "translation")

    @property
    def scale(self: _Geometric) -> Any:
        """Scaling factors (one value per spatial axis) of the affine."""
        return decomposed(self.affine, "scale")

    @property
    def rotation(self: _Geometric) -> Any:
        """Rotation matrix (n, n) of the affine."""
        return decomposed(self.affine, "rotation")

    @property
    def shear(self: _Geometric) -> Any:
        """Shear matrix (n, n) of the affine."""
        return decomposed(self.affine, "shear")
