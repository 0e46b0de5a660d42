"""The documentation's examples run: every file under docs/examples/ exits 0.

Every code example on the site is a file in ``docs/examples/`` that a page
includes (pymdownx.snippets), so what the site shows is what these tests run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nibabel
import numpy as np
import pytest

import mlarray

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES_DIR = DOCS / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))
SNIPPET = re.compile(r'--8<--\s+"([^"]+?)(?::[^"]*)?"')  # pymdownx.snippets include
READMES = [
    ROOT / "README.md",
    *(
        ROOT / "packages" / name / "README.md"
        for name in ("mlarray-meta", "mlarray-core", "mlarray-io")
    ),
]
FENCED_PYTHON = re.compile(r"^[ \t]*```(?:python|py|pycon)\b[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def load_module(path: Path) -> ModuleType:
    """Import a file as a module registered in ``sys.modules`` (so it pickles)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def example_env() -> dict[str, str]:
    """This process's environment, with PYTHONPATH made absolute (examples run elsewhere)."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        entries = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) for e in entries if e)
    return env


def included_files() -> set[str]:
    """The snippet paths that the documentation pages include."""
    names: set[str] = set()
    for page in DOCS.rglob("*.md"):
        names.update(SNIPPET.findall(page.read_text(encoding="utf-8")))
    return names


def test_examples_found() -> None:
    assert len(EXAMPLES) >= 15, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example: Path, tmp_path: Path) -> None:
    run_python([str(example)], tmp_path, str(example.relative_to(ROOT)))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_is_shown_on_a_page(example: Path) -> None:
    assert example.name in included_files(), (
        f"{example.relative_to(ROOT)} is not included by any page under docs/"
    )


def test_pages_hold_no_untested_python() -> None:
    """Python blocks on the site are snippet includes of docs/examples/ files."""
    inline = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in FENCED_PYTHON.findall(page.read_text(encoding="utf-8")):
            if not all(SNIPPET.fullmatch(line.strip()) for line in block.strip().splitlines()):
                inline.append(f"{page.relative_to(ROOT)}: {block.strip()[:60]!r}")
    assert not inline, "move these examples into docs/examples/ and include them:\n" + "\n".join(
        inline
    )


def run_python(args: list[str], cwd: Path, name: str, shown: str = "") -> None:
    """Run ``python ARGS`` in ``cwd``; fail naming ``name`` with ``shown`` and its output."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=example_env(),
    )
    assert result.returncode == 0, (
        f"{name} exited {result.returncode}\n{shown}"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_examples_run(readme: Path, tmp_path: Path) -> None:
    """The Python blocks of each README (what PyPI shows) run, in order, as one script."""
    # The inputs the READMEs name: a NIfTI scan and a .mla file.
    sample = Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii"
    nibabel.save(nibabel.load(sample), tmp_path / "scan.nii.gz")
    mlarray.MLArray(np.zeros((8, 8, 8), np.int16), spacing=[1, 1, 1]).save(tmp_path / "scan.mla")
    blocks = PYTHON_BLOCK.findall(readme.read_text(encoding="utf-8"))
    assert blocks, f"{readme} has no Python example"
    code = "\n".join(blocks)
    run_python(["-c", code], tmp_path, str(readme.relative_to(ROOT)), f"--- code\n{code}\n")


def test_cli_transcripts_are_current(tmp_path: Path) -> None:
    """docs/examples/cli/*.txt hold what the commands print today."""
    capture = load_module(ROOT / "tools" / "capture_cli_docs.py")
    version = mlarray.__version__
    for name, text in capture.capture(tmp_path).items():
        stored = (EXAMPLES_DIR / "cli" / f"{name}.txt").read_text(encoding="utf-8")
        assert capture.normalise(stored, version) == capture.normalise(text, version), (
            f"docs/examples/cli/{name}.txt is stale: run python tools/capture_cli_docs.py"
        )
        assert f"cli/{name}.txt" in included_files()
