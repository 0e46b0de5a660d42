"""MetaSpatial: geometry, axis labels, coordinate systems and the managed shape."""

from __future__ import annotations

import pytest

from mlarray_meta import (
    AxisLabel,
    AxisLabelEnum,
    CoordSystem,
    CoordSystemEnum,
    Meta,
    MetaSpatial,
)
from mlarray_meta._facts import ArrayFacts
from mlarray_meta.errors import MetaTypeError, MetaValidationError, ReadOnlyFieldError
from tests.meta._samples import FakeNumpy

IDENTITY_3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
AFFINE_3D = [[2, 0, 0, 10], [0, 3, 0, 20], [0, 0, 4, 30], [0, 0, 0, 1]]
LABELS_CZYX = ["channel", "spatial_z", "spatial_y", "spatial_x"]


# --- AxisLabelEnum ---------------------------------------------------------------------


def test_axis_label_enum_members() -> None:
    assert [member.value for member in AxisLabelEnum] == [
        "spatial",
        "spatial_x",
        "spatial_y",
        "spatial_z",
        "non_spatial",
        "channel",
        "temporal",
        "continuous",
        "components",
    ]
    assert all(member.name == member.value for member in AxisLabelEnum)


def test_axis_label_enum_is_reachable_under_three_names() -> None:
    assert AxisLabel is AxisLabelEnum
    assert MetaSpatial.AxisLabel is AxisLabelEnum
    assert MetaSpatial().AxisLabel.channel is AxisLabelEnum.channel


def test_axis_labels_are_strings() -> None:
    assert isinstance(AxisLabel.spatial_x, str)
    assert AxisLabel.channel == "channel"
    assert str(AxisLabel.temporal) == "temporal"
    assert f"{AxisLabel.spatial_z}" == "spatial_z"
    assert AxisLabel("components") is AxisLabel.components


def test_enum_labels_are_stored_as_plain_strings() -> None:
    spatial = MetaSpatial(axis_labels=[AxisLabel.channel, AxisLabel.spatial_y, "spatial_x"])
    assert spatial.axis_labels == ["channel", "spatial_y", "spatial_x"]
    assert all(type(label) is str for label in spatial.axis_labels)
    assert spatial.axis_labels[0] == AxisLabel.channel
    assert spatial.to_mapping()["axis_labels"] == ["channel", "spatial_y", "spatial_x"]


@pytest.mark.parametrize(
    ("labels", "spatial", "non_spatial"),
    [
        (["spatial_z", "spatial_y", "spatial_x"], 3, 0),
        (["spatial", "spatial"], 2, 0),
        (LABELS_CZYX, 3, 1),
        (["temporal", "spatial_x", "spatial_y", "components"], 2, 2),
        (["non_spatial", "continuous"], 0, 2),
        (["rgb", "spatial_y", "spatial_x"], 2, 1),
        (["echo", "b-value", "spatial"], 1, 2),
    ],
)
def test_axis_counts_are_derived_from_labels(
    labels: list[str], spatial: int, non_spatial: int
) -> None:
    meta = MetaSpatial(axis_labels=labels)
    assert meta._num_spatial_axes == spatial
    assert meta._num_non_spatial_axes == non_spatial
    assert meta.spatial_axis_mask == [label.startswith("spatial") for label in labels]


def test_custom_labels_are_kept_verbatim() -> None:
    assert MetaSpatial(axis_labels=["rgb", "spatial"]).axis_labels == ["rgb", "spatial"]


def test_axis_counts_are_none_without_labels() -> None:
    spatial = MetaSpatial(spacing=[1, 2, 3])
    assert spatial._num_spatial_axes is None
    assert spatial._num_non_spatial_axes is None
    assert spatial.spatial_axis_mask is None


def test_given_axis_counts_are_recomputed_from_labels() -> None:
    spatial = MetaSpatial(
        axis_labels=["channel", "spatial"], _num_spatial_axes=5, _num_non_spatial_axes=7
    )
    assert (spatial._num_spatial_axes, spatial._num_non_spatial_axes) == (1, 1)


