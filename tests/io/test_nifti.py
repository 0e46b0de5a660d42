"""NIfTI through nibabel: values, geometry and headers, exact round trips."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import mlarray_io
from mlarray import MLArray
from mlarray.errors import MetaValidationError, MLArrayError
from mlarray_io.errors import ImageFormatError
from tests.io._images import (
    ALL_REAL_NIFTI,
    ct_volume,
    oblique_affine,
    probe_indices,
    sheared_affine,
    world,
    write_scanner_nifti,
)


def via_mla(source: Path, tmp_path: Path, **load_options: object) -> MLArray:
    """Load ``source``, save it as .mla and load that file back."""
    mlarray_io.save(mlarray_io.load(source, **load_options), tmp_path / "image.mla")
    return mlarray_io.load(tmp_path / "image.mla")


def file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


# ------------------------------------------------------------------------ round trip (b)
@pytest.mark.parametrize("name", ALL_REAL_NIFTI)
def test_real_scan_round_trips_through_mla_bit_for_bit(
    nibabel_data: Path, tmp_path: Path, name: str
) -> None:
    source = nibabel_data / name
    out = tmp_path / name
    mlarray_io.save(via_mla(source, tmp_path), out)
    original, written = nib.load(source), nib.load(out)
    assert written.header.binaryblock == original.header.binaryblock
    assert [(e.get_code(), e.content) for e in written.header.extensions] == [
        (e.get_code(), e.content) for e in original.header.extensions
    ]
    assert written.get_data_dtype() == original.get_data_dtype()
    np.testing.assert_array_equal(
        np.asanyarray(written.dataobj.get_unscaled()),
        np.asanyarray(original.dataobj.get_unscaled()),
    )
    assert file_bytes(out) == file_bytes(source)


@pytest.mark.parametrize(
    ("slope", "inter", "raw_dtype"),
    [(1.0, -1024.0, np.int16), (0.5, 3.0, np.int16), (0.1, 0.0, np.int16), (1.0, 0.0, np.uint8)],
)
def test_scaled_nifti_round_trips_with_its_dtype_and_scaling(
    tmp_path: Path, slope: float, inter: float, raw_dtype: type
) -> None:
    raw = ct_volume().astype(raw_dtype)
    source = write_scanner_nifti(
        tmp_path / "scaled.nii", raw, oblique_affine(), scl_slope=slope, scl_inter=inter
    )
    mlarray_io.save(via_mla(source, tmp_path), tmp_path / "back.nii")
    assert (tmp_path / "back.nii").read_bytes() == source.read_bytes()


# ------------------------------------------------------------------------ values and dtypes
def load_scaled(
    tmp_path: Path, raw: np.ndarray, slope: float, inter: float
) -> tuple[MLArray, np.ndarray]:
    """Write ``raw`` with a scaling, load it; check the values against nibabel's float64 ones."""
    source = write_scanner_nifti(
        tmp_path / "scaled.nii", raw, np.eye(4), scl_slope=slope, scl_inter=inter
    )
    image = mlarray_io.load(source)
    reference = nib.load(source).get_fdata(dtype=np.float64)
    np.testing.assert_array_equal(image.to_numpy().astype(np.float64), reference)
    return image, reference


@pytest.mark.parametrize(
    ("raw_dtype", "slope", "inter", "expected"),
    [
        (np.int16, np.nan, np.nan, np.int16),  # unset
        (np.int16, 0.0, 5.0, np.int16),  # slope 0 means unset
        (np.int16, 1.0, 0.0, np.int16),  # identity
        (np.int16, 1.0, -1024.0, np.int16),  # integral, in range
        (np.uint8, 1.0, -1024.0, np.int16),  # integral, out of uint8's range
        (np.int16, 3.0, -30000.0, np.int32),  # integral, out of int16's range
        (np.int16, 0.5, 0.25, np.float32),  # float32 holds every value exactly
        (np.int16, 0.1, 0.0, np.float64),  # float32 would round
    ],
)
def test_scaling_is_applied_without_losing_precision_or_widening(
    tmp_path: Path, raw_dtype: type, slope: float, inter: float, expected: type
) -> None:
    image, _ = load_scaled(tmp_path, ct_volume().astype(raw_dtype), slope, inter)
    assert image.dtype == expected


