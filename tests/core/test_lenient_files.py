"""Files holding values 0.0.54 accepts but mlarray does not write: they open, whole.

The files carry only the legacy entry (as 0.0.54 writes them): its gzip pickle may
hold NaN and non-string keys, which JSON cannot.
"""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MetaCompatibilityWarning, MLArray
from mlarray_meta.codec import encode_legacy

DATA = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)


@pytest.fixture
def legacy_file(tmp_path: Path) -> Path:
    """A file as 0.0.54 writes it, with a NaN statistic, a zero spacing and an int key."""
    path = tmp_path / "legacy.mla"
    MLArray(DATA).save(path)
    mapping = MLArray.open(path).meta.to_mapping()
    mapping["stats"]["std"] = float("nan")
    mapping["spatial"]["spacing"] = [1.0, 0.0, 2.0]
    mapping["spatial"]["axis_units"] = ["", "mm", "mm"]
    mapping["source"] = {"data": {"PatientID": "p1", 7: "seven"}}
    stored = blosc2.open(str(path), mode="a")
    del stored.schunk.vlmeta["mla"]
    stored.schunk.vlmeta["mlarray"] = encode_legacy(mapping)
    del stored
    return path


def _read(reader: Any, path: Path) -> tuple[MLArray, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = reader(path)
        image[0, 0, 0]  # attaching the data does not warn again
    assert all(w.category is MetaCompatibilityWarning for w in caught)
    assert all(w.filename == __file__ for w in caught), "the warning points at the caller"
    return image, sorted(str(w.message).split(": ")[1] for w in caught)


@pytest.mark.parametrize(
    "reader",
    [MLArray.open, MLArray.load, MLArray, lambda p: MLArray.open(p, mmap_mode="r+")],
    ids=["open", "load", "constructor", "open_r+"],
)
def test_every_value_is_kept_with_one_warning_per_field(legacy_file: Path, reader: Any) -> None:
    image, fields = _read(reader, legacy_file)
    assert fields == ["meta.source", "meta.spatial.spacing[1]", "meta.stats.std"]
    assert math.isnan(image.meta.stats.std)
    assert image.spacing == [1.0, 0.0, 2.0]
    assert image.meta.spatial.axis_units == ["", "mm", "mm"]
    assert image.meta.source.value == {"PatientID": "p1", 7: "seven"}
    np.testing.assert_array_equal(image[...], DATA)
    before = legacy_file.read_bytes()
    image.close()  # nothing changed: nothing written, nothing refused
    assert legacy_file.read_bytes() == before


def test_closing_an_edited_writable_open_refuses_the_values(legacy_file: Path) -> None:
    image, _ = _read(lambda p: MLArray.open(p, mmap_mode="r+"), legacy_file)
    image.meta.extra["reviewed"] = True
    with pytest.raises(TypeError, match=r"meta\.source: mapping keys must be strings"):
        image.close()
    image.meta.source = {"PatientID": "p1"}
    image.meta.stats.std = 0.5
    image.spacing = [1.0, 1.0, 2.0]
    image.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reread = MLArray.open(legacy_file)
    assert (reread.meta.extra["reviewed"], reread.meta.stats.std) == (True, 0.5)


def test_saving_refuses_until_the_values_are_changed(legacy_file: Path, tmp_path: Path) -> None:
    image, _ = _read(MLArray.load, legacy_file)
    target = tmp_path / "out.mla"
    with pytest.raises(TypeError, match=r"meta\.source: mapping keys must be strings"):
        image.save(target)
    image.meta.source = {"PatientID": "p1", "7": "seven"}
    with pytest.raises(ValueError, match=r"meta\.spatial\.spacing\[1\]: expected a value > 0"):
        image.save(target)
    assert not target.exists()
    image.spacing = [1.0, 1.0, 2.0]
    image.meta.stats.std = None
    image.save(target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reread = MLArray.open(target)
    assert reread.meta.spatial.axis_units == ["", "mm", "mm"], "empty units are written"
    np.testing.assert_array_equal(reread[...], DATA)


def test_pickled_images_keep_the_values(legacy_file: Path) -> None:
    for reader in (MLArray.open, MLArray.load):
        image, _ = _read(reader, legacy_file)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            clone = pickle.loads(pickle.dumps(image))
        assert math.isnan(clone.meta.stats.std)
        assert clone.meta.source.value == {"PatientID": "p1", 7: "seven"}
        np.testing.assert_array_equal(clone[...], DATA)
