"""The ``mlarray`` command, run as a subprocess exactly as users run it."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import Meta, MLArray

HEADER_MAIN = "import sys; from mlarray.cli import header_main; sys.exit(header_main())"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def _mlarray(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _run("-m", "mlarray", *args, cwd=cwd)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    data = np.random.default_rng(1).integers(0, 4000, (20, 30, 40)).astype(np.int16)
    image = MLArray(
        data,
        spacing=(0.5, 0.5, 2.0),
        origin=(1.0, 2.0, 3.0),
        meta=Meta(source={"PatientID": "cli-test"}, is_seg=False),
        patch_size=None,
        chunk_size=(10, 15, 20),
        block_size=(5, 5, 10),
    )
    image.meta.spatial.coord_system = "RAS"
    good = folder / "good.mla"
    image.save(good)
    damaged = folder / "damaged.mla"
    image.save(damaged)
    stored = blosc2.open(str(damaged), mode="r")
    chunk = stored.schunk.get_chunk(6)
    del stored
    raw = bytearray(damaged.read_bytes())
    start = raw.find(chunk)
    raw[start + len(chunk) // 2] ^= 0x01
    damaged.write_bytes(bytes(raw))
    garbage = folder / "garbage.mla"
    garbage.write_bytes(b"this is not a blosc2 frame" * 8)
    meta_only = folder / "meta-only.mla"
    MLArray(meta={"kind": "boxes"}).save(meta_only)
    return {"good": good, "damaged": damaged, "garbage": garbage, "meta_only": meta_only}


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_header_prints_layout_and_metadata(files: dict[str, Path]) -> None:
    result = _mlarray("header", str(files["good"]))
    assert result.returncode == 0, result.stderr
    assert "shape:  [20, 30, 40]  dtype: <i2" in result.stdout
    assert "chunks: [10, 15, 20]  blocks: [5, 5, 10]" in result.stdout
    assert "cli-test" in result.stdout
    assert '"coord_system": "RAS"' in result.stdout


def test_header_json_is_valid_and_holds_the_meta(files: dict[str, Path]) -> None:
    result = _mlarray("header", str(files["good"]), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["shape"] == [20, 30, 40]
    assert document["dtype"] == "<i2"
    assert document["chunks"] == [10, 15, 20]
    assert document["blocks"] == [5, 5, 10]
    assert document["metadata_format"] == "mla"
    meta = Meta.from_mapping(document["meta"])
    assert meta.source == {"PatientID": "cli-test"}
    assert meta.spatial.spacing == [0.5, 0.5, 2.0]
    assert meta.to_mapping()["spatial"] == MLArray.open(files["good"]).meta.to_mapping()["spatial"]


def test_header_of_a_metadata_only_file(files: dict[str, Path]) -> None:
    result = _mlarray("header", str(files["meta_only"]), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["meta"]["source"] == {"data": {"kind": "boxes"}}
    assert document["meta"]["_has_array"] == {"has_array": False}


def test_info_summarises_the_file(files: dict[str, Path]) -> None:
    result = _mlarray("info", str(files["good"]))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    assert lines["array"].strip() == "[20, 30, 40] int16"
    assert lines["chunks / blocks"].strip() == "[10, 15, 20] / [5, 5, 10]"
    assert lines["codec"].strip() == "lz4 clevel 9"
    assert lines["spacing"].strip() == "[0.5, 0.5, 2.0]"
    assert lines["coord system"].strip() == "RAS"
    assert "ratio" in lines["size"]
    assert lines["checksums"].strip() == "per chunk (crc32)"


def test_info_accepts_several_files(files: dict[str, Path]) -> None:
    result = _mlarray("info", str(files["good"]), str(files["meta_only"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("file:") == 2
    assert "array:           none" in result.stdout


def test_verify_good_file(files: dict[str, Path]) -> None:
    result = _mlarray("verify", str(files["good"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert "8 chunks" in result.stdout


def test_verify_damaged_file_names_the_chunk(files: dict[str, Path]) -> None:
    result = _mlarray("verify", str(files["damaged"]))
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert "chunk 6 " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_verify_reports_each_file(files: dict[str, Path]) -> None:
    result = _mlarray("verify", str(files["good"]), str(files["damaged"]), str(files["garbage"]))
    assert result.returncode == 1
    assert f"{files['good']}: OK" in result.stdout
    assert f"{files['damaged']}: FAILED" in result.stdout
    assert f"{files['garbage']}: FAILED" in result.stdout


@pytest.mark.parametrize("command", ["header", "info"])
@pytest.mark.parametrize(
    ("name", "fragment"),
    [("garbage", "not a Blosc2 frame"), ("missing", "no such file"), ("wrong", "extension")],
)
def test_bad_files_give_a_one_line_error(
    files: dict[str, Path], command: str, name: str, fragment: str
) -> None:
    path = {
        "garbage": files["garbage"],
        "missing": files["good"].with_name("missing.mla"),
        "wrong": files["good"].with_suffix(".nii"),
    }[name]
    _assert_one_line_error(_mlarray(command, str(path)), str(path), fragment)


def test_legacy_header_command(files: dict[str, Path]) -> None:
    result = _run("-c", HEADER_MAIN, str(files["good"]))
    assert result.returncode == 0, result.stderr
    assert "cli-test" in result.stdout
    _assert_one_line_error(_run("-c", HEADER_MAIN, str(files["garbage"])), "not a Blosc2 frame")
    script = Path(sys.executable).with_name("mlarray_header")
    if script.exists():  # installed from the wheel: the console script itself
        installed = subprocess.run(
            [str(script), str(files["good"])], capture_output=True, text=True, check=False
        )
        assert installed.returncode == 0, installed.stderr
        assert installed.stdout == result.stdout


def test_usage_errors_exit_2() -> None:
    assert _mlarray().returncode == 2
    assert _mlarray("no-such-command").returncode == 2
    assert _mlarray("header").returncode == 2


def test_help_and_version() -> None:
    result = _mlarray("--help")
    assert result.returncode == 0
    for command in ("header", "info", "verify", "convert"):
        assert command in result.stdout
    version = _mlarray("--version")
    assert version.returncode == 0
    import mlarray

    assert version.stdout.strip() == f"mlarray {mlarray.__version__}"


IO_INSTALLED = importlib.util.find_spec("mlarray_io") is not None


@pytest.mark.skipif(IO_INSTALLED, reason="runs in `nox -s tests_core` (no mlarray-io there)")
def test_convert_without_mlarray_io_says_what_to_install(tmp_path: Path) -> None:
    for args in (("convert", str(tmp_path / "a.nii.gz"), str(tmp_path / "b.mla")), ("demo",)):
        result = _mlarray(*args)
        assert result.returncode == 2  # documented in docs/cli.md
        assert result.stderr.strip().splitlines() == [
            f"mlarray: error: '{args[0]}' needs the mlarray-io package: pip install mlarray-io"
        ]
    assert "(needs mlarray-io: pip install mlarray-io)" in _mlarray("--help").stdout


@pytest.mark.skipif(not IO_INSTALLED, reason="needs mlarray-io")
def test_convert_is_a_command_with_mlarray_io() -> None:
    result = _mlarray("--help")
    assert result.returncode == 0
    assert "convert" in result.stdout
    assert "needs mlarray-io" not in result.stdout


PLUGIN = """
import sys


