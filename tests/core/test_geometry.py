"""Tests of mlarray.geometry: affine composition, decomposition and validation."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlarray.geometry import (
    as_affine,
    as_matrix,
    as_vector,
    compose_affine,
    decompose_affine,
    index_to_world,
    rotation,
    scale,
    shear,
    translation,
    world_to_index,
)
from mlarray_meta.errors import MetaTypeError, MetaValidationError

assert_close = functools.partial(np.testing.assert_allclose, rtol=1e-12, atol=1e-12)
dims = st.integers(min_value=1, max_value=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _orthonormal(rng: np.random.Generator, n: int, *, mirror: bool) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    q = q * np.sign(np.diag(r))
    if (np.linalg.det(q) < 0) != mirror:
        q[:, 0] = -q[:, 0]
    return q


def _geometry(seed: int, n: int, mirror: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spacing = rng.uniform(0.05, 10.0, size=n)
    origin = rng.uniform(-500.0, 500.0, size=n)
    return spacing, origin, _orthonormal(rng, n, mirror=mirror)


def _signed_permutations(n: int) -> list[np.ndarray]:
    out = []
    for perm in itertools.permutations(range(n)):
        for signs in itertools.product((-1.0, 1.0), repeat=n):
            out.append(np.eye(n)[:, list(perm)] * np.array(signs))
    return out


# compose / decompose ----------------------------------------------------------------------


def test_compose_known_values() -> None:
    affine = compose_affine([0.5, 0.7, 2.0], [10, 20, 30], np.diag([-1, -1, 1]))
    expected = np.array(
        [[-0.5, 0, 0, 10], [0, -0.7, 0, 20], [0, 0, 2.0, 30], [0, 0, 0, 1]], dtype=float
    )
    np.testing.assert_array_equal(affine, expected)
    assert affine.dtype == np.float64


def test_compose_defaults() -> None:
    np.testing.assert_array_equal(compose_affine(ndim=3), np.eye(4))
    np.testing.assert_array_equal(compose_affine(spacing=[2, 3]), np.diag([2.0, 3.0, 1.0]))
    np.testing.assert_array_equal(compose_affine(origin=(1, 2))[:2, 2], [1.0, 2.0])
    np.testing.assert_array_equal(
        compose_affine(direction=[[0, 1], [1, 0]])[:2, :2], [[0, 1], [1, 0]]
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, MetaValidationError, "give spacing, origin, direction or ndim"),
        (
            {"spacing": [1, 1, 1], "origin": [0, 0]},
            MetaValidationError,
            r"origin: expected 3 values \(one per spatial axis\), got 2",
        ),
        (
            {"spacing": [1, 1, 1], "direction": np.eye(2)},
            MetaValidationError,
            r"direction: expected a 3x3 matrix, got shape \(2, 2\)",
        ),
        ({"spacing": [1, 2], "ndim": 3}, MetaValidationError, "spacing: expected 3 values"),
        ({"spacing": [1, -2]}, MetaValidationError, "spacing: expected positive values"),
        ({"spacing": [1, 0]}, MetaValidationError, "spacing: expected positive values"),
        ({"origin": [0, float("nan")]}, MetaValidationError, "origin: expected finite values"),
        ({"spacing": "1,1"}, MetaTypeError, "spacing: expected a list, tuple or ndarray"),
    ],
)
def test_compose_errors(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        compose_affine(**kwargs)  # type: ignore[arg-type]


@given(seeds, dims, st.booleans())
def test_compose_decompose_round_trip(seed: int, n: int, mirror: bool) -> None:
    spacing, origin, direction = _geometry(seed, n, mirror)
    got_spacing, got_origin, got_direction = decompose_affine(
        compose_affine(spacing, origin, direction)
    )
    assert_close(got_spacing, spacing)
    np.testing.assert_array_equal(got_origin, origin)
    assert_close(got_direction, direction)
    assert np.sign(np.linalg.det(got_direction)) == (-1 if mirror else 1)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_axis_aligned_round_trip_is_exact(n: int) -> None:
    spacing = np.array([0.7, 1.3, 2.5][:n])
    origin = np.array([-90.0, 126.0, -72.0][:n])
    for direction in _signed_permutations(n):
        affine = compose_affine(spacing, origin, direction)
        got_spacing, got_origin, got_direction = decompose_affine(affine)
        np.testing.assert_array_equal(got_spacing, spacing)
        np.testing.assert_array_equal(got_origin, origin)
        np.testing.assert_array_equal(got_direction, direction)
        np.testing.assert_array_equal(rotation(affine), direction)
        np.testing.assert_array_equal(scale(affine), spacing)
        np.testing.assert_array_equal(shear(affine), np.eye(n))


@given(seeds, dims)
def test_decompose_compose_round_trip_with_shear(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    affine = np.eye(n + 1)
    affine[:n, :n] = rng.normal(size=(n, n)) + 3 * np.eye(n)
    affine[:n, n] = rng.normal(size=n)
    assert_close(compose_affine(*decompose_affine(affine)), affine)


# rotation / scale / shear / translation ---------------------------------------------------


@given(seeds, dims, st.booleans())
def test_factorization(seed: int, n: int, mirror: bool) -> None:
    rng = np.random.default_rng(seed)
    spacing, origin, direction = _geometry(seed, n, mirror)
    skew = np.eye(n) + np.triu(rng.uniform(-0.5, 0.5, size=(n, n)), k=1)
    affine = np.eye(n + 1)
    affine[:n, :n] = direction @ np.diag(spacing) @ skew
    affine[:n, n] = origin
    rot, sc, sh = rotation(affine), scale(affine), shear(affine)
    assert_close(rot.T @ rot, np.eye(n))
    assert np.sign(np.linalg.det(rot)) == (-1 if mirror else 1)
    assert np.all(sc > 0)
    np.testing.assert_array_equal(np.diag(sh), np.ones(n))
    np.testing.assert_array_equal(np.tril(sh, k=-1), np.zeros((n, n)))
    np.testing.assert_allclose(rot @ np.diag(sc) @ sh, affine[:n, :n], rtol=1e-10, atol=1e-10)
    # The factorization is unique, so it recovers the factors the affine was built from.
    np.testing.assert_allclose(rot, direction, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sc, spacing, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sh, skew, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(translation(affine), origin)


@given(seeds, dims, st.booleans())
def test_shear_free_factors_match_decomposition(seed: int, n: int, mirror: bool) -> None:
    affine = compose_affine(*_geometry(seed, n, mirror))
    spacing, _, direction = decompose_affine(affine)
    assert_close(rotation(affine), direction)
    assert_close(scale(affine), spacing)
    assert_close(shear(affine), np.eye(n))
    np.testing.assert_array_equal(rotation(affine)[:, 0], direction[:, 0])


def test_lps_ras_mirror_lives_in_rotation() -> None:
    affine = compose_affine([1.0, 1.0, 3.0], [0, 0, 0], np.diag([1.0, 1.0, -1.0]))
    assert np.linalg.det(rotation(affine)) == -1.0
    np.testing.assert_array_equal(scale(affine), [1.0, 1.0, 3.0])


def test_extractors_accept_lists() -> None:
    affine = [[2, 0, 5], [0, 3, 6], [0, 0, 1]]
    np.testing.assert_array_equal(translation(affine), [5.0, 6.0])
    np.testing.assert_array_equal(scale(affine), [2.0, 3.0])


# index <-> world --------------------------------------------------------------------------


def test_index_to_world_manual() -> None:
    affine = np.array([[0, 0, -2.0, 100.0], [0.5, 0, 0, -20.0], [0, 1.5, 0, 7.0], [0, 0, 0, 1]])
    i, j, k = 3.0, 4.0, 5.0
    expected = [-2.0 * k + 100.0, 0.5 * i - 20.0, 1.5 * j + 7.0]
    np.testing.assert_array_equal(index_to_world(affine, [i, j, k]), expected)
    np.testing.assert_array_equal(world_to_index(affine, expected), [i, j, k])


@given(seeds, dims, st.booleans())
def test_index_world_round_trip_batches(seed: int, n: int, mirror: bool) -> None:
    affine = compose_affine(*_geometry(seed, n, mirror))
    rng = np.random.default_rng(seed)
    index = rng.uniform(0, 512, size=(4, 5, n))
    world = index_to_world(affine, index)
    assert world.shape == index.shape
    np.testing.assert_allclose(world[1, 2], affine[:n, :n] @ index[1, 2] + affine[:n, n])
    np.testing.assert_allclose(world_to_index(affine, world), index, rtol=1e-9, atol=1e-9)


def test_points_shape_errors() -> None:
    with pytest.raises(MetaValidationError, match=r"index: expected 3 coordinates .* \(2,\)"):
        index_to_world(np.eye(4), [1, 2])
    with pytest.raises(MetaValidationError, match="world: expected 2 coordinates"):
        world_to_index(np.eye(3), 1.0 * np.ones((4, 3)))
    with pytest.raises(MetaTypeError, match="index"):
        index_to_world(np.eye(3), 5)


# validation helpers -----------------------------------------------------------------------


def test_as_vector_returns_float_copy() -> None:
    source = np.array([1, 2, 3])
    vector = as_vector(source, 3, field="spacing")
    assert vector.dtype == np.float64
    vector[0] = 9
    assert source[0] == 1
    np.testing.assert_array_equal(as_vector((1.5, 2), None, field="origin"), [1.5, 2.0])


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (
            [1.0, 2.0],
            MetaValidationError,
            r"spacing: expected 3 values \(one per spatial axis\), got 2",
        ),
        ([[1, 2, 3]], MetaValidationError, r"got an array of shape \(1, 3\)"),
        ([1, 2, float("inf")], MetaValidationError, "spacing: expected finite values"),
        ([1, 2, -3], MetaValidationError, "spacing: expected positive values"),
        ([[1, 2], [3]], MetaValidationError, "unequal length"),
        ("123", MetaTypeError, "spacing: expected a list, tuple or ndarray of numbers, got str"),
        (3.0, MetaTypeError, "got float"),
        ({"x": 1}, MetaTypeError, "got dict"),
        (None, MetaTypeError, "got NoneType"),
        ([True, False, True], MetaTypeError, "spacing: expected real numbers"),
        (["1", "2", "3"], MetaTypeError, "expected real numbers"),
        ([1j, 1, 1], MetaTypeError, "expected real numbers"),
    ],
)
def test_as_vector_errors(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        as_vector(value, 3, field="spacing", positive=True)


def test_as_vector_any_length_rejects_empty() -> None:
    with pytest.raises(MetaValidationError, match="expected one or more values"):
        as_vector([], None, field="origin")


@pytest.mark.parametrize(
    ("value", "n", "error", "match"),
    [
        (
            np.eye(2),
            3,
            MetaValidationError,
            r"direction: expected a 3x3 matrix, got shape \(2, 2\)",
        ),
        (np.ones((2, 3)), None, MetaValidationError, "expected a square matrix"),
        ([1, 0, 0], 3, MetaValidationError, r"got shape \(3,\)"),
        ([[1, 0], [0]], 2, MetaValidationError, "unequal length"),
        ([[1, 0], [0, np.nan]], 2, MetaValidationError, "direction: expected finite values"),
        ([["a", "b"], ["c", "d"]], 2, MetaTypeError, "direction: expected real numbers"),
        ("eye", 2, MetaTypeError, "direction"),
    ],
)
def test_as_matrix_errors(value: object, n: int | None, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        as_matrix(value, n, field="direction")


def test_as_matrix_accepts_nested_tuples() -> None:
    np.testing.assert_array_equal(as_matrix(((1, 0), (0, 1)), 2, field="direction"), np.eye(2))


@pytest.mark.parametrize(
    ("value", "n", "match"),
    [
        (np.eye(3), 3, r"affine: expected a 4x4 matrix, got shape \(3, 3\)"),
        ([[1.0]], None, "at least a 2x2 matrix"),
        ([[1, 0, 0], [0, 1, 0], [0, 1, 1]], 2, r"expected the last row \[0.0, 0.0, 1.0\]"),
        ([[1, 2, 0], [2, 4, 0], [0, 0, 1]], 2, r"spatial 2x2 part is singular \(rank 1\)"),
        ([[0, 0, 0], [0, 1, 0], [0, 0, 1]], 2, "singular"),
    ],
)
def test_as_affine_errors(value: object, n: int | None, match: str) -> None:
    with pytest.raises(MetaValidationError, match=match):
        as_affine(value, n)


def test_extractors_validate_affine() -> None:
    singular = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    for extract in (decompose_affine, rotation, scale, shear, translation):
        with pytest.raises(MetaValidationError, match="affine: the spatial 3x3 part is singular"):
            extract(singular)
