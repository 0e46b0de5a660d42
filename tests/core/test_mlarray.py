"""MLArray in memory: constructor arguments, metadata, geometry properties, NumPy interop."""

from __future__ import annotations

import math
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import AxisLabel, Meta, MLArray
from mlarray.errors import (
    MetaTypeError,
    MetaValidationError,
    MLArrayError,
    NoArrayError,
)

RNG = np.random.default_rng(20240611)
LABELS_3D = ["spatial_x", "spatial_y", "spatial_z"]


def _volume(shape: tuple[int, ...] = (10, 12, 14), dtype: str = "float32") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def _rotation_z(degrees: float) -> np.ndarray:
    angle = math.radians(degrees)
    return np.array(
        [
            [math.cos(angle), -math.sin(angle), 0.0],
            [math.sin(angle), math.cos(angle), 0.0],
            [0.0, 0.0, 1.0],
        ]
    )


def _held_uncompressed(image: MLArray) -> bool:
    """True when to_numpy() hands out the same buffer every time (a NumPy-backed array)."""
    return np.shares_memory(image.to_numpy(), image.to_numpy())


# --------------------------------------------------------------------- the array argument


def test_array_is_compressed_by_default() -> None:
    data = _volume()
    image = MLArray(data)
    assert not _held_uncompressed(image)
    np.testing.assert_array_equal(image.to_numpy(), data)
    assert image.shape == data.shape
    assert image.dtype == np.float32
    assert image.ndim == 3
    assert image.meta.blosc2.chunk_size is not None
    assert image.meta._has_array.value is True


def test_compressed_false_keeps_a_numpy_array_and_saves_a_blosc2_file(tmp_path: Path) -> None:
    data = _volume()
    image = MLArray(data, compressed=False)
    assert _held_uncompressed(image)
    np.testing.assert_array_equal(image.to_numpy(), data)
    path = tmp_path / "plain.mla"
    image.save(path)
    stored = blosc2.open(str(path), mode="r")
    assert isinstance(stored, blosc2.NDArray)
    assert list(stored.chunks) == image.meta.blosc2.chunk_size
    assert list(stored.blocks) == image.meta.blosc2.block_size
    np.testing.assert_array_equal(stored[...], data)
    assert _held_uncompressed(image), "saving does not change how the data is held"


def test_array_like_input_is_converted() -> None:
    image = MLArray([[1, 2, 3], [4, 5, 6]])
    assert image.shape == (2, 3)
    np.testing.assert_array_equal(image.to_numpy(), [[1, 2, 3], [4, 5, 6]])


def test_blosc2_ndarray_input_is_accepted() -> None:
    data = _volume((6, 7, 8))
    image = MLArray(blosc2.asarray(data))
    np.testing.assert_array_equal(image.to_numpy(), data)


@pytest.mark.parametrize("bad", [7, b"not-a-path-nor-array", {"a": 1}])
def test_array_of_wrong_type_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="array"):
        MLArray(bad)  # type: ignore[arg-type]


def test_object_arrays_are_refused() -> None:
    with pytest.raises(MetaTypeError, match="object"):
        MLArray(np.array([object(), object()]))


def test_no_array_gives_a_metadata_only_instance() -> None:
    image = MLArray()
    assert (image.shape, image.dtype, image.ndim, image.spatial_ndim) == (None, None, None, None)
    assert image.affine is None
    assert (image.translation, image.scale, image.rotation, image.shear) == (None,) * 4
    assert image.spacing is None
    assert image.origin is None
    assert image.direction is None
    assert image.meta._has_array.value is False
    for action in (
        image.to_numpy,
        image.compress,
        image.decompress,
        lambda: image[0],
        lambda: len(image),
        lambda: np.asarray(image),
    ):
        with pytest.raises(NoArrayError, match="no array"):
            action()
    with pytest.raises(TypeError):
        image[0] = 1


# ------------------------------------------------------------------------ the meta argument


def test_meta_dict_becomes_meta_source() -> None:
    source = {"patient_id": "123", "modality": "CT", "nested": {"window": [40, 400]}}
    image = MLArray(_volume(), meta=source)
    assert image.meta.source == source
    assert image.meta.extra == {}
    source["patient_id"] = "changed"
    assert image.meta.source["patient_id"] == "123", "the dict is copied, not aliased"