# Every NIfTI integer type, with a scaling that keeps integers and one that does not:
# (stored dtype, lowest and highest stored value, slope, intercept, dtype expected).
EVERY_INTEGER_TYPE = [
    (np.uint8, 0, 255, 1.0, -1024.0, np.int16),
    (np.uint8, 0, 255, 2.0, 0.0, np.uint16),
    (np.uint8, 0, 255, 0.5, 0.0, np.float32),
    (np.int8, -128, 127, 1.0, 100.0, np.int16),
    (np.int8, -128, 127, 1.0, 0.25, np.float32),
    (np.uint16, 0, 2000, 1.0, -1024.0, np.int16),  # -1024..976: int16, not int32
    (np.uint16, 0, 65535, 1.0, -1024.0, np.int32),
    (np.uint16, 0, 65535, 0.1, 0.0, np.float64),
    (np.int16, -1024, 3071, 1.0, 1024.0, np.int16),
    (np.int16, -1024, 3071, -1.0, 0.0, np.int16),
    (np.int16, -32768, 32767, 1.0, 1.0, np.int32),
    (np.int16, -1024, 3071, 1.0, 0.5, np.float32),
    (np.uint32, 0, 3_000_000_000, 1.0, -1.0, np.int64),
    (np.uint32, 0, 1000, 3.0, 7.0, np.uint32),  # fits the stored dtype: kept
    (np.uint32, 0, 1000, 0.3, 0.0, np.float64),
    (np.int32, -1_000_000, 1_000_000, -1.0, 0.0, np.int32),
    (np.int32, -1_000_000, 1_000_000, 1.5, 0.0, np.float32),
    (np.uint64, 0, 1000, 1.0, -5.0, np.int16),
    (np.uint64, 0, 1000, 0.25, 0.0, np.float32),
    (np.int64, -1000, 1000, 2.0, 1.0, np.int64),
    (np.int64, -1000, 1000, 0.1, 0.0, np.float64),
]


@pytest.mark.parametrize(
    ("raw_dtype", "lo", "hi", "slope", "inter", "expected"),
    EVERY_INTEGER_TYPE,
    ids=[f"{np.dtype(c[0])}*{c[3]}{c[4]:+}" for c in EVERY_INTEGER_TYPE],
)
def test_every_integer_type_scales_to_the_narrowest_exact_dtype(
    tmp_path: Path, raw_dtype: type, lo: int, hi: int, slope: float, inter: float, expected: type
) -> None:
    raw = np.linspace(lo, hi, num=7 * 6 * 5).round().astype(raw_dtype).reshape(7, 6, 5)
    assert (raw.min(), raw.max()) == (lo, hi)
    image, reference = load_scaled(tmp_path, raw, slope, inter)
    assert image.dtype == expected
    if np.dtype(expected).kind in "iu" and expected is not raw_dtype:
        narrower = [d for d in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32)
                    if np.dtype(d).itemsize < np.dtype(expected).itemsize]  # fmt: skip
        assert not any(
            np.iinfo(d).min <= reference.min() and reference.max() <= np.iinfo(d).max
            for d in narrower
        ), "a narrower integer dtype holds the values"
    mlarray_io.save(image, tmp_path / "back.nii")
    assert (tmp_path / "back.nii").read_bytes() == (tmp_path / "scaled.nii").read_bytes()


def test_label_map_intent_marks_segmentation_and_stays_integer(tmp_path: Path) -> None:
    labels = np.random.default_rng(1).integers(0, 5, size=(9, 8, 7), dtype=np.uint8)
    source = write_scanner_nifti(tmp_path / "seg.nii.gz", labels, np.eye(4), intent_code=1002)
    image = mlarray_io.load(source)
    assert image.meta.is_seg.value is True
    assert image.dtype == np.uint8
    assert mlarray_io.load(source, is_seg=False).meta.is_seg.value is False
    assert (
        mlarray_io.load(
            write_scanner_nifti(tmp_path / "ct.nii", labels, np.eye(4))
        ).meta.is_seg.value
        is None
    )


def test_float_label_map_becomes_unsigned_and_is_written_as_labels(tmp_path: Path) -> None:
    labels = np.random.default_rng(2).integers(0, 300, size=(9, 8, 7)).astype(np.float32)
    source = write_scanner_nifti(tmp_path / "seg.nii", labels, np.eye(4))
    image = mlarray_io.load(source, is_seg=True)
    assert image.dtype == np.uint16
    assert image.meta.is_seg.value is True
    np.testing.assert_array_equal(image.to_numpy(), labels)
    mlarray_io.save(image, tmp_path / "back.nii")
    written = nib.load(tmp_path / "back.nii")
    assert written.get_data_dtype() == np.uint16
    assert int(written.header["intent_code"]) == 1002
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), labels)


