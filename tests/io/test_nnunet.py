"""nnU-Net raw datasets: to one .mla per case (channels first) and labels, and back bit for bit."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mlarray import MLArray
from mlarray.cli import main
from mlarray_io.nnunet import export_nnunet, import_nnunet, is_nnunet_mla, is_nnunet_raw
from tests.io._conversion import all_files

DESCRIPTION = {
    "name": "Sample",
    "channel_names": {"0": "T1", "1": "T1-smoothed"},
    "labels": {"background": 0, "tissue": 1, "bright": 2},
    "numTraining": 2,
    "file_ending": ".nii.gz",
    "licence": "nibabel test data",
}


def write_case(folder: Path, case: str, scan: nib.Nifti1Image) -> None:
    """Two channels of one scan (the second float32, scaled) and a label map, on its grid."""
    values = np.asanyarray(scan.dataobj)
    smooth = nib.Nifti1Image((values * 0.5).astype(np.float32), scan.affine, scan.header)
    smooth.header.set_data_dtype(np.float32)
    nib.save(smooth, folder / "imagesTr" / f"{case}_0001.nii.gz")
    labels = np.digitize(values, np.percentile(values, [60, 90])).astype(np.uint8)
    label_map = nib.Nifti1Image(labels, scan.affine)
    label_map.header.set_qform(scan.affine, code=1)
    nib.save(label_map, folder / "labelsTr" / f"{case}.nii.gz")


@pytest.fixture
def raw(tmp_path: Path, nibabel_data: Path) -> Path:
    """A two-channel dataset made of nibabel's real scans: two training cases, one test case."""
    folder = tmp_path / "Dataset001_Sample"
    for name in ("imagesTr", "labelsTr", "imagesTs"):
        (folder / name).mkdir(parents=True)
    # Channel 0 of the first case is the real file, byte for byte (big-endian int16).
    anatomical = (nibabel_data / "anatomical.nii").read_bytes()
    (folder / "imagesTr" / "anat_000_0000.nii.gz").write_bytes(gzip.compress(anatomical))
    write_case(folder, "anat_000", nib.load(nibabel_data / "anatomical.nii"))
    # The second: the first volume of the 4D example, stored as uint16 with an intercept.
    example = nib.load(nibabel_data / "example4d.nii.gz")
    volume = np.asanyarray(example.dataobj)[..., 0]
    scaled = nib.Nifti1Image(volume.astype(np.uint16) + 1024, example.affine)
    scaled.header["scl_slope"], scaled.header["scl_inter"] = 1.0, -1024.0
    scaled.header.set_qform(example.affine, code=1)
    nib.save(scaled, folder / "imagesTr" / "ex4d_001_0000.nii.gz")
    write_case(folder, "ex4d_001", nib.load(folder / "imagesTr" / "ex4d_001_0000.nii.gz"))
    # A test case without label.
    moved = nib.load(nibabel_data / "reoriented_anat_moved.nii")
    nib.save(moved, folder / "imagesTs" / "moved_002_0000.nii.gz")
    write_case(folder, "moved_002", moved)
    (folder / "imagesTr" / "moved_002_0001.nii.gz").rename(
        folder / "imagesTs" / "moved_002_0001.nii.gz"
    )
    (folder / "labelsTr" / "moved_002.nii.gz").unlink()
    (folder / "dataset.json").write_text(json.dumps(DESCRIPTION, indent=4))
    return folder


def test_layout_and_metadata(raw: Path, tmp_path: Path, nibabel_data: Path) -> None:
    assert is_nnunet_raw(raw)
    out = tmp_path / "out"
    summary = import_nnunet(raw, out, workers=1, progress=False)
    assert summary.ok, summary.failed
    assert all_files(out) == [
        "dataset.json", "imagesTr", "imagesTr/anat_000.mla", "imagesTr/ex4d_001.mla",
        "imagesTs", "imagesTs/moved_002.mla", "labelsTr", "labelsTr/anat_000.mla",
        "labelsTr/ex4d_001.mla",
    ]  # fmt: skip
    image = MLArray.open(out / "imagesTr" / "anat_000.mla")
    scan = nib.load(nibabel_data / "anatomical.nii")
    assert image.shape == (2, 33, 41, 25)
    assert image.meta.spatial.axis_labels == ["channel", "spatial_x", "spatial_y", "spatial_z"]
    assert image.meta.extra["channel_names"] == ["T1", "T1-smoothed"]
    assert image.meta.is_seg.value is False
    np.testing.assert_allclose(image.affine, scan.affine, atol=1e-6)
    np.testing.assert_array_equal(image[0], np.asanyarray(scan.dataobj))
    assert image.dtype == np.float32  # int16 and float32 channels, every value exact
    assert image.meta.stats.max == pytest.approx(float(np.asanyarray(scan.dataobj).max()))
    labels = MLArray.open(out / "labelsTr" / "anat_000.mla")
    assert labels.meta.is_seg.value is True
    assert labels.dtype == np.uint8
    assert labels.meta.extra["labels"] == DESCRIPTION["labels"]
    assert labels.meta.bbox.labels == [1, 2]
    np.testing.assert_allclose(labels.affine, image.affine, atol=1e-6)
    assert MLArray.open(out / "imagesTr" / "ex4d_001.mla").dtype == np.float32
    described = json.loads((out / "dataset.json").read_text())
    assert described == {
        **DESCRIPTION,
        "file_ending": ".mla",
        "dataset": {
            "anat_000": {"images": ["imagesTr/anat_000.mla"], "label": "labelsTr/anat_000.mla"},
            "ex4d_001": {"images": ["imagesTr/ex4d_001.mla"], "label": "labelsTr/ex4d_001.mla"},
        },
    }
    assert is_nnunet_mla(out)
    assert not is_nnunet_raw(out)