def test_meta_instance_keeps_every_section_and_is_copied() -> None:
    meta = Meta(
        source={"a": 1},
        extra={"b": 2},
        is_seg=True,
        bbox={"bboxes": [[[0, 1], [2, 3], [4, 5]]], "scores": [0.5], "labels": ["tumor"]},
        stats={"min": -1.0, "max": 2.0},
    )
    image = MLArray(_volume(), meta=meta)
    assert image.meta.source == {"a": 1}
    assert image.meta.extra == {"b": 2}
    assert image.meta.is_seg.value is True
    assert image.meta.bbox.bboxes == [[[0, 1], [2, 3], [4, 5]]]
    assert image.meta.bbox.scores == [0.5]
    assert image.meta.bbox.labels == ["tumor"]
    assert image.meta.stats.max == 2.0
    meta.source["a"] = 99
    assert image.meta.source["a"] == 1, "the Meta is copied, not aliased"
    assert image.meta is not meta


@pytest.mark.parametrize("bad", [[1, 2], "meta", 5])
def test_meta_of_wrong_type_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="meta"):
        MLArray(_volume(), meta=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "error", "fragment"),
    [
        ({1, 2}, TypeError, "set"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
        (object(), TypeError, "object"),
        (np.float32(1.5), None, None),
        (b"bytes", TypeError, "bytes"),
    ],
)
def test_meta_source_must_be_json(value: object, error: type | None, fragment: str) -> None:
    if error is None:
        image = MLArray(_volume(), meta={"x": value})
        assert image.meta.source["x"] == 1.5
        assert type(image.meta.source["x"]) is float
        return
    with pytest.raises(error, match=fragment) as info:
        MLArray(_volume(), meta={"x": value})
    assert isinstance(info.value, MLArrayError)
    assert "meta.source['x']" in str(info.value)


# -------------------------------------------------------------------------------- geometry


def test_spacing_origin_direction_are_stored_as_given() -> None:
    direction = _rotation_z(30)
    image = MLArray(
        _volume(), spacing=(1.0, 1.0, 1.5), origin=(10.0, 10.0, 30.0), direction=direction
    )
    assert image.spacing == [1.0, 1.0, 1.5]
    assert image.origin == [10.0, 10.0, 30.0]
    np.testing.assert_allclose(image.direction, direction)
    assert image.meta.spatial.affine is None


def test_geometry_accepts_numpy_arrays() -> None:
    image = MLArray(_volume(), spacing=np.array([1, 2, 3]), origin=np.zeros(3))
    assert image.spacing == [1, 2, 3]
    assert image.origin == [0.0, 0.0, 0.0]


def test_affine_is_computed_from_spacing_origin_direction() -> None:
    spacing, origin, direction = [0.5, 0.7, 2.0], [10.0, -20.0, 30.0], _rotation_z(30)
    image = MLArray(_volume(), spacing=spacing, origin=origin, direction=direction)
    expected = np.eye(4)
    expected[:3, :3] = direction @ np.diag(spacing)
    expected[:3, 3] = origin
    np.testing.assert_allclose(image.affine, expected, atol=1e-12)
    assert image.affine.shape == (4, 4)
    np.testing.assert_allclose(image.translation, origin)
    np.testing.assert_allclose(image.scale, spacing)
    np.testing.assert_allclose(image.rotation, direction, atol=1e-12)
    np.testing.assert_allclose(image.shear, np.eye(3), atol=1e-12)
    assert image.meta.spatial.affine is None, "computed, not stored"


def test_affine_defaults_to_identity_when_no_geometry_is_set() -> None:
    image = MLArray(_volume((4, 5)))
    np.testing.assert_array_equal(image.affine, np.eye(3))
    assert image.translation == [0.0, 0.0]
    assert image.scale == [1.0, 1.0]


