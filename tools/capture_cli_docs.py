"""Capture the real output of the ``mlarray`` command for the docs (docs/cli.md).

Runs the sample scripts ``docs/examples/cli_*sample.py`` in a temporary folder,
then the commands of :data:`TRANSCRIPTS` there, and writes
``docs/examples/cli/<name>.txt`` as terminal transcripts (``$ command`` followed
by its output). Run it after changing what the commands print::

    python tools/capture_cli_docs.py

``tests/integration/test_docs_examples.py`` runs the same capture and fails when
the stored transcripts are stale. ``mlarray convert`` comes from mlarray-io's
entry point; when mlarray-io is importable but not installed as a distribution
(sources on ``PYTHONPATH``), the capture declares that entry point itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
SAMPLES = (
    EXAMPLES / "cli_sample.py",
    EXAMPLES / "cli_convert_sample.py",
    EXAMPLES / "cli_nnunet_sample.py",
)
OUTPUT = EXAMPLES / "cli"

# transcript name -> the mlarray commands it shows, run in this order
TRANSCRIPTS: dict[str, list[list[str]]] = {
    "info": [["info", "ct.mla"]],
    "header": [["header", "ct.mla"]],
    "header-json": [["header", "ct.mla", "--json"]],
    "verify": [["verify", "ct.mla", "damaged.mla"]],
    "convert-file": [
        ["convert", "dataset/case_0.nii.gz", "case_0.mla"],
        ["convert", "case_0.mla", "case_0.nrrd"],
    ],
    "convert-dataset": [
        ["convert", "dataset", "converted", "--workers", "2", "--no-progress"],
        ["convert", "dataset", "converted", "--workers", "2", "--no-progress"],
    ],
    "convert-rerun": [
        ["convert", "dataset", "converted", "--no-progress", "--preset", "compact"],
    ],
    "convert-labels": [
        ["convert", "Dataset001_Brain/labelsTr/brain_000.nii.gz", "brain_000_labels.mla"],
        ["info", "brain_000_labels.mla"],
    ],
    "index": [
        ["index", "brain_000_labels.mla"],
        ["index", "brain_000_labels.mla", "--force", "--seed", "7", "--max-samples", "500"],
        ["index", "damaged.mla"],
    ],
    "convert-cast": [
        ["convert", "pred.mla", "pred.nii.gz"],
        ["convert", "pred.mla", "pred.nii.gz", "--cast", "float32"],
    ],
    "convert-nnunet": [
        ["convert", "Dataset001_Brain", "Dataset001_mla", "--workers", "2", "--no-progress"],
        ["info", "Dataset001_mla/imagesTr/brain_000.mla"],
        ["convert", "Dataset001_mla", "Dataset001_raw", "--to", "nnunet", "--no-progress"],
    ],
}

# What legitimately varies between runs: compressed sizes, ratios and durations.
_VARIABLE = re.compile(r"\d+(\.\d+)? (B|KiB|MiB|GiB)\b|ratio \d+(\.\d+)?x|\d+(\.\d+)? s\b")

_ENTRY_POINTS = """\
[mlarray.commands]
convert = mlarray_io.cli:register
demo = mlarray_io.demo:register
"""


def _env(workdir: Path) -> dict[str, str]:
    """This environment, PYTHONPATH made absolute, io's entry points declared if missing."""
    env = dict(os.environ)
    entries = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    entries = [str(Path(entry).resolve()) for entry in entries]
    if not any(ep.name == "convert" for ep in entry_points(group="mlarray.commands")):
        declared = workdir / ".entry-points"
        info = declared / "mlarray_io_sources-0.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: mlarray-io-sources\nVersion: 0\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(_ENTRY_POINTS, encoding="utf-8")
        entries.append(str(declared))
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(entries)
    return env


def capture(workdir: Path) -> dict[str, str]:
    """Create the sample files in ``workdir`` and return each transcript."""
    env = _env(workdir)
    for sample in SAMPLES:
        subprocess.run([sys.executable, str(sample)], cwd=workdir, check=True, env=env)
    transcripts = {}
    for name, commands in TRANSCRIPTS.items():
        parts = []
        for arguments in commands:
            result = subprocess.run(
                [sys.executable, "-m", "mlarray", *arguments],
                cwd=workdir,
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            output = (result.stdout + result.stderr).rstrip()
            parts.append(f"$ mlarray {' '.join(arguments)}\n{output}\n")
        transcripts[name] = "".join(parts)
    return transcripts


def normalise(text: str, version: str) -> str:
    """Mask what legitimately varies between runs: the version, sizes and durations."""
    return _VARIABLE.sub("<n>", text.replace(version, "<version>"))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        transcripts = capture(Path(folder))
    OUTPUT.mkdir(exist_ok=True)
    version = _version()
    for name, text in transcripts.items():
        path = OUTPUT / f"{name}.txt"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old is not None and normalise(old, version) == normalise(text, version):
            print(f"up to date: {path.relative_to(ROOT)}")
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def _version() -> str:
    import mlarray

    return mlarray.__version__


if __name__ == "__main__":
    raise SystemExit(main())
