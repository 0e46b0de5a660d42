"""The napari page's examples (docs/examples/napari/) run, here where napari is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_docs_examples import EXAMPLES_DIR, ROOT, included_files, run_python

NAPARI_EXAMPLES = sorted((EXAMPLES_DIR / "napari").glob("*.py"))


def test_examples_found() -> None:
    assert NAPARI_EXAMPLES


@pytest.mark.parametrize("example", NAPARI_EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_is_shown(example: Path, tmp_path: Path) -> None:
    assert f"napari/{example.name}" in included_files()
    run_python([str(example)], tmp_path, str(example.relative_to(ROOT)))