def test_axis_counts_follow_label_changes() -> None:
    spatial = MetaSpatial(axis_labels=["spatial", "spatial"])
    spatial.axis_labels = ["channel", "spatial", "spatial", "spatial"]
    assert (spatial._num_spatial_axes, spatial._num_non_spatial_axes) == (3, 1)
    spatial.axis_labels = None
    assert spatial._num_spatial_axes is None


@pytest.mark.parametrize("name", ["_num_spatial_axes", "_num_non_spatial_axes"])
def test_axis_counts_are_read_only(name: str) -> None:
    spatial = MetaSpatial(axis_labels=["spatial"])
    with pytest.raises(ReadOnlyFieldError, match=name):
        setattr(spatial, name, 3)
    assert getattr(spatial, name) in (0, 1)


@pytest.mark.parametrize("bad", [["spatial", 3], ["spatial", None], "spatial"])
def test_invalid_axis_labels_are_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match=r"meta\.spatial\.axis_labels"):
        MetaSpatial(axis_labels=bad)


# --- CoordSystem -----------------------------------------------------------------------


def test_coord_system_members_and_values() -> None:
    assert CoordSystem is CoordSystemEnum
    assert MetaSpatial.CoordSystem is CoordSystemEnum
    assert {member.name: member.value for member in CoordSystem} == {
        "RAS": "RAS",
        "LPS": "LPS",
        "RAS_PLUS": "RAS+",
        "LPS_PLUS": "LPS+",
        "unknown": "unknown",
        "other": "other",
    }
    assert CoordSystem("RAS+") is CoordSystem.RAS_PLUS
    assert str(CoordSystem.LPS_PLUS) == "LPS+"
    assert CoordSystem.LPS == "LPS"


@pytest.mark.parametrize("member", list(CoordSystemEnum))
def test_coord_system_members_are_stored_as_their_values(member: CoordSystemEnum) -> None:
    spatial = MetaSpatial(coord_system=member)
    assert spatial.coord_system == member.value
    assert type(spatial.coord_system) is str
    assert spatial.to_mapping()["coord_system"] == member.value


@pytest.mark.parametrize("name", ["RAS", "LPS+", "scanner", "MNI152NLin2009cAsym", "ras"])
def test_coord_system_strings_are_kept_verbatim(name: str) -> None:
    spatial = MetaSpatial()
    spatial.coord_system = name
    assert spatial.coord_system == name


@pytest.mark.parametrize("bad", [5, 1.0, True, ["RAS"], {"name": "RAS"}, b"RAS"])
def test_coord_system_rejects_non_strings(bad: object) -> None:
    spatial = MetaSpatial(coord_system="LPS")
    with pytest.raises(TypeError, match=r"meta\.spatial\.coord_system: expected a string") as info:
        spatial.coord_system = bad
    assert isinstance(info.value, MetaTypeError)
    assert spatial.coord_system == "LPS"


# --- spacing / origin / direction ------------------------------------------------------


def test_vectors_match_the_spatial_axes_of_the_labels() -> None:
    spatial = MetaSpatial(
        axis_labels=LABELS_CZYX, spacing=[1, 2, 3], origin=[4, 5, 6], direction=IDENTITY_3
    )
    assert spatial.spacing == [1, 2, 3]
    assert spatial.direction == IDENTITY_3


@pytest.mark.parametrize(
    ("field", "value", "expected", "got"),
    [
        ("spacing", [1, 2, 3, 4], "3 values", "got 4"),
        ("origin", [0, 0], "3 values", "got 2"),
        ("direction", [[1, 0], [0, 1]], "3 rows", "got 2"),
    ],
)
def test_vector_lengths_are_checked_against_axis_labels(
    field: str, value: list, expected: str, got: str
) -> None:
    with pytest.raises(ValueError, match=rf"meta\.spatial\.{field}: expected {expected}") as info:
        MetaSpatial(axis_labels=LABELS_CZYX, **{field: value})
    assert isinstance(info.value, MetaValidationError)
    assert "axis_labels" in str(info.value)
    assert got in str(info.value)


