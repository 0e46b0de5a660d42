"""Label maps in a conversion: --seg, detection by path, --seg-pattern; stored as labels."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mlarray import MLArray
from mlarray.cli import main
from mlarray_io._masks import MaskRule
from mlarray_io.dataset import convert_dataset
from tests.io._conversion import AFFINE, run_mlarray, write_nifti


def write_labels(path: Path, dtype: type = np.int16, highest: int = 3, seed: int = 0) -> np.ndarray:
    """Write a label map as segmentation tools often do: a wide dtype, no label intent."""
    labels = np.random.default_rng(seed).integers(0, highest + 1, size=(20, 18, 12))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(labels.astype(dtype), AFFINE), path)
    return labels


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("labelsTr/case_001.nii.gz", "labelsTr/*"),
        ("site_a/labelsTs/case_002.nii.gz", "labelsTs/*"),
        ("liver_seg.nrrd", "*_seg*"),
        ("patient7/BrainMask.nii", "*mask*"),
        ("Label_lungs.mha", "*label*"),
        ("imagesTr/case_001_0000.nii.gz", None),
        ("masked_scans/ct.nii.gz", None),  # name patterns look at file names only
        ("segmentation.nii.gz", None),
    ],
)
def test_default_patterns(path: str, pattern: str | None) -> None:
    assert MaskRule().match(Path("/data") / path, Path("/data")) == pattern


def test_custom_patterns_replace_the_defaults() -> None:
    rule = MaskRule.from_patterns(["*-seg.nii.gz", "masks/*"])
    base = Path("/data")
    assert rule.match(base / "BraTS-GLI-00000-000-seg.nii.gz", base) == "*-seg.nii.gz"
    assert rule.match(base / "site" / "masks" / "a.nii", base) == "masks/*"
    assert rule.match(base / "labelsTr" / "a.nii", base) is None
    assert MaskRule.from_patterns([]).match(base / "a_seg.nii", base) is None


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Scans and label maps in an nnU-Net-like tree, plus a mask named as such."""
    root = tmp_path / "data"
    write_nifti(root / "imagesTr" / "case_001_0000.nii.gz", seed=1)
    write_labels(root / "labelsTr" / "case_001.nii.gz")
    write_labels(root / "extra" / "liver_mask.nii.gz", dtype=np.float32, highest=300, seed=2)
    return root


def test_masks_are_found_and_stored_as_unsigned_labels(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = convert_dataset(dataset, out, workers=1, progress=False)
    assert summary.ok
    image = MLArray.open(out / "imagesTr" / "case_001_0000.mla")
    assert (image.meta.is_seg.value, image.dtype) == (None, np.int16)
    labels = MLArray.open(out / "labelsTr" / "case_001.mla")
    assert (labels.meta.is_seg.value, labels.dtype) == (True, np.uint8)
    np.testing.assert_array_equal(
        labels.to_numpy(), np.asanyarray(nib.load(dataset / "labelsTr" / "case_001.nii.gz").dataobj)
    )
    wide = MLArray.open(out / "extra" / "liver_mask.mla")
    assert (wide.meta.is_seg.value, wide.dtype) == (True, np.uint16)
    # The layout of one-byte label data: LZ4HC without shuffle (core's choice for bytes).
    byte_layout = MLArray.asarray(np.zeros((8, 8, 8), np.uint8)).meta.blosc2.cparams
    assert labels.meta.blosc2.cparams == byte_layout
    assert image.meta.blosc2.cparams != byte_layout


def test_seg_makes_every_input_a_label_map(dataset: Path, tmp_path: Path) -> None:
    summary = convert_dataset(dataset, tmp_path / "out", workers=1, progress=False, is_seg=True)
    (failure,) = summary.failed  # the CT holds negative values: not labels
    assert failure.source.endswith("case_001_0000.nii.gz")
    assert "found the negative value" in (failure.error or "")
    assert len(summary.converted) == 2
    as_images = convert_dataset(
        dataset, tmp_path / "images", workers=1, progress=False, is_seg=False
    )
    assert as_images.ok
    assert MLArray.open(tmp_path / "images" / "labelsTr" / "case_001.mla").dtype == np.int16


def test_a_detected_mask_that_is_not_labels_names_the_pattern(tmp_path: Path) -> None:
    probabilities = np.full((4, 4, 4), 0.25, np.float32)
    (tmp_path / "data").mkdir()
    nib.save(nib.Nifti1Image(probabilities, np.eye(4)), tmp_path / "data" / "tumor_mask.nii")
    summary = convert_dataset(tmp_path / "data", tmp_path / "out", workers=1, progress=False)
    (failure,) = summary.failed
    assert (failure.error or "").endswith(
        "found the fractional value 0.25 (a label map holds integers >= 0); it is a label map "
        "because its path matches '*mask*' (--seg-pattern chooses which files are label maps)"
    )
    again = convert_dataset(
        tmp_path / "data", tmp_path / "out", workers=1, progress=False, seg_patterns=[]
    )
    assert again.ok


def test_cli_seg_options(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_labels(dataset / "BraTS-GLI-00001-000-seg.nii.gz")
    args = ["convert", str(dataset), str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    assert main([*args, "--seg-pattern", "*-seg.nii.gz", "--seg-pattern", "extra/*"]) == 0
    out = tmp_path / "out"
    assert MLArray.open(out / "BraTS-GLI-00001-000-seg.mla").meta.is_seg.value is True
    assert MLArray.open(out / "extra" / "liver_mask.mla").meta.is_seg.value is True
    assert MLArray.open(out / "labelsTr" / "case_001.mla").meta.is_seg.value is None
    capsys.readouterr()

    single = dataset / "labelsTr" / "case_001.nii.gz"
    assert main(["convert", str(single), str(tmp_path / "one.mla")]) == 0
    assert f"{single} -> {tmp_path / 'one.mla'} (label map, " in capsys.readouterr().out
    assert MLArray.open(tmp_path / "one.mla").dtype == np.uint8
    labels = tmp_path / "prediction.nii.gz"
    write_labels(labels)
    probabilities = tmp_path / "organ_mask.nii"
    nib.save(nib.Nifti1Image(np.full((3, 3, 3), 0.5, np.float32), np.eye(4)), probabilities)
    assert main(["convert", str(probabilities), str(tmp_path / "organ.mla")]) == 1
    assert "because its path matches '*mask*'" in capsys.readouterr().err
    result = run_mlarray("convert", labels, tmp_path / "prediction.mla", "--seg")
    assert result.returncode == 0, result.stderr
    info = run_mlarray("info", tmp_path / "prediction.mla")
    assert "segmentation:    True" in info.stdout
