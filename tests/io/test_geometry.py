"""RAS+/LPS+ conversion, geometry fields and the canonical orientation record."""

from __future__ import annotations

import numpy as np

from mlarray_io._orientation import (
    affine_from_lps,
    canonical_orientation,
    geometry_fields,
    lps_flip,
    lps_from_affine,
    restrict,
)
from tests.io._images import oblique_affine, sheared_affine


def test_lps_and_ras_differ_by_the_sign_of_x_and_y() -> None:
    np.testing.assert_array_equal(lps_flip(3), np.diag([-1.0, -1.0, 1.0]))
    np.testing.assert_array_equal(lps_flip(2), np.diag([-1.0, -1.0]))
    spacing, origin, direction = lps_from_affine(oblique_affine())
    np.testing.assert_allclose(affine_from_lps(spacing, origin, direction), oblique_affine())
    np.testing.assert_allclose(origin, [-31.25, 17.5, 42.125])


def test_geometry_fields_use_an_affine_only_for_shear() -> None:
    fields = geometry_fields(oblique_affine())
    assert sorted(fields) == ["direction", "origin", "spacing"]
    np.testing.assert_allclose(fields["spacing"], [0.7, 0.9, 2.5])
    assert sorted(geometry_fields(sheared_affine())) == ["affine"]


def test_restrict_keeps_the_plane_of_a_2d_image() -> None:
    np.testing.assert_array_equal(
        restrict(oblique_affine(), 2), oblique_affine()[np.ix_([0, 1, 3], [0, 1, 3])]
    )


def test_canonical_orientation_is_recorded() -> None:
    ornt, record = canonical_orientation(np.diag([-2.0, 2.0, 2.0, 1.0]))
    assert ornt.tolist() == [[0, -1], [1, 1], [2, 1]]
    assert record == {"from": "LAS", "to": "RAS", "ornt": [[0, -1], [1, 1], [2, 1]]}