def test_vector_lengths_are_checked_against_the_shape_without_labels() -> None:
    with pytest.raises(ValueError, match=r"spacing: expected 3 values .*shape.*got 2"):
        MetaSpatial(shape=[4, 5, 6], spacing=[1, 1])
    assert MetaSpatial(shape=[4, 5, 6], spacing=[1, 1, 1]).spacing == [1, 1, 1]


def test_vector_lengths_are_checked_against_each_other() -> None:
    with pytest.raises(ValueError, match=r"origin: expected 2 values .*spacing.*got 3"):
        MetaSpatial(spacing=[1, 1], origin=[0, 0, 0])
    with pytest.raises(ValueError, match=r"direction: expected 2 rows"):
        MetaSpatial(spacing=[1, 1], direction=IDENTITY_3)


def test_labels_and_shape_together() -> None:
    spatial = MetaSpatial(shape=[2, 30, 40, 50], axis_labels=LABELS_CZYX, spacing=[1, 1, 1])
    assert spatial.spacing == [1, 1, 1]
    with pytest.raises(ValueError, match=r"axis_labels: expected 4 entries .*got 3"):
        MetaSpatial(shape=[2, 30, 40, 50], axis_labels=LABELS_CZYX[1:])


def test_axis_units_match_labels_and_shape() -> None:
    assert MetaSpatial(axis_labels=["spatial"] * 2, axis_units=["mm", "mm"]).axis_units == [
        "mm",
        "mm",
    ]
    with pytest.raises(ValueError, match=r"axis_units: expected 2 entries .*got 1"):
        MetaSpatial(axis_labels=["spatial"] * 2, axis_units=["mm"])
    with pytest.raises(ValueError, match=r"axis_units: expected 3 entries .*got 2"):
        MetaSpatial(shape=[1, 2, 3], axis_units=["mm", "s"])


@pytest.mark.parametrize("spacing", [[0, 1], [-1, 1], [1, -0.5]])
def test_spacing_must_be_positive(spacing: list) -> None:
    with pytest.raises(ValueError, match=r"meta\.spatial\.spacing\[\d\]: expected a value > 0"):
        MetaSpatial(spacing=spacing)