def test_affine_is_stored_and_decomposed() -> None:
    affine = [[0, 0, 2.0, 10], [0, 3.0, 0, 20], [1.5, 0, 0, 30], [0, 0, 0, 1]]
    image = MLArray(_volume(), affine=affine)
    np.testing.assert_array_equal(image.affine, affine)
    assert image.translation == [10.0, 20.0, 30.0]
    assert image.scale == [1.5, 3.0, 2.0]
    np.testing.assert_allclose(image.rotation, [[0, 0, 1], [0, 1, 0], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(image.shear, np.eye(3), atol=1e-12)
    assert image.spacing is None
    assert image.origin is None
    assert image.direction is None


def test_sheared_affine_reports_its_shear() -> None:
    affine = np.array([[1.0, 0.5, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
    image = MLArray(_volume(), affine=affine)
    shear = np.asarray(image.shear)
    assert not np.allclose(shear, np.eye(3))
    recomposed = np.asarray(image.rotation) @ np.diag(image.scale) @ shear
    np.testing.assert_allclose(recomposed, affine[:3, :3], atol=1e-12)


@pytest.mark.parametrize("name", ["spacing", "origin", "direction"])
def test_setting_a_vector_on_an_affine_image_is_a_value_error(name: str) -> None:
    values = {"spacing": [1.0, 1.0, 1.0], "origin": [0.0, 0.0, 0.0], "direction": np.eye(3)}
    image = MLArray(_volume(), affine=np.diag([2.0, 3.0, 4.0, 1.0]))
    with pytest.raises(ValueError, match=r"stored as affine.*set image.affine = None first"):
        setattr(image, name, values[name])
    assert getattr(image, name) is None
    assert image.scale == [2.0, 3.0, 4.0]
    image.affine = None
    setattr(image, name, values[name])
    assert np.array_equal(getattr(image, name), values[name])
    assert image.meta.spatial.affine is None


def test_setting_an_affine_on_a_spacing_image_is_a_value_error() -> None:
    image = MLArray(_volume(), spacing=[1, 2, 3], origin=[4, 5, 6])
    with pytest.raises(
        ValueError, match=r"stored as spacing, origin.*image.spacing = None"
    ) as info:
        image.affine = np.diag([2.0, 3.0, 4.0, 1.0])
    assert isinstance(info.value, MetaValidationError)
    assert (image.spacing, image.origin, image.meta.spatial.affine) == ([1, 2, 3], [4, 5, 6], None)
    image.spacing = None
    with pytest.raises(ValueError, match="origin"):
        image.affine = np.eye(4)
    image.origin = None
    image.affine = np.diag([2.0, 3.0, 4.0, 1.0])
    assert image.scale == [2.0, 3.0, 4.0]
    assert image.meta.spatial.affine[0] == [2.0, 0.0, 0.0, 0.0]
    image.affine = None  # clearing is always allowed
    assert image.meta.spatial.affine is None


@pytest.mark.parametrize("name", ["spacing", "origin", "direction"])
def test_affine_with_spacing_origin_or_direction_is_a_value_error(name: str) -> None:
    values = {"spacing": [1, 1, 1], "origin": [0, 0, 0], "direction": np.eye(3)}
    with pytest.raises(ValueError, match=f"affine.*{name}") as info:
        MLArray(_volume(), affine=np.eye(4), **{name: values[name]})
    assert isinstance(info.value, MetaValidationError)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"spacing": (1.0, 2.0)}, "spacing"),
        ({"spacing": (1.0, 2.0, 3.0, 4.0)}, "spacing"),
        ({"origin": (1.0,)}, "origin"),
        ({"direction": np.eye(2)}, "direction"),
        ({"affine": np.eye(3)}, "affine"),
    ],
)
def test_geometry_of_the_wrong_length_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"meta.spatial.{field}: expected") as info:
        MLArray(_volume(), **kwargs)
    assert isinstance(info.value, MLArrayError)


def test_non_positive_spacing_is_refused() -> None:
    with pytest.raises(ValueError, match="spacing"):
        MLArray(_volume(), spacing=(1.0, 0.0, 1.0))


def test_spacing_item_assignment_mutates_in_place(tmp_path: Path) -> None:
    image = MLArray(_volume(), spacing=(1.0, 1.0, 1.5))
    image.spacing[1] = 5.3
    assert image.spacing == [1.0, 5.3, 1.5]
    assert image.meta.spatial.spacing == [1.0, 5.3, 1.5]
    assert image.affine[1, 1] == 5.3
    image.origin = [1.0, 2.0, 3.0]
    image.origin[2] = -7.0
    path = tmp_path / "spacing.mla"
    image.save(path)
    loaded = MLArray.load(path)
    assert loaded.spacing == [1.0, 5.3, 1.5]
    assert loaded.origin == [1.0, 2.0, -7.0]


def test_invalid_in_place_geometry_edit_is_caught_at_save(tmp_path: Path) -> None:
    image = MLArray(_volume(), spacing=[1.0, 1.0, 1.0])
    image.spacing.append(2.0)
    with pytest.raises(ValueError, match=r"meta\.spatial\.spacing: expected 3"):
        image.save(tmp_path / "bad.mla")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- axis labels


