"""Files written by ours open in ``mlarray`` 0.0.54 with every field and the array intact.

0.0.54 refuses metadata keys it does not know, so a file it opens with the same
``Meta.to_mapping()`` as ours proves that our legacy entry is compatible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import Meta, MLArray, config
from mlarray._verify import verify_file
from mlarray_meta.header import read_header_mapping
from tests.interop.conftest import RunLegacy
from tests.interop.legacy_write import RICH_META


def _values(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.random.default_rng(sum(shape)).integers(0, 120, shape).astype(dtype)


def spatial(path: Path) -> MLArray:
    image = MLArray(
        _values((24, 32, 40), "float32"),
        spacing=(0.8, 0.9, 2.5),
        origin=(-120.5, 33.0, 7.25),
        direction=[[0, 0, 1], [0, -1, 0], [1, 0, 0]],
        meta={"PatientID": "ours-1", "Modality": "MR", "window": [40, 400]},
    )
    image.save(path)
    return image


def rich(path: Path) -> MLArray:
    meta = Meta(**RICH_META)
    image = MLArray(_values((16, 20, 24), "int16"), spacing=(1.0, 1.0, 3.0), meta=meta)
    image.meta.spatial.coord_system = "LPS"
    image.save(path)
    return image


def channels(path: Path) -> MLArray:
    image = MLArray(
        _values((3, 12, 14, 16), "float32"),
        spacing=(1.5, 1.5, 1.5),
        origin=(0.0, 0.0, 0.0),
        axis_labels=["channel", "spatial_x", "spatial_y", "spatial_z"],
        meta={"channels": ["t1", "t2", "flair"]},
    )
    image.meta.spatial.coord_system = "RAS+"
    image.meta.spatial.axis_units = ["a.u.", "mm", "mm", "mm"]
    image.save(path)
    return image


def affine(path: Path) -> MLArray:
    matrix = [[0.0, 0.0, 2.0, 10.0], [0.0, 1.5, 0.0, -20.0], [0.7, 0.0, 0.0, 5.0], [0, 0, 0, 1]]
    image = MLArray(_values((10, 11, 12), "uint8"), affine=matrix)
    image.save(path)
    return image


def segmentation_2d(path: Path) -> MLArray:
    image = MLArray(
        _values((64, 48), "uint8") % 4,
        spacing=(0.5, 0.5),
        meta=Meta(is_seg=True, source={"labels": 4}),
    )
    image.save(path)
    return image


def manual_layout(path: Path) -> MLArray:
    image = MLArray(
        _values((20, 30, 40), "int32"),
        patch_size=None,
        chunk_size=(5, 30, 20),
        block_size=(5, 10, 10),
        cparams={"codec": blosc2.Codec.ZSTD, "clevel": 3},
    )
    image.save(path)
    return image


def boolean(path: Path) -> MLArray:
    image = MLArray(_values((9, 10, 11), "int8") % 2 == 0, meta={"kind": "mask"})
    image.save(path)
    return image


def uncompressed(path: Path) -> MLArray:
    image = MLArray(_values((8, 9, 10), "float64"), compressed=False, spacing=(1, 1, 1))
    image.save(path)
    return image


def created(path: Path) -> MLArray:
    image = MLArray.create(path, (12, 13, 14), np.int16, meta={"made": "create"})
    image[...] = _values((12, 13, 14), "int16")
    image.spacing = [2.0, 2.0, 2.0]
    image.close()
    return MLArray.load(path)


def metadata_only(path: Path) -> MLArray:
    meta = Meta(
        source={"model": "detector"},
        bbox={"bboxes": [[[1, 2], [3, 4], [5, 6]]], "scores": [0.5], "labels": ["nodule"]},
    )
    image = MLArray(meta=meta)
    image.save(path)
    return image


CASES: dict[str, Callable[[Path], MLArray]] = {
    "spatial": spatial,
    "rich": rich,
    "channels": channels,
    "affine": affine,
    "segmentation_2d": segmentation_2d,
    "manual_layout": manual_layout,
    "boolean": boolean,
    "uncompressed": uncompressed,
    "created": created,
    "metadata_only": metadata_only,
}


@pytest.fixture(scope="module")
def ours(
    tmp_path_factory: pytest.TempPathFactory, run_legacy: RunLegacy
) -> tuple[Path, dict[str, MLArray], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("ours-written")
    images = {name: make(folder / f"{name}.mla") for name, make in CASES.items()}
    return folder, images, run_legacy("legacy_read.py", folder)


def _digest(image: MLArray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image.to_numpy()).tobytes()).hexdigest()


@pytest.mark.parametrize("how", ["open", "load"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_0054_reads_every_field_and_the_array(
    ours: tuple[Path, dict[str, MLArray], dict[str, Any]], case: str, how: str
) -> None:
    folder, images, seen = ours
    assert "error" not in seen[case], seen[case]
    view = seen[case][how]
    reread = MLArray.open(folder / f"{case}.mla")
    expected = reread.meta.to_mapping()
    theirs = dict(view["meta"])
    # 0.0.54 reports its own format marker here, whatever the file says.
    assert isinstance(theirs.pop("_mlarray_version"), str)
    expected.pop("_mlarray_version")
    assert theirs == expected
    assert view["spacing"] == reread.spacing
    assert view["origin"] == reread.origin
    assert view["direction"] == reread.direction
    assert view["has_array"] is (reread.shape is not None)
    if reread.shape is not None:
        assert view["shape"] == list(images[case].shape)
        assert view["dtype"] == images[case].dtype.str
        assert view["sha256"] == _digest(images[case])


def test_the_written_fields_are_what_we_set(
    ours: tuple[Path, dict[str, MLArray], dict[str, Any]],
) -> None:
    _, _, seen = ours
    rich_meta = seen["rich"]["open"]["meta"]
    assert rich_meta["is_seg"] == {"is_seg": True}
    assert rich_meta["bbox"]["labels"] == ["lesion", 2]
    assert rich_meta["bbox"]["scores"] == [0.91, 0.4]
    assert rich_meta["spatial"]["coord_system"] == "LPS"
    assert rich_meta["extra"] == {"data": {"pipeline": "nnunet", "fold": 3}}
    channels_meta = seen["channels"]["load"]["meta"]["spatial"]
    assert channels_meta["axis_labels"] == ["channel", "spatial_x", "spatial_y", "spatial_z"]
    assert channels_meta["axis_units"] == ["a.u.", "mm", "mm", "mm"]
    assert seen["affine"]["open"]["meta"]["spatial"]["affine"][0] == [0.0, 0.0, 2.0, 10.0]
    assert seen["metadata_only"]["open"]["has_array"] is False
    assert seen["metadata_only"]["open"]["meta"]["bbox"]["labels"] == ["nodule"]
    assert seen["created"]["open"]["meta"]["source"] == {"data": {"made": "create"}}


def test_file_without_the_legacy_entry_is_refused_by_0054(
    tmp_path: Path, run_legacy: RunLegacy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "write_legacy_metadata", False)
    spatial(tmp_path / "json_only.mla")
    seen = run_legacy("legacy_read.py", tmp_path)["json_only"]
    assert "error" in seen
    assert seen["error"].startswith("KeyError")  # its vlmeta lookup of "mlarray"


def test_0054_edits_our_file_in_place_and_ours_sees_the_edit(
    tmp_path: Path, run_legacy: RunLegacy
) -> None:
    path = tmp_path / "edit.mla"
    image = rich(path)
    theirs = run_legacy("legacy_edit.py", path, "reviewer", "0.0.54")
    assert theirs["source"]["data"]["reviewer"] == "0.0.54"

    header = read_header_mapping(path)
    assert header.origin == "legacy", "0.0.54 rewrote only its entry: it is the current one"
    reread = MLArray.open(path)
    assert reread.meta.source["reviewer"] == "0.0.54"
    assert reread.meta.bbox.labels == ["lesion", 2]
    assert reread.meta.spatial.coord_system == "LPS"
    expected = image.to_numpy().copy()
    expected[0] = expected[0] * 2
    np.testing.assert_array_equal(reread[...], expected)
    # The checksums stay in force: verify names the edit, and the chunks it rewrote.
    report = verify_file(path)
    assert "holds other metadata, which is used: mlarray 0.0.54 edited" in report.problems[0]
    assert "does not match its checksum" in report.problems[1]

    # Our next writable close makes our envelope current again, edit included.
    writable = MLArray.open(path, mmap_mode="r+")
    writable.close()
    assert read_header_mapping(path).origin == "mla"
    assert MLArray.load(path).meta.source["reviewer"] == "0.0.54"
    assert verify_file(path).ok