@pytest.mark.parametrize("field", ["spacing", "origin"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_vectors_must_be_finite(field: str, bad: float) -> None:
    with pytest.raises(ValueError, match=rf"meta\.spatial\.{field}\[1\]: expected a finite number"):
        MetaSpatial(**{field: [1, bad]})


def test_direction_and_affine_must_be_finite() -> None:
    with pytest.raises(ValueError, match=r"direction\[0\]\[1\]: expected a finite number"):
        MetaSpatial(direction=[[1, float("nan")], [0, 1]])
    bad = [row[:] for row in AFFINE_3D]
    bad[0][3] = float("inf")
    with pytest.raises(ValueError, match=r"affine\[0\]\[3\]: expected a finite number"):
        MetaSpatial(affine=bad)


@pytest.mark.parametrize(
    ("field", "bad", "where"),
    [
        ("spacing", "1,2", "spacing: expected a list, got str"),
        ("spacing", 1.0, "spacing: expected a list, got float"),
        ("origin", [0, "1"], r"origin\[1\]: expected a number, got str"),
        ("origin", [0, True], r"origin\[1\]: expected a number, got bool"),
        ("origin", [0, None], r"origin\[1\]: expected a number, got NoneType"),
        ("direction", [1, 0], r"direction\[0\]: expected a list, got int"),
    ],
)
def test_vector_types_are_checked(field: str, bad: object, where: str) -> None:
    with pytest.raises(TypeError, match=rf"meta\.spatial\.{where}") as info:
        MetaSpatial(**{field: bad})
    assert isinstance(info.value, MetaTypeError)


def test_tuples_become_lists() -> None:
    spatial = MetaSpatial(spacing=(1, 2), origin=(0.5, 0), direction=((1, 0), (0, 1)))
    assert spatial.spacing == [1, 2]
    assert type(spatial.spacing) is list
    assert spatial.direction == [[1, 0], [0, 1]]
    assert all(type(row) is list for row in spatial.direction)


def test_direction_must_be_square() -> None:
    with pytest.raises(ValueError, match=r"direction: expected a square matrix, got 2 rows"):
        MetaSpatial(direction=[[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="square"):
        MetaSpatial(direction=[[1, 0], [0, 1, 0]])


def test_numpy_like_values_are_accepted_by_duck_typing() -> None:
    spatial = MetaSpatial(
        spacing=FakeNumpy([0.5, 0.75, 1.0]),
        origin=[FakeNumpy(1.5), FakeNumpy(-2, "int64"), 0],
        direction=FakeNumpy(IDENTITY_3),
        axis_labels=FakeNumpy(["spatial_z", "spatial_y", "spatial_x"], "<U9"),
        coord_system=FakeNumpy("RAS", "<U3"),
    )
    assert spatial.spacing == [0.5, 0.75, 1.0]
    assert spatial.origin == [1.5, -2, 0]
    assert spatial.direction == IDENTITY_3
    assert spatial.coord_system == "RAS"
    assert all(type(value) in (int, float) for value in spatial.origin)
    assert spatial.to_mapping()["spacing"] == [0.5, 0.75, 1.0]


def test_numpy_like_nan_is_still_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        MetaSpatial(origin=FakeNumpy([0.0, float("nan")]))


# --- affine ----------------------------------------------------------------------------


def test_affine_is_accepted_for_n_plus_one_square_matrices() -> None:
    spatial = MetaSpatial(affine=AFFINE_3D, axis_labels=LABELS_CZYX)
    assert spatial.affine == AFFINE_3D
    assert MetaSpatial(affine=[[2.0, 0.5], [0.0, 1.0]]).affine == [[2.0, 0.5], [0.0, 1.0]]


def test_affine_size_matches_the_spatial_axes() -> None:
    with pytest.raises(ValueError, match=r"affine: expected 4 rows .*got 3"):
        MetaSpatial(affine=IDENTITY_3, axis_labels=LABELS_CZYX)
    with pytest.raises(ValueError, match=r"affine: expected 3 rows .*shape.*got 4"):
        MetaSpatial(affine=AFFINE_3D, shape=[5, 6])


def test_affine_must_be_square() -> None:
    with pytest.raises(ValueError, match=r"affine: expected a square matrix"):
        MetaSpatial(affine=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize(
    "last_row", [[0, 0, 0, 2], [0, 0, 1, 1], [1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0.5]]
)
def test_affine_last_row_must_be_homogeneous(last_row: list) -> None:
    affine = [*AFFINE_3D[:3], last_row]
    with pytest.raises(ValueError, match=r"affine: .*last row is \[0, 0, 0, 1\]"):
        MetaSpatial(affine=affine)


def test_affine_float_last_row_is_fine() -> None:
    affine = [*AFFINE_3D[:3], [0.0, 0.0, 0.0, 1.0]]
    assert MetaSpatial(affine=affine).affine[-1] == [0, 0, 0, 1]


@pytest.mark.parametrize("bad", [[[1]], []])
def test_affine_needs_at_least_one_spatial_axis(bad: list) -> None:
    with pytest.raises(ValueError, match="affine"):
        MetaSpatial(affine=bad)


@pytest.mark.parametrize(
    "other",
    [{"spacing": [1, 1, 1]}, {"origin": [0, 0, 0]}, {"direction": IDENTITY_3}],
)
def test_affine_is_never_combined_with_spacing_origin_or_direction(other: dict) -> None:
    (name,) = other
    with pytest.raises(ValueError, match=rf"affine: give either .*also set: {name}"):
        MetaSpatial(affine=AFFINE_3D, **other)


def test_adding_spacing_to_an_affine_fails_and_keeps_the_old_state() -> None:
    spatial = MetaSpatial(affine=AFFINE_3D)
    with pytest.raises(ValueError, match="not both"):
        spatial.spacing = [1, 1, 1]
    assert spatial.spacing is None
    assert spatial.affine == AFFINE_3D


# --- shape: managed by the container ---------------------------------------------------


def test_shape_is_cast_to_non_negative_ints() -> None:
    assert MetaSpatial(shape=(0, 3.0, FakeNumpy(4, "int64"))).shape == [0, 3, 4]
    with pytest.raises(ValueError, match=r"shape\[0\]: expected an integer >= 0, got -1"):
        MetaSpatial(shape=[-1, 3])
    with pytest.raises(TypeError, match=r"shape\[1\]: expected an integer, got 2.5"):
        MetaSpatial(shape=[1, 2.5])


def test_shape_assignment_is_refused() -> None:
    spatial = MetaSpatial(shape=[4, 5])
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.spatial\.shape .*read-only"):
        spatial.shape = [1, 2]
    with pytest.raises(AttributeError):
        spatial.shape = None
    assert spatial.shape == [4, 5]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda shape: shape.append(3),
        lambda shape: shape.__setitem__(0, 9),
        lambda shape: shape.pop(),
        lambda shape: shape.extend([1]),
        lambda shape: shape.clear(),
    ],
)
def test_shape_in_place_mutation_is_refused(mutate: object) -> None:
    meta = Meta(spatial={"shape": [4, 5]})
    with pytest.raises(ReadOnlyFieldError, match=r"meta\.spatial\.shape"):
        mutate(meta.spatial.shape)  # type: ignore[operator]
    assert meta.spatial.shape == [4, 5]


def test_shape_augmented_assignment_is_refused() -> None:
    spatial = MetaSpatial(shape=[4, 5])
    with pytest.raises(ReadOnlyFieldError):
        spatial.shape += [1]
    assert spatial.shape == [4, 5]


def test_shape_is_written_by_setting_the_facts() -> None:
    meta = Meta(spatial=MetaSpatial(axis_labels=["channel", "spatial", "spatial"]))
    meta._set_facts(ArrayFacts(shape=(3, 64, 64)))
    assert meta.spatial.shape == [3, 64, 64]
    with pytest.raises(ValueError, match="axis_labels"):
        meta._set_facts(ArrayFacts(shape=(64, 64)))
    assert meta.spatial.shape == [3, 64, 64]


def test_ndim_comes_from_shape_or_labels_or_geometry() -> None:
    assert MetaSpatial().ndim is None
    assert MetaSpatial(axis_labels=LABELS_CZYX).ndim == 4
    assert MetaSpatial(axis_labels=LABELS_CZYX, spacing=[1, 1, 1]).ndim == 4
    assert MetaSpatial(shape=[2, 3]).ndim == 2
    assert MetaSpatial(shape=[2, 3]).spatial_axis_mask == [True, True]
    assert MetaSpatial(spacing=[1, 2]).ndim == 2
    assert MetaSpatial(origin=[1, 2, 3]).ndim == 3
    assert MetaSpatial(direction=[[1, 0], [0, 1]]).ndim == 2
    assert MetaSpatial(affine=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]).ndim == 3


# --- serialisation ---------------------------------------------------------------------


def test_round_trip_through_mapping() -> None:
    spatial = MetaSpatial(
        spacing=[0.5, 1, 1],
        origin=[-1, 2.5, 0],
        direction=IDENTITY_3,
        shape=[2, 30, 40, 50],
        axis_labels=LABELS_CZYX,
        coord_system=CoordSystem.LPS,
        axis_units=["a.u.", "mm", "mm", "mm"],
    )
    mapping = spatial.to_mapping()
    assert MetaSpatial.from_mapping(mapping) == spatial
    assert MetaSpatial.from_mapping(spatial.to_mapping(include_none=False)) == spatial
    assert mapping["_num_spatial_axes"] == 3
    assert mapping["_num_non_spatial_axes"] == 1