def test_axis_labels_define_the_spatial_axes() -> None:
    labels = ["channel", "spatial_x", "spatial_y", "spatial_z"]
    image = MLArray(_volume((2, 5, 6, 7)), axis_labels=labels, spacing=(1, 2, 3))
    assert image.meta.spatial.axis_labels == labels
    assert image.ndim == 4
    assert image.spatial_ndim == 3
    assert image.affine.shape == (4, 4)
    assert image.scale == [1.0, 2.0, 3.0]


def test_axis_labels_accept_the_enum() -> None:
    labels = [AxisLabel.temporal, AxisLabel.spatial, AxisLabel.spatial]
    image = MLArray(_volume((3, 4, 5)), axis_labels=labels)
    assert image.meta.spatial.axis_labels == ["temporal", "spatial", "spatial"]
    assert image.spatial_ndim == 2


def test_without_axis_labels_every_axis_is_spatial() -> None:
    image = MLArray(_volume((2, 5, 6, 7)))
    assert image.spatial_ndim == 4
    assert image.affine.shape == (5, 5)


def test_axis_labels_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match="axis_labels"):
        MLArray(_volume(), axis_labels=["spatial_x", "spatial_y"])


def test_spacing_counts_only_spatial_axes() -> None:
    with pytest.raises(ValueError, match="spacing"):
        MLArray(
            _volume((2, 5, 6)), axis_labels=["channel", "spatial", "spatial"], spacing=[1, 1, 1]
        )


# --------------------------------------------------------------------------- copy=


def _base() -> MLArray:
    meta = Meta(source={"patient": "p1"}, extra={"note": "x"}, is_seg=True)
    base = MLArray(
        _volume(),
        spacing=(1.0, 2.0, 3.0),
        origin=(4.0, 5.0, 6.0),
        direction=_rotation_z(90),
        meta=meta,
        axis_labels=LABELS_3D,
    )
    base.meta.spatial.coord_system = "LPS"
    return base


def test_copy_fills_everything_not_given() -> None:
    base = _base()
    image = MLArray(_volume(), copy=base)
    assert image.spacing == [1.0, 2.0, 3.0]
    assert image.origin == [4.0, 5.0, 6.0]
    np.testing.assert_allclose(image.direction, _rotation_z(90))
    assert image.meta.source == {"patient": "p1"}
    assert image.meta.extra == {"note": "x"}
    assert image.meta.is_seg.value is True
    assert image.meta.spatial.axis_labels == LABELS_3D
    assert image.meta.spatial.coord_system == "LPS"


def test_explicit_arguments_win_over_copy() -> None:
    base = _base()
    image = MLArray(_volume(), spacing=(0.8, 0.8, 1.0), meta={"patient": "p2"}, copy=base)
    assert image.spacing == [0.8, 0.8, 1.0]
    assert image.origin == [4.0, 5.0, 6.0], "not given: copied"
    assert image.meta.source == {"patient": "p2"}
    assert image.meta.is_seg.value is True, "not in the dict: copied"
    assert base.spacing == [1.0, 2.0, 3.0], "the source is not modified"


def test_explicit_meta_instance_wins_field_by_field_over_copy() -> None:
    image = MLArray(_volume(), meta=Meta(is_seg=False), copy=_base())
    assert image.meta.is_seg.value is False
    assert image.meta.source == {"patient": "p1"}


def test_explicit_affine_wins_over_copied_spacing() -> None:
    image = MLArray(_volume(), affine=np.diag([2.0, 2.0, 2.0, 1.0]), copy=_base())
    assert image.spacing is None
    assert image.origin is None
    assert image.direction is None
    assert image.scale == [2.0, 2.0, 2.0]


def test_copy_does_not_take_the_layout_of_the_source() -> None:
    base = MLArray(_volume(), patch_size=None, chunk_size=(2, 3, 4), block_size=(1, 1, 2))
    image = MLArray(_volume((20, 20, 20)), copy=base)
    assert image.meta.blosc2.chunk_size != [2, 3, 4]
    assert image.meta.spatial.shape == [20, 20, 20]
    assert image.meta.blosc2.patch_size == [192, 192, 192]


def test_copy_must_be_an_mlarray() -> None:
    with pytest.raises(TypeError, match="copy"):
        MLArray(_volume(), copy=Meta())  # type: ignore[arg-type]