def test_fractional_values_are_refused_as_a_label_map(tmp_path: Path) -> None:
    values = np.full((4, 4, 4), 0.5, dtype=np.float32)
    source = write_scanner_nifti(tmp_path / "prob.nii", values, np.eye(4))
    with pytest.raises(MetaValidationError, match=r"prob\.nii.*found the fractional value 0.5"):
        mlarray_io.load(source, is_seg=True)


# ------------------------------------------------------------------------ geometry (d)
@pytest.mark.parametrize("name", ALL_REAL_NIFTI)
def test_world_coordinates_from_mla_equal_nibabel_on_real_scans(
    nibabel_data: Path, tmp_path: Path, name: str
) -> None:
    source = nib.load(nibabel_data / name)
    image = via_mla(nibabel_data / name, tmp_path)
    assert image.shape == source.shape
    for index in probe_indices(source.shape[:3]):
        np.testing.assert_allclose(
            world(image.affine, index), world(source.affine, index)[:3], rtol=0, atol=1e-9
        )


@pytest.mark.parametrize("affine", [oblique_affine(), sheared_affine()], ids=["oblique", "shear"])
def test_world_coordinates_from_mla_equal_nibabel_on_synthetic_images(
    tmp_path: Path, affine: np.ndarray
) -> None:
    source = write_scanner_nifti(tmp_path / "ct.nii.gz", ct_volume(), affine)
    image = via_mla(source, tmp_path)
    np.testing.assert_array_equal(image.to_numpy(), ct_volume())
    for index in probe_indices(image.shape):
        np.testing.assert_allclose(
            world(image.affine, index), world(nib.load(source).affine, index), atol=1e-9
        )


def test_geometry_is_stored_as_spacing_unless_sheared(tmp_path: Path) -> None:
    oblique = mlarray_io.load(
        write_scanner_nifti(tmp_path / "o.nii", ct_volume(), oblique_affine())
    )
    np.testing.assert_allclose(oblique.spacing, [0.7, 0.9, 2.5], rtol=1e-6)
    assert oblique.meta.spatial.affine is None
    source = write_scanner_nifti(tmp_path / "s.nii", ct_volume(), sheared_affine())
    sheared = mlarray_io.load(source)
    assert sheared.meta.spatial.spacing is None
    np.testing.assert_allclose(sheared.affine, nib.load(source).affine)


def test_labels_units_frame_format_and_time_axis_are_recorded(nibabel_data: Path) -> None:
    image = mlarray_io.load(nibabel_data / "example4d.nii.gz")
    spatial = image.meta.spatial
    assert spatial.axis_labels == ["spatial_x", "spatial_y", "spatial_z", "temporal"]
    assert spatial.axis_units == ["mm", "mm", "mm", "s"]
    assert spatial.coord_system == "RAS+"
    assert image.meta._image_meta_format.value == "nifti"
    assert image.meta.source.value["time"] == {"step": 2000.0, "offset": 0.0}
    json.dumps(image.meta.source.value, allow_nan=False)
    header = image.meta.source.value["nifti"]["header"]
    assert header["descrip"] == "FSL3.3\x00 v2.25 NIfTI-1 Single file format"
    assert [e["code"] for e in image.meta.source.value["nifti"]["extensions"]] == [6, 6]


def test_nan_header_fields_are_kept_as_none_and_restored(tmp_path: Path) -> None:
    source = write_scanner_nifti(tmp_path / "ct.nii", ct_volume(), np.eye(4))
    stored = bytearray(source.read_bytes())
    stored[112:120] = np.array([np.nan, np.nan], dtype="<f4").tobytes()  # scl_slope, scl_inter
    source.write_bytes(bytes(stored))
    image = mlarray_io.load(source)
    header = image.meta.source.value["nifti"]["header"]
    assert (header["scl_slope"], header["scl_inter"]) == (None, None)
    mlarray_io.save(image, tmp_path / "back.nii")
    assert (tmp_path / "back.nii").read_bytes() == source.read_bytes()