def register(subcommands):
    parser = subcommands.add_parser("wait", help="wait for stdin (a test plugin)")
    parser.set_defaults(func=run)


def run(arguments):
    print("waiting", flush=True)
    sys.stdin.read()
    return 0
"""


def test_ctrl_c_in_a_plugin_command_exits_130_with_one_line(tmp_path: Path) -> None:
    """SIGINT while a plugin command (entry point of another package) waits for input."""
    (tmp_path / "waiting_plugin.py").write_text(PLUGIN)
    info = tmp_path / "waiting_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: waiting-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mlarray.commands]\nwait = waiting_plugin:register\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlarray", "wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == "waiting\n"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert stderr.splitlines() == ["mlarray wait: interrupted"]


def test_output_to_a_closed_pipe_ends_quietly(files: dict[str, Path]) -> None:
    """``mlarray header FILE | head -1``: the reader is gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mlarray", "header", str(files["good"])],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141  # 128 + SIGPIPE, as for other commands in a pipe
    assert result.stderr == ""


def test_ctrl_c_after_the_command_finished_changes_nothing(files: dict[str, Path]) -> None:
    """A Ctrl-C that lands while the interpreter shuts down: status 0, no traceback."""
    script = (
        "import os, signal, sys; from mlarray.cli import main; status = main(); "
        "os.kill(os.getpid(), signal.SIGINT); sys.exit(status)"
    )
    result = _run("-c", script, "header", str(files["good"]))
    assert (result.returncode, result.stderr) == (0, "")
    assert "PatientID" in result.stdout


def test_main_called_from_python_restores_the_sigint_handler(files: dict[str, Path]) -> None:
    from mlarray.cli import main

    before = signal.getsignal(signal.SIGINT)
    assert main(["header", str(files["good"])]) == 0
    assert signal.getsignal(signal.SIGINT) is before


def test_only_the_first_ctrl_c_interrupts(tmp_path: Path) -> None:
    """A second Ctrl-C while the command cleans up after the first is ignored."""
    plugins = tmp_path / "plugins"
    info = plugins / "sleepy_plugin-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sleepy-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[mlarray.commands]\nsleepy = sleepy:register\n")
    (plugins / "sleepy.py").write_text(
        "import os, pathlib, signal, time\n"
        "def register(subcommands):\n"
        "    subcommands.add_parser('sleepy').set_defaults(func=run)\n"
        "def run(arguments):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C\n"
        "        time.sleep(60)\n"
        "    finally:\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # pressed again during the clean-up\n"
        "        pathlib.Path('cleaned').touch()\n"
        "    return 0\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mlarray", "sleepy"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), *sys.path])},
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        130,
        "",
        "mlarray sleepy: interrupted\n",
    )
    assert (tmp_path / "cleaned").exists()
