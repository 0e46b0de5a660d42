"""Files written by ``mlarray`` 0.0.54 open in ours with every field and the array intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlarray import MLArray
from mlarray._verify import verify_file
from mlarray_meta.header import read_header_mapping
from tests.interop.conftest import RunLegacy

CASES = [
    "spatial",
    "rich",
    "channels",
    "affine",
    "segmentation_2d",
    "manual_layout",
    "boolean",
    "metadata_only",
    "edited",
]
READERS = {
    "open": lambda path: MLArray.open(path),
    "open_r+": lambda path: MLArray.open(path, mmap_mode="r+"),
    "load": lambda path: MLArray.load(path),
    "load_numpy": lambda path: MLArray.load(path, compressed=False),
    "constructor": lambda path: MLArray(path),
}
# Sections that the reader records from the array it opened rather than from the file.
LAYOUT_KEYS = ("chunk_size", "block_size", "patch_size")


@pytest.fixture(scope="module")
def written(
    tmp_path_factory: pytest.TempPathFactory, run_legacy: RunLegacy
) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("legacy-written")
    report = run_legacy("legacy_write.py", folder)
    return folder, report


def test_every_case_was_written(written: tuple[Path, dict[str, Any]]) -> None:
    folder, report = written
    assert sorted(report) == sorted(CASES)
    assert sorted(p.stem for p in folder.glob("*.mla")) == sorted(CASES)


def _assert_same_meta(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    ours, theirs = dict(ours), dict(theirs)
    ours_blosc2, theirs_blosc2 = ours.pop("blosc2"), theirs.pop("blosc2")
    for key in LAYOUT_KEYS:
        assert ours_blosc2[key] == theirs_blosc2[key], key
    if theirs_blosc2["cparams"] is not None:
        for key, value in theirs_blosc2["cparams"].items():
            assert ours_blosc2["cparams"][key] == value, key
    assert ours_blosc2["dparams"] == theirs_blosc2["dparams"]
    # 0.0.54 maps this single-key section to its bare value; ours keeps the section form.
    assert ours.pop("_mlarray_version") == {"mlarray_version": theirs.pop("_mlarray_version")}
    assert ours == theirs


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", CASES)
def test_ours_reads_every_field_and_the_array(
    written: tuple[Path, dict[str, Any]], case: str, reader: str, tmp_path: Path
) -> None:
    folder, report = written
    path = tmp_path / f"{case}.mla"
    before = (folder / f"{case}.mla").read_bytes()
    path.write_bytes(before)
    image = READERS[reader](path)
    _assert_same_meta(image.meta.to_mapping(), report[case]["meta"])
    if report[case]["has_array"]:
        expected = np.load(folder / f"{case}.npy")
        got = image[...]
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        assert image.shape == expected.shape
    else:
        assert image.shape is None
        with pytest.raises(TypeError, match="no array"):
            image.to_numpy()
    image.close()
    if reader != "open_r+":
        assert path.read_bytes() == before, "reading never modifies the file"
        return
    # Closing a writable open rewrites the metadata in our format, losslessly.
    assert read_header_mapping(path).origin == "mla"
    _assert_same_meta(
        MLArray.open(path).meta.to_mapping(),
        report[case]["meta"] | {"_mlarray_version": MLArray.open(path).meta._mlarray_version.value},
    )


@pytest.mark.parametrize("case", CASES)
def test_header_and_verify_on_legacy_files(written: tuple[Path, dict[str, Any]], case: str) -> None:
    folder, report = written
    path = folder / f"{case}.mla"
    header = read_header_mapping(path)
    assert header.origin == "legacy"
    assert header.meta["source"] == report[case]["meta"]["source"]
    report_ = verify_file(path)
    assert report_.ok, report_.problems
    assert not report_.checksums


def test_geometry_properties_of_legacy_files(written: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = written
    spatial = MLArray.open(folder / "spatial.mla")
    assert spatial.spacing == [0.8, 0.9, 2.5]
    assert spatial.origin == [-120.5, 33.0, 7.25]
    assert spatial.direction == [[0, 0, 1], [0, -1, 0], [1, 0, 0]]
    np.testing.assert_allclose(spatial.scale, [0.8, 0.9, 2.5])
    assert spatial.meta.source["PatientID"] == "legacy-1"

    rich = MLArray.open(folder / "rich.mla")
    assert rich.meta.is_seg.value is True
    assert rich.meta.bbox.scores == [0.91, 0.4]
    assert rich.meta.bbox.labels == ["lesion", 2]
    assert rich.meta.spatial.coord_system == "LPS"
    assert rich.meta.stats.percentile_max_key == 0.995

    channels = MLArray.open(folder / "channels.mla")
    assert channels.meta.spatial.axis_labels == ["channel", "spatial_x", "spatial_y", "spatial_z"]
    assert (channels.ndim, channels.spatial_ndim) == (4, 3)
    assert channels.meta.spatial.coord_system == "RAS+"

    affine = MLArray.open(folder / "affine.mla")
    assert affine.translation == [10.0, -20.0, 5.0]
    np.testing.assert_allclose(affine.scale, [0.7, 1.5, 2.0])

    edited = MLArray.open(folder / "edited.mla")
    assert edited.meta.source["PatientID"] == "edited-in-place"
    assert edited.spacing == [0.8, 0.9, 3.0]

    meta_only = MLArray.open(folder / "metadata_only.mla")
    assert meta_only.meta.bbox.labels == ["nodule"]
    assert meta_only.meta._has_array.value is False


def test_ours_rewrites_a_legacy_file_that_0054_still_reads(
    tmp_path: Path, written: tuple[Path, dict[str, Any]], run_legacy: RunLegacy
) -> None:
    folder, _ = written
    target = tmp_path / "rewritten"
    target.mkdir()
    path = target / "rich.mla"
    path.write_bytes((folder / "rich.mla").read_bytes())
    image = MLArray.open(path, mmap_mode="r+")
    image[0] = 0
    image.meta.source["touched_by"] = "mlarray-core"
    image.close()
    assert read_header_mapping(path).origin == "mla"
    assert verify_file(path).checksums

    seen = run_legacy("legacy_read.py", target)["rich"]
    assert "error" not in seen, seen
    for view in (seen["open"], seen["load"]):
        assert view["meta"]["source"]["data"]["touched_by"] == "mlarray-core"
        assert view["meta"]["bbox"]["labels"] == ["lesion", 2]
        expected = np.load(folder / "rich.npy")
        expected[0] = 0
        assert view["shape"] == list(expected.shape)