def test_time_step_and_units_survive_nifti_and_mha(tmp_path: Path) -> None:
    data = ct_volume((6, 5, 4, 3))
    image = nib.Nifti1Image(data, oblique_affine())
    image.header.set_xyzt_units("mm", "msec")
    image.header["pixdim"][4] = 250.0
    image.header["toffset"] = 3.0
    nib.save(image, tmp_path / "fmri.nii")
    loaded = mlarray_io.load(tmp_path / "fmri.nii")
    assert loaded.meta.spatial.axis_units == ["mm", "mm", "mm", "ms"]
    assert loaded.meta.source.value["time"] == {"step": 250.0, "offset": 3.0}
    mlarray_io.save(loaded, tmp_path / "fmri.mha")
    itk = mlarray_io.load(tmp_path / "fmri.mha")  # ITK keeps seconds
    assert itk.meta.spatial.axis_units == ["mm", "mm", "mm", "s"]
    assert itk.meta.source.value["time"] == {"step": 0.25, "offset": 0.003}
    mlarray_io.save(itk, tmp_path / "back.nii")
    header = nib.load(tmp_path / "back.nii").header
    assert header.get_xyzt_units() == ("mm", "sec")
    assert header["pixdim"][4] == np.float32(0.25)


def test_2d_image_keeps_its_plane_and_round_trips(tmp_path: Path) -> None:
    affine = np.array([[0.0, -0.8, 0, 12.0], [0.6, 0.0, 0, -3.0], [0, 0, 3.0, 7.5], [0, 0, 0, 1]])
    data = ct_volume((11, 7))
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "slice.nii")
    image = via_mla(tmp_path / "slice.nii", tmp_path)
    assert image.meta.spatial.axis_labels == ["spatial_x", "spatial_y"]
    np.testing.assert_array_equal(image.to_numpy(), data)
    stored = nib.load(tmp_path / "slice.nii").affine  # float32 in the file
    for index in probe_indices(data.shape):
        expected = world(stored, np.append(index, 0.0))
        np.testing.assert_allclose(world(image.affine, index), expected[:2], atol=1e-9)
    mlarray_io.save(image, tmp_path / "back.nii")
    assert (tmp_path / "back.nii").read_bytes() == (tmp_path / "slice.nii").read_bytes()


# ------------------------------------------------------------------------ header rebuilding
def test_changed_geometry_wins_and_the_header_is_rebuilt(
    nibabel_data: Path, tmp_path: Path
) -> None:
    image = mlarray_io.load(nibabel_data / "anatomical.nii")
    image.origin = [10.0, 20.0, 30.0]
    mlarray_io.save(image, tmp_path / "moved.nii")
    original, moved = nib.load(nibabel_data / "anatomical.nii"), nib.load(tmp_path / "moved.nii")
    expected = original.affine.copy()
    expected[:3, 3] = [10.0, 20.0, 30.0]
    np.testing.assert_allclose(moved.get_sform(), expected)
    np.testing.assert_allclose(moved.get_qform(), expected)
    for field in ("qform_code", "sform_code", "descrip", "xyzt_units", "dim", "pixdim"):
        assert np.array_equal(moved.header[field], original.header[field]), field
    np.testing.assert_array_equal(moved.get_fdata(), original.get_fdata())


def test_sheared_geometry_goes_to_the_sform_only(tmp_path: Path) -> None:
    image = MLArray(ct_volume(), affine=sheared_affine())
    header = mlarray_io.to_nifti(image).header
    np.testing.assert_allclose(header.get_sform(), sheared_affine(), atol=1e-5)
    assert (int(header["sform_code"]), int(header["qform_code"])) == (1, 0)


def test_lps_stored_mla_is_converted_to_ras(tmp_path: Path) -> None:
    lps = oblique_affine()
    image = MLArray(ct_volume(), affine=lps)
    image.meta.spatial.coord_system = "LPS+"
    nifti = mlarray_io.to_nifti(image)
    np.testing.assert_allclose(nifti.affine, np.diag([-1, -1, 1, 1]) @ lps, atol=1e-5)
    image.meta.spatial.coord_system = "scanner-xyz"
    with pytest.raises(ImageFormatError, match="scanner-xyz"):
        mlarray_io.to_nifti(image)


def test_plain_mla_gets_a_fresh_header_with_its_dtype(tmp_path: Path) -> None:
    data = ct_volume().astype(np.uint16)
    mlarray_io.save(MLArray(data, spacing=[0.5, 0.5, 2.0]), tmp_path / "plain.nii.gz")
    written = nib.load(tmp_path / "plain.nii.gz")
    assert written.get_data_dtype() == np.uint16
    assert written.header.get_slope_inter() == (None, None)
    np.testing.assert_allclose(written.header.get_zooms(), [0.5, 0.5, 2.0])
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), data)


