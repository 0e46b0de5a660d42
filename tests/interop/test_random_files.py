"""Property tests: random files written by ``mlarray`` 0.0.54 read whole in ours, and back.

Every run builds the same seeded files (``random_meta``): 220 written by 0.0.54 in
its own interpreter and read by ours (every field equal to what 0.0.54 reads back
from its own file, values mlarray would not write kept with one warning per field),
and 220 written by ours with default settings and read by 0.0.54. Each direction
costs one subprocess.
"""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest

from mlarray import Meta, MetaCompatibilityWarning, MLArray
from mlarray_meta.header import read_header
from tests.interop.conftest import RunLegacy
from tests.interop.random_meta import build, case, digest

COUNT = 220
THEIRS_FIRST, OURS_FIRST = 0, 10_000
SEEDS_THEIRS = range(THEIRS_FIRST, THEIRS_FIRST + COUNT)
SEEDS_OURS = range(OURS_FIRST, OURS_FIRST + COUNT)


def _run_views(run_legacy: RunLegacy, folder: Path, *args: object) -> dict[str, Any]:
    run_legacy("legacy_random.py", *args)
    with open(folder / "legacy_view.pickle", "rb") as views:
        return pickle.load(views)  # written by the test's own script above


@pytest.fixture(scope="module")
def written_by_0054(tmp_path_factory: pytest.TempPathFactory, run_legacy: RunLegacy) -> Any:
    folder = tmp_path_factory.mktemp("random-0054")
    return folder, _run_views(run_legacy, folder, "write", folder, THEIRS_FIRST, COUNT)


@pytest.fixture(scope="module")
def written_by_ours(tmp_path_factory: pytest.TempPathFactory, run_legacy: RunLegacy) -> Any:
    folder = tmp_path_factory.mktemp("random-ours")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours never warns about its own values
        for seed in SEEDS_OURS:
            build(case(seed, legacy=False), MLArray, Meta, legacy=False).save(
                folder / f"{seed}.mla"
            )
    return folder, _run_views(run_legacy, folder, "read", folder)


