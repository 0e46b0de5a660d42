"""Label maps are written as integer labels, whatever header they inherit, on the scan's grid."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

import mlarray_io
from mlarray import Meta, MLArray
from mlarray.errors import MetaValidationError
from mlarray_io.convert import convert_file
from tests.io._images import oblique_affine, probe_indices, world, write_scanner_nifti

LABEL_SUFFIXES = (".nii.gz", ".nrrd", ".mha")


@pytest.fixture
def scan(tmp_path: Path) -> MLArray:
    """An oblique CT stored as uint16 with the intercept -1024, as scanners write them."""
    raw = np.random.default_rng(5).integers(0, 3000, size=(17, 13, 9), dtype=np.uint16)
    path = write_scanner_nifti(
        tmp_path / "ct.nii.gz", raw, oblique_affine(), scl_slope=1.0, scl_inter=-1024.0
    )
    nifti = nib.load(path)
    nifti.header["cal_min"], nifti.header["cal_max"] = -1024.0, 1976.0
    nib.save(nifti, path)
    return mlarray_io.load(path)


def sitk_affine(image: SimpleITK.Image) -> np.ndarray:
    """The RAS+ affine of a SimpleITK image (ITK's LPS+ world, negated x and y)."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * np.array(image.GetSpacing())
    affine[:3, 3] = image.GetOrigin()
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine


def prediction(scan: MLArray, highest: int = 3) -> np.ndarray:
    values = scan.to_numpy()
    return np.clip((values + 1024) // 700, 0, highest).astype(np.uint8)


@pytest.mark.parametrize("suffix", LABEL_SUFFIXES)
def test_prediction_copied_from_a_scaled_oblique_scan(
    scan: MLArray, tmp_path: Path, suffix: str
) -> None:
    labels = prediction(scan)
    seg = MLArray(labels, copy=scan, meta=Meta(is_seg=True))
    target = tmp_path / f"pred{suffix}"
    mlarray_io.save(seg, target)

    itk = SimpleITK.ReadImage(str(target))
    assert itk.GetPixelID() == SimpleITK.sitkUInt8
    np.testing.assert_array_equal(SimpleITK.GetArrayFromImage(itk).transpose(2, 1, 0), labels)
    np.testing.assert_allclose(sitk_affine(itk), scan.affine, atol=1e-6)
    back = mlarray_io.load(target, is_seg=True)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back.to_numpy(), labels)
    for index in probe_indices(labels.shape):
        np.testing.assert_allclose(
            world(back.affine, index), world(scan.affine, index), rtol=0, atol=1e-6
        )


def test_nifti_label_map_has_no_scaling_the_label_intent_and_no_ct_window(
    scan: MLArray, tmp_path: Path
) -> None:
    labels = prediction(scan)
    mlarray_io.save(MLArray(labels, copy=scan, meta=Meta(is_seg=True)), tmp_path / "pred.nii.gz")
    written = nib.load(tmp_path / "pred.nii.gz")
    assert written.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(written.dataobj.get_unscaled()), labels)
    assert (written.dataobj.slope, written.dataobj.inter) == (1.0, 0.0)
    assert int(written.header["intent_code"]) == 1002  # NIFTI_INTENT_LABEL
    assert (float(written.header["cal_min"]), float(written.header["cal_max"])) == (0.0, 0.0)
    np.testing.assert_allclose(written.affine, scan.affine, atol=1e-6)
    assert int(written.header["qform_code"]) == int(written.header["sform_code"]) == 1
    assert mlarray_io.load(tmp_path / "pred.nii.gz").meta.is_seg.value is True


def test_real_scan_prediction_keeps_its_affine(nibabel_data: Path, tmp_path: Path) -> None:
    scan = mlarray_io.load(nibabel_data / "anatomical.nii")
    labels = (scan.to_numpy() > np.median(scan.to_numpy())).astype(np.int16)  # a wide dtype
    mlarray_io.save(MLArray(labels, copy=scan, meta=Meta(is_seg=True)), tmp_path / "pred.nii")
    written = nib.load(tmp_path / "pred.nii")
    assert written.get_data_dtype().newbyteorder("=") == np.uint8
    np.testing.assert_allclose(written.affine, nib.load(nibabel_data / "anatomical.nii").affine)
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), labels)


@pytest.mark.parametrize(("highest", "dtype"), [(255, np.uint8), (256, np.uint16)])
@pytest.mark.parametrize("suffix", LABEL_SUFFIXES)
def test_smallest_integer_type_that_holds_the_labels(
    scan: MLArray, tmp_path: Path, suffix: str, highest: int, dtype: type
) -> None:
    labels = prediction(scan).astype(np.float32)
    labels[0, 0, 0] = highest
    mlarray_io.save(MLArray(labels, copy=scan, meta=Meta(is_seg=True)), tmp_path / f"s{suffix}")
    assert mlarray_io.load(tmp_path / f"s{suffix}").dtype == dtype


@pytest.mark.parametrize("suffix", [*LABEL_SUFFIXES, ".mla"])
@pytest.mark.parametrize(("value", "found"), [(0.5, "fractional value 0.5"), (-1.0, "negative")])
def test_values_that_are_not_labels_are_a_clear_error(
    scan: MLArray, tmp_path: Path, suffix: str, value: float, found: str
) -> None:
    values = prediction(scan).astype(np.float32)
    values[3, 2, 1] = value
    image = MLArray(values, copy=scan)
    image.meta.is_seg = True
    target = tmp_path / f"pred{suffix}"
    with pytest.raises(MetaValidationError, match=f"pred{suffix}: .*{found}"):
        mlarray_io.save(image, target)
    assert not target.exists()
    source = tmp_path / "probabilities.mla"
    MLArray(values, copy=scan).save(source)
    with pytest.raises(MetaValidationError, match=f"probabilities.mla: .*{found}"):
        convert_file(source, target, is_seg=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ct.nii.gz", "probabilities.mla"]


def test_label_file_round_trips_bit_for_bit(tmp_path: Path) -> None:
    labels = np.random.default_rng(3).integers(0, 5, size=(9, 8, 7), dtype=np.uint8)
    source = write_scanner_nifti(tmp_path / "seg.nii", labels, oblique_affine(), intent_code=1002)
    image = mlarray_io.load(source)
    assert image.meta.is_seg.value is True
    mlarray_io.save(image, tmp_path / "back.nii")
    assert (tmp_path / "back.nii").read_bytes() == source.read_bytes()


def test_label_intent_on_other_values_loads_as_an_image(tmp_path: Path) -> None:
    values = np.array([-1, 0, 1, 2], dtype=np.int16).reshape(2, 2, 1)
    source = write_scanner_nifti(tmp_path / "odd.nii", values, np.eye(4), intent_code=1002)
    with pytest.warns(UserWarning, match=r"odd\.nii: the file marks the image as a label map"):
        image = mlarray_io.load(source)
    assert image.meta.is_seg.value is None
    assert image.dtype == np.int16