def test_copy_of_incompatible_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match=r"meta\.spatial\.axis_labels"):
        MLArray(_volume((5, 5)), copy=_base())


# ------------------------------------------------------------------- NumPy interop


@pytest.mark.parametrize("compressed", [True, False])
def test_numpy_protocol(compressed: bool) -> None:
    data = _volume((5, 6, 7))
    image = MLArray(data, compressed=compressed)
    np.testing.assert_array_equal(np.asarray(image), data)
    assert np.asarray(image, dtype=np.float64).dtype == np.float64
    assert np.mean(image) == pytest.approx(float(data.mean()), rel=1e-5)
    assert len(image) == 5
    rows = list(image)
    assert len(rows) == 5
    for row, expected in zip(rows, data, strict=True):
        np.testing.assert_array_equal(row, expected)
    np.testing.assert_array_equal(image[1:3, ..., -1], data[1:3, ..., -1])
    assert image[4, 5, 6] == data[4, 5, 6]


def test_np_array_returns_a_copy_that_does_not_alias_the_image() -> None:
    data = _volume((3, 4, 5))
    image = MLArray(data.copy(), compressed=False)
    copied = np.array(image)
    copied[...] = 0
    np.testing.assert_array_equal(image.to_numpy(), data)


def test_asarray_copy_false_refuses_to_decompress() -> None:
    image = MLArray(_volume((3, 4, 5)))
    with pytest.raises(ValueError, match="without a copy"):
        np.asarray(image, copy=False)
    uncompressed = MLArray(_volume((3, 4, 5)), compressed=False)
    assert np.shares_memory(np.asarray(uncompressed, copy=False), uncompressed.to_numpy())


@pytest.mark.parametrize("compressed", [True, False])
def test_setitem_in_memory(compressed: bool) -> None:
    data = _volume((8, 9, 10))
    image = MLArray(data.copy(), compressed=compressed)
    image[2:4, 5:7] *= 5
    image[0] = 1.0
    image[..., -1] = np.arange(9, dtype=np.float32)
    data[2:4, 5:7] *= 5
    data[0] = 1.0
    data[..., -1] = np.arange(9, dtype=np.float32)
    np.testing.assert_array_equal(image.to_numpy(), data)


def test_len_and_iter_follow_the_first_axis() -> None:
    image = MLArray(np.arange(12, dtype=np.int16).reshape(4, 3))
    assert len(image) == 4
    assert [row.tolist() for row in image] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_repr_names_shape_and_dtype() -> None:
    assert repr(MLArray(np.zeros((2, 3), np.uint8))) == "MLArray(shape=(2, 3), dtype=uint8)"
    assert repr(MLArray()) == "MLArray(no array)"


# ---------------------------------------------------------------- compress / decompress


def test_decompress_clears_blosc2_meta_and_compress_restores_it() -> None:
    data = _volume((20, 30, 40))
    image = MLArray(data, spacing=(1, 2, 3))
    assert not image.meta.blosc2.is_default()
    image.decompress()
    assert image.meta.blosc2.is_default()
    assert image.meta.blosc2.chunk_size is None
    assert _held_uncompressed(image)
    np.testing.assert_array_equal(image.to_numpy(), data)
    image.compress(patch_size=None, chunk_size=(10, 10, 10), block_size=(5, 5, 5))
    assert not _held_uncompressed(image)
    assert image.meta.blosc2.chunk_size == [10, 10, 10]
    assert image.meta.blosc2.block_size == [5, 5, 5]
    assert image.meta.blosc2.patch_size is None
    assert image.spacing == [1, 2, 3], "geometry survives"
    np.testing.assert_array_equal(image.to_numpy(), data)


def test_compress_with_default_patch_and_params() -> None:
    image = MLArray(_volume((20, 30, 40)), compressed=False)
    image.compress(cparams={"codec": blosc2.Codec.ZSTD, "clevel": 3}, dparams={"nthreads": 2})
    assert image.meta.blosc2.patch_size == [192, 192, 192]
    assert image.meta.blosc2.cparams["codec"] == blosc2.Codec.ZSTD.value
    assert image.meta.blosc2.cparams["clevel"] == 3
    assert image.meta.blosc2.dparams == {"nthreads": 2}


def test_compress_detaches_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "detach.mla"
    data = _volume((6, 7, 8))
    MLArray(data).save(path)
    image = MLArray.open(path, mmap_mode="r+")
    image.compress()
    image[0] = 0.0
    image.close()
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), data)