def test_changed_values_fall_back_to_their_own_dtype(nibabel_data: Path, tmp_path: Path) -> None:
    image = mlarray_io.load(nibabel_data / "anatomical.nii")
    values = image.to_numpy().astype(np.float32) + 0.5
    changed = MLArray(values, copy=image)
    mlarray_io.save(changed, tmp_path / "changed.nii")
    written = nib.load(tmp_path / "changed.nii")
    assert written.get_data_dtype() == np.dtype(">f4")  # the source's byte order is kept
    np.testing.assert_array_equal(written.get_fdata(), values)


# ------------------------------------------------------------------------ reorientation
def test_no_silent_reorientation(nibabel_data: Path) -> None:
    image = mlarray_io.load(nibabel_data / "anatomical.nii")  # stored LAS
    source = nib.load(nibabel_data / "anatomical.nii")
    np.testing.assert_array_equal(image.to_numpy(), np.asanyarray(source.dataobj))
    assert nib.aff2axcodes(image.affine) == ("L", "A", "S")
    assert "reorientation" not in image.meta.source.value


@pytest.mark.parametrize("name", ["anatomical.nii", "example4d.nii.gz"])
def test_reorient_matches_nibabel_closest_canonical(nibabel_data: Path, name: str) -> None:
    canonical = nib.as_closest_canonical(nib.load(nibabel_data / name))
    image = mlarray_io.load(nibabel_data / name, reorient=True)
    np.testing.assert_array_equal(image.to_numpy(), canonical.get_fdata())
    np.testing.assert_allclose(image.affine, canonical.affine, atol=1e-9)
    assert image.meta.source.value["reorientation"]["from"] == "LAS"
    assert image.meta.source.value["reorientation"]["to"] == "RAS"


def test_reoriented_header_follows_the_axes(nibabel_data: Path, tmp_path: Path) -> None:
    source = nib.load(nibabel_data / "example4d.nii.gz")
    canonical = nib.as_closest_canonical(source)
    mlarray_io.save(
        mlarray_io.load(nibabel_data / "example4d.nii.gz", reorient=True), tmp_path / "r.nii"
    )
    written = nib.load(tmp_path / "r.nii")
    assert written.header.get_dim_info() == canonical.header.get_dim_info()
    np.testing.assert_allclose(written.affine, canonical.affine, atol=1e-4)
    assert int(written.header["qform_code"]) == int(source.header["qform_code"])


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("name", "keep"), [("anatomical.nii", 20000), ("example4d.nii.gz", 100000)]
)
@pytest.mark.parametrize("backend", ["nibabel", "sitk"])
def test_truncated_file_is_a_clear_error(
    nibabel_data: Path, tmp_path: Path, name: str, keep: int, backend: str
) -> None:
    broken = tmp_path / name
    broken.write_bytes((nibabel_data / name).read_bytes()[:keep])
    with pytest.raises(ImageFormatError, match=f"{broken.name}: cannot read NIfTI file") as info:
        mlarray_io.load(broken, backend=backend)
    assert isinstance(info.value, ValueError | MLArrayError)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "junk.nii").write_bytes(b"not a NIfTI file" * 40)
    with pytest.raises(ImageFormatError, match=r"junk\.nii: cannot read NIfTI file"):
        mlarray_io.load(tmp_path / "junk.nii")


def test_nibabel_image_objects_convert_both_ways(tmp_path: Path) -> None:
    source = write_scanner_nifti(
        tmp_path / "ct.nii", ct_volume(), oblique_affine(), scl_slope=0.5, scl_inter=3.0
    )
    image = mlarray_io.from_nifti(nib.load(source))
    np.testing.assert_array_equal(image.to_numpy(), nib.load(source).get_fdata())
    nifti = mlarray_io.to_nifti(image)
    assert nifti.get_data_dtype() == np.int16
    assert (nifti.dataobj.slope, nifti.dataobj.inter) == (0.5, 3.0)
    np.testing.assert_array_equal(nifti.get_fdata(), image.to_numpy())
    np.testing.assert_allclose(nifti.affine, nib.load(source).affine)


def test_in_memory_nibabel_image_and_very_long_axes() -> None:
    data = ct_volume()
    image = mlarray_io.from_nifti(nib.Nifti1Image(data, oblique_affine()))
    np.testing.assert_array_equal(image.to_numpy(), data)
    np.testing.assert_allclose(image.affine, oblique_affine())
    long = mlarray_io.to_nifti(MLArray(np.zeros((40000, 2), dtype=np.uint8)))
    assert isinstance(long, nib.Nifti2Image)
    assert long.shape == (40000, 2)
