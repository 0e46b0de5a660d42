"""The state of an MLArray is the type of its backing, as docs/architecture.md tabulates.

The table's rows are read from the page, so that the page and the code cannot
drift apart (the remote row is checked in tests/remote/test_backing.py).
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MLArrayFileError, ReadOnlyError

PAGE = Path(__file__).parents[2] / "docs" / "architecture.md"


def documented_backings() -> dict[str, str]:
    """State -> backing type, from the table of docs/architecture.md."""
    rows = re.findall(r"^\| ([^|]+?) \| `(\w+)` \|", PAGE.read_text(), flags=re.MULTILINE)
    return dict(rows)


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "a.mla"
    MLArray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)).save(path)
    return path


MAKERS: dict[str, Callable[[Path], MLArray]] = {
    "metadata only, or closed": lambda tmp: MLArray(),
    "NumPy in memory": lambda tmp: MLArray(np.zeros((2, 3)), compressed=False),
    "Blosc2 in memory": lambda tmp: MLArray.zeros((2, 3), np.uint8),
    "Blosc2 reading a loaded file's bytes": lambda tmp: MLArray.load(_saved(tmp)),
    "local file, read-only": lambda tmp: MLArray.open(_saved(tmp)),
    "local file, copy-on-write": lambda tmp: MLArray.open(_saved(tmp), mmap_mode="c"),
    "local file, writable": lambda tmp: MLArray.create(tmp / "new.mla", (2, 3), np.uint8),
}


def test_the_page_lists_every_state() -> None:
    assert set(documented_backings()) == {*MAKERS, "remote file"}


@pytest.mark.parametrize("state", sorted(MAKERS))
def test_each_state_has_its_documented_backing(state: str, tmp_path: Path) -> None:
    image = MAKERS[state](tmp_path)
    assert type(image._backing).__name__ == documented_backings()[state]
    image.close()
    assert type(image._backing).__name__ == documented_backings()["metadata only, or closed"]


def test_writes_move_between_states(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    loaded = MLArray.load(path)
    loaded[0, 0, 0] = 7  # the loaded bytes are borrowed: the write copies them
    assert type(loaded._backing).__name__ == documented_backings()["Blosc2 in memory"]
    assert loaded[0, 0, 0] == 7
    copied = MLArray.open(path, mmap_mode="c")
    copied[0, 0, 0] = 9  # stays a copy-on-write file; the file is unchanged
    assert type(copied._backing).__name__ == documented_backings()["local file, copy-on-write"]
    assert copied.filepath == str(path)
    assert MLArray.open(path)[0, 0, 0] == 0
    assert pickle.loads(pickle.dumps(copied))[0, 0, 0] == 9  # a written copy travels as data
    with pytest.raises(ReadOnlyError, match="opened read-only"):
        MLArray.open(path)[0, 0, 0] = 1
    decompressed = MLArray.open(path)
    decompressed.decompress()
    assert type(decompressed._backing).__name__ == documented_backings()["NumPy in memory"]
    assert decompressed.filepath is None


def test_a_created_file_refuses_to_pickle(tmp_path: Path) -> None:
    with MLArray.create(tmp_path / "c.mla", (2, 3), np.uint8) as image:
        image[0, 0] = 1
        with pytest.raises(MLArrayFileError, match="opened for writing cannot be pickled"):
            pickle.dumps(image)