def test_round_trip_is_bit_exact(raw: Path, tmp_path: Path) -> None:
    out, back = tmp_path / "out", tmp_path / "back"
    assert main(["convert", str(raw), str(out), "--no-progress", "--workers", "1"]) == 0
    assert main(["convert", str(out), str(back), "--to", "nnunet", "--no-progress"]) == 0
    written = [name for name in all_files(back) if name != "conversion-summary.json"]
    assert written == all_files(raw)
    assert json.loads((back / "dataset.json").read_text()) == DESCRIPTION
    for path in sorted(raw.glob("*/*.nii.gz")):
        original, written = nib.load(path), nib.load(back / path.relative_to(raw))
        assert written.get_data_dtype() == original.get_data_dtype(), path.name
        np.testing.assert_array_equal(
            np.asanyarray(written.dataobj.get_unscaled()),
            np.asanyarray(original.dataobj.get_unscaled()),
        )
        assert (written.dataobj.slope, written.dataobj.inter) == (
            original.dataobj.slope,
            original.dataobj.inter,
        )
        np.testing.assert_array_equal(written.affine, original.affine)
        np.testing.assert_array_equal(written.header.get_qform(), original.header.get_qform())
        if path.parent.name.startswith("images"):  # the whole header of every channel
            assert written.header.binaryblock == original.header.binaryblock, path.name


def test_reruns_and_bad_cases(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_nnunet(raw, out, workers=1, progress=False)
    again = import_nnunet(raw, out, workers=1, progress=False)
    assert again.reasons("skipped") == {"up to date": 5}
    (raw / "imagesTr" / "ex4d_001_0001.nii.gz").unlink()
    changed = import_nnunet(raw, out, workers=1, progress=False, patch_size=16)
    (failure,) = changed.failed
    assert "case 'ex4d_001' lacks channel files ['ex4d_001_0001.nii.gz']" in (failure.error or "")
    assert changed.reasons("converted") == {"options changed": 4}
    other = tmp_path / "Dataset002_Mixed"
    (other / "imagesTr").mkdir(parents=True)
    for index, name in enumerate(("anat_000_0000.nii.gz", "ex4d_001_0000.nii.gz")):
        (other / "imagesTr" / f"case_{index:04d}.nii.gz").write_bytes(
            (raw / "imagesTr" / name).read_bytes()
        )
    (other / "dataset.json").write_text(json.dumps(DESCRIPTION))
    mixed = import_nnunet(other, tmp_path / "mixed", workers=1, progress=False)
    (failure,) = mixed.failed
    assert "case_0001.nii.gz: case 'case' channel has shape (128, 96, 24)" in (failure.error or "")
    assert json.loads((tmp_path / "mixed" / "dataset.json").read_text())["dataset"] == {}


def test_what_is_not_an_nnunet_dataset(raw: Path, tmp_path: Path) -> None:
    (raw / "dataset.json").write_text(json.dumps({**DESCRIPTION, "dataset": {}}))
    with pytest.raises(RuntimeError, match="'dataset' key are not supported"):
        import_nnunet(raw, tmp_path / "out", progress=False)
    with pytest.raises(RuntimeError, match=r"not an nnU-Net dataset of \.mla files"):
        export_nnunet(raw, tmp_path / "back", progress=False)
    assert main(["convert", str(raw), str(tmp_path / "x"), "--to", "nnunet", "--seg"]) == 1
    (raw / "dataset.json").write_text("{not json")
    with pytest.raises(RuntimeError, match=r"dataset\.json: cannot read the nnU-Net dataset"):
        import_nnunet(raw, tmp_path / "out", progress=False)


def test_recorded_file_names_cannot_leave_the_output_folder(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_nnunet(raw, out, workers=1, progress=False)
    path = out / "imagesTs" / "moved_002.mla"
    image = MLArray.open(path, mmap_mode="r+")
    channels = image.meta.source["nnunet"]["channels"]
    channels[0]["file"] = "../../escaped.nii.gz"
    channels[1]["file"] = ".hidden.nii.gz"
    image.meta.source["nnunet"] = {**image.meta.source["nnunet"], "channels": channels}
    image.close()
    assert export_nnunet(out, tmp_path / "back", workers=1, progress=False).ok
    assert sorted(p.name for p in (tmp_path / "back" / "imagesTs").iterdir()) == [
        "moved_002_0000.nii.gz",
        "moved_002_0001.nii.gz",
    ]
    assert not (tmp_path / "escaped.nii.gz").exists()
