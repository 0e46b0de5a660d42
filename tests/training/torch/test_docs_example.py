"""docs/training.md's example, run with PyTorch: its DataLoader branch, two workers.

(``tests/integration/test_docs_examples.py`` runs it where PyTorch is absent.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "training_loop.py"


def test_training_example_with_a_dataloader(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-2].startswith("epoch 0: 10 batches, last from ['case_")
    assert lines[-1].startswith("epoch 1: 10 batches, last from ['case_")
    assert (tmp_path / "converted" / "labelsTr" / "case_000.mla").exists()