def _plain(value: Any) -> Any:
    """0.0.54's view as ours reports it: tuples are lists (JSON has no tuples)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _same(ours: Any, theirs: Any, where: str = "meta") -> None:
    """Equal, type for type (NaN equals NaN; key order does not matter)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert set(ours) == set(theirs), (where, set(ours) ^ set(theirs))
        for key in theirs:
            _same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), (where, ours)
        assert len(ours) == len(theirs), (where, ours, theirs)
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            _same(mine, other, f"{where}[{index}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert isinstance(ours, float), (where, ours)
        assert math.isnan(ours), (where, ours)
    else:
        assert type(ours) is type(theirs), (where, ours, theirs)
        assert ours == theirs, (where, ours, theirs)


def _same_meta(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    ours, theirs = dict(ours), _plain(theirs)
    # 0.0.54 maps this single-key section to its bare value.
    assert ours.pop("_mlarray_version") == {"mlarray_version": theirs.pop("_mlarray_version")}
    ours_blosc2, theirs_blosc2 = ours.pop("blosc2"), theirs.pop("blosc2")
    for key in ("chunk_size", "block_size", "patch_size", "dparams"):
        _same(ours_blosc2[key], theirs_blosc2[key], f"meta.blosc2.{key}")
    for key, value in (theirs_blosc2["cparams"] or {}).items():
        _same(ours_blosc2["cparams"][key], value, f"meta.blosc2.cparams.{key}")
    _same(ours, theirs)


def _warned_fields(caught: list[warnings.WarningMessage], path: Path) -> set[str]:
    fields = set()
    for warning in caught:
        assert warning.category is MetaCompatibilityWarning, warning.message
        text = str(warning.message)
        assert text.startswith(f"{path}: meta."), text
        field = text[len(f"{path}: ") :].split(":", 1)[0].split("[", 1)[0]
        fields.add(field)
    return fields


@pytest.mark.parametrize("seed", SEEDS_THEIRS)
def test_ours_reads_what_0054_wrote(written_by_0054: Any, seed: int) -> None:
    folder, views = written_by_0054
    seen = views[str(seed)]
    assert "error" not in seen, seen
    spec = case(seed, legacy=True)
    path = folder / f"{seed}.mla"
    for reader in (MLArray.open, MLArray.load, read_header):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = reader(path)
        assert _warned_fields(caught, path) == spec["tolerated"], reader
        _same_meta(image.meta.to_mapping(), seen["load"]["meta"])
        _same_meta(image.meta.to_mapping(), seen["open"]["meta"])
        if reader is read_header:
            continue
        if seen["load"]["array"] is None:
            assert image.shape is None
            assert (image.ndim, image.spatial_ndim) == _0054_ndims(seen["load"]["meta"])
        else:
            assert digest(image[...]) == seen["load"]["array"] == seen["open"]["array"]


def _0054_ndims(meta: dict[str, Any]) -> tuple[int | None, int | None]:
    """What 0.0.54 reports as ndim and spatial_ndim for metadata only."""
    spatial = meta["spatial"]
    if spatial["axis_labels"] is not None:
        return len(spatial["axis_labels"]), spatial["_num_spatial_axes"]
    for name in ("spacing", "origin", "direction"):
        if spatial[name] is not None:
            return len(spatial[name]), len(spatial[name])
    if spatial["affine"] is not None:
        return len(spatial["affine"]) - 1, len(spatial["affine"]) - 1
    return None, None


@pytest.mark.parametrize("seed", SEEDS_OURS)
def test_0054_reads_what_ours_wrote(written_by_ours: Any, seed: int) -> None:
    folder, views = written_by_ours
    seen = views[str(seed)]
    assert "error" not in seen, seen
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = MLArray.open(folder / f"{seed}.mla")
        ours = image.meta.to_mapping()
        data = None if image.shape is None else digest(image[...])
    for how in ("load", "open"):
        theirs = dict(seen[how]["meta"])
        assert isinstance(theirs.pop("_mlarray_version"), str)  # 0.0.54 reports its own
        theirs["_mlarray_version"] = ours["_mlarray_version"]["mlarray_version"]
        _same_meta(ours, theirs)
        assert seen[how]["array"] == data


def test_the_files_cover_what_the_issue_asks_for() -> None:
    """The seeds above hit every kind of value at least once (a guard on the generator)."""
    specs = [case(seed, legacy=True) for seed in SEEDS_THEIRS]
    labels = {label for spec in specs for label in spec["axis_labels"] or ()}
    assert {"spatial", "spatial_x", "spatial_y", "spatial_z", "channel", "temporal"} <= labels
    assert {"non_spatial", "continuous", "components", ""} <= labels
    units = {
        unit
        for spec in specs
        if isinstance(spec["axis_units"], list)
        for unit in spec["axis_units"]
    }
    assert {"", "µm", "秒"} <= units
    assert {spec["dtype"] for spec in specs} >= {"bool", "uint64", "float16", "complex128", "<U3"}
    assert {len(spec["shape"]) for spec in specs if spec["shape"]} == {2, 3, 4}
    assert sum(spec["shape"] is None for spec in specs) >= 10
    assert {spec["coord_system"] for spec in specs} >= {"scanner", "MNI152", "LPS+"}
    boxes = [spec["bbox"] for spec in specs if spec["bbox"].get("bboxes")]
    assert any("scores" in b and "labels" in b for b in boxes)
    assert any("scores" not in b and "labels" not in b for b in boxes)
    assert sum(bool(spec["stats"]) for spec in specs) >= 100
    tolerated = set().union(*(spec["tolerated"] for spec in specs))
    assert {
        "meta.spatial.spacing",
        "meta.source",
        "meta.bbox.bboxes",
        "meta.spatial.axis_units",
    } <= tolerated
    spatial = ("spatial", "spatial_x", "spatial_y", "spatial_z")
    assert any(
        spec["shape"]
        and len(spec["shape"]) == 4
        and set(spec["axis_labels"] or spatial) - set(spatial)
        for spec in specs
    ), "a 4D array with a non-spatial axis"
