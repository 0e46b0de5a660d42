"""A read-only handle refuses at close any edit of its metadata, also edits in place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray.errors import ReadOnlyError


def _volume() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((12, 14, 16)).astype("float32")


EDITS_IN_PLACE = {
    "nested list in source": lambda meta: meta.source["series"]["echo"].append(3),
    "nested dict in extra": lambda meta: meta.extra["tags"].update(b=2),
    "spacing element": lambda meta: meta.spatial.spacing.__setitem__(0, 9.0),
    "section replaced": lambda meta: setattr(meta, "extra", {"tags": {"a": 1}, "k": 0}),
}


@pytest.mark.parametrize("edit", EDITS_IN_PLACE.values(), ids=EDITS_IN_PLACE.keys())
def test_edits_in_place_of_nested_metadata_are_seen_at_close(
    tmp_path: Path, edit: Callable[[Meta], None]
) -> None:
    path = tmp_path / "nested.mla"
    meta = Meta(source={"series": {"echo": [1, 2]}}, extra={"tags": {"a": 1}})
    MLArray(_volume(), spacing=[1.0, 1.0, 2.0], meta=meta).save(path)
    MLArray.open(path).close()  # unchanged: closes quietly
    image = MLArray.open(path)
    edit(image.meta)
    with pytest.raises(ReadOnlyError, match="metadata was edited"):
        image.close()
