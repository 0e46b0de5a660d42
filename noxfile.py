"""The one task runner of the mlarray monorepo.

``nox -s tests`` runs everything CI checks; ``nox -s demo`` runs the main job on
the sample scans nibabel ships. Packages are always installed from wheels built
from this tree, never in editable mode, so the tests see what PyPI users get.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
PACKAGES = ("mlarray-meta", "mlarray-core", "mlarray-io")
IMPORT_NAMES = {
    "mlarray-meta": "mlarray_meta",
    "mlarray-core": "mlarray",
    "mlarray-io": "mlarray_io",
}
PYTHON = "3.11"
# The other Pythons the packages support (requires-python >= 3.11): tests_lowest runs on the
# first (dependencies at their floors), tests_newest on the last.
OTHER_PYTHONS = ("3.12", "3.13")


def expose_pyenv_pythons() -> None:
    """Let pyenv's shims run every Python the sessions name, not only its global one.

    On machines whose Pythons come from pyenv, ``python3.12`` on the PATH is a shim
    that fails unless 3.12 is among the selected versions; select the newest
    installed patch release of each, after the versions already selected (``pyenv
    exec`` selects the one that runs nox), so that ``python3`` stays what it was.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not versions.is_dir():
        return
    found = [name for name in os.environ.get("PYENV_VERSION", "").split(":") if name]
    for minor in (PYTHON, *OTHER_PYTHONS):
        releases = [
            p.name for p in versions.glob(f"{minor}.*") if p.name[len(minor) + 1 :].isdigit()
        ]
        newest = max(releases, key=lambda name: int(name.rsplit(".", 1)[1]), default=None)
        if newest is not None and newest not in found:
            found.append(newest)
    if found:
        os.environ["PYENV_VERSION"] = ":".join(found)


expose_pyenv_pythons()
TEST_DEPS = ("pytest>=8.0", "hypothesis>=6.100")
IO_EXTRAS = "[dask,zarr]"
# The NGFF library whose reader and spec models check our OME-Zarr output.
ZARR_TEST_DEPS = ("ome-zarr>=0.12",)
LEGACY_MLARRAY = "mlarray==0.0.54"
# Remote reads (tests/remote): mlarray-core[remote], an S3 server to read from, and
# gs:// (gcsfs) with a Google Cloud Storage emulator.
# aiobotocore's boto3 extra pins the boto3 matching its botocore: without it pip
# may backtrack for many minutes between moto's boto3 and s3fs's aiobotocore.
REMOTE_TEST_DEPS = ("moto[server]>=5.0", "aiobotocore[boto3]", "gcsfs", "gcp-storage-emulator")
PACKAGE_DATA = frozenset({"mlarray_io/napari/napari.yaml"})
"""Non-Python files the wheels ship: the npe2 manifest of our napari plugin."""
# PyTorch's CPU wheel (pip finds it for Python 3.11 on these machines); named in the same
# pip command as anything that depends on torch, or pip pulls a multi-GB CUDA build.
TORCH_CPU = "torch==2.13.0+cpu"


def build_wheels(session: nox.Session) -> dict[str, Path]:
    """Build one wheel per package into a fresh folder and return them by name."""
    session.install("hatchling>=1.25", "pip")
    out = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    wheels: dict[str, Path] = {}
    for dist in PACKAGES:
        session.run(
            "python",
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT / "packages" / dist),
        )
        prefix = dist.replace("-", "_") + "-"
        (wheel,) = (p for p in out.glob("*.whl") if p.name.startswith(prefix))
        wheels[dist] = wheel
    return wheels


def install_all(session: nox.Session, *extra: str, core_extras: str = "") -> dict[str, Path]:
    """Install the three packages from freshly built wheels, plus ``extra``.

    Everything goes through one pip resolution: a second ``pip install`` would not
    see the pins of what the first installed (moto's botocore against s3fs's).
    """
    wheels = build_wheels(session)
    session.install(
        str(wheels["mlarray-meta"]),
        f"{wheels['mlarray-core']}{core_extras}",
        f"{wheels['mlarray-io']}{IO_EXTRAS}",
        *extra,
    )
    # The version does not change between commits: a reused venv (nox -R) would
    # keep the wheels of an earlier run without this.
    session.install("--force-reinstall", "--no-deps", *map(str, wheels.values()))
    return wheels


@nox.session(python=False)
def versions(session: nox.Session) -> None:
    """Fail when the packages' versions or their sibling pins disagree."""
    session.run("python", str(ROOT / "tools" / "check_versions.py"), external=True)


@nox.session(python=PYTHON)
def tests_meta(session: nox.Session) -> None:
    """Run tests/meta in a venv holding only mlarray-meta: it needs only the stdlib."""
    wheels = build_wheels(session)
    session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", "hatchling", "pip-tools")
    session.install(str(wheels["mlarray-meta"]), *TEST_DEPS)
    session.install("--force-reinstall", "--no-deps", str(wheels["mlarray-meta"]))
    session.run("pytest", "tests/meta", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def tests_core(session: nox.Session) -> None:
    """Run the CLI tests in a venv with mlarray-meta and mlarray-core, without mlarray-io.

    There, ``mlarray convert`` and ``mlarray demo`` must say which package to install.
    """
    wheels = build_wheels(session)
    ours = [str(wheels["mlarray-meta"]), str(wheels["mlarray-core"])]
    session.install(*ours, *TEST_DEPS)
    session.install("--force-reinstall", "--no-deps", *ours)
    session.run("pytest", "tests/core/test_cli.py", "-p", "no:cacheprovider", *session.posargs)


# What differs between Pythons and between dependency versions is exercised by the
# schema, container, file-format and conversion tests; the reliability, interop,
# integration and training tests run once, in `tests`, on the main Python.
PORTABLE_TESTS = ("tests/meta", "tests/core", "tests/io")


def lowest_requirements() -> list[str]:
    """Pin every third-party requirement of the three packages to its declared floor.

    Reads the ``dependencies`` of each ``pyproject.toml`` (not the extras), so the
    ranges the packages declare are the ones tested.
    """
    pins = []
    for dist in PACKAGES:
        with (ROOT / "packages" / dist / "pyproject.toml").open("rb") as file:
            requirements = tomllib.load(file)["project"]["dependencies"]
        for requirement in requirements:
            match = re.fullmatch(r"([A-Za-z0-9_.\[\]-]+)\s*>=\s*([^,;\s]+)", requirement)
            if match is not None:
                pins.append(f"{match[1]}=={match[2]}")
    return pins


def run_portable_tests(session: nox.Session, *pins: str) -> None:
    """Install the wheels (with ``pins`` held exactly) and run :data:`PORTABLE_TESTS`."""
    install_all(session, *TEST_DEPS, *pins)
    session.run(
        "pytest",
        *PORTABLE_TESTS,
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


@nox.session(python=OTHER_PYTHONS[-1])
def tests_newest(session: nox.Session) -> None:
    """The portable tests on the newest supported Python, with the newest dependencies."""
    run_portable_tests(session)


@nox.session(python=OTHER_PYTHONS[0])
def tests_lowest(session: nox.Session) -> None:
    """The portable tests with every dependency at the lowest version the packages declare.

    Runs on the Python between the main session's and the newest, so that the three
    supported Pythons are each tested once without a session per combination.
    """
    pins = lowest_requirements()
    session.log("lowest versions: " + ", ".join(pins))
    run_portable_tests(session, *pins)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite and every check CI runs.

    Versions, lint, types, the meta-only and core-only venvs, the docs, all packages
    together, interop, napari, PyTorch and the other Pythons.
    """
    session.notify("versions")
    session.notify("lint")
    session.notify("typecheck")
    session.notify("tests_meta")
    session.notify("tests_core")
    session.notify("docs", posargs=[])  # pytest arguments are not for mkdocs
    install_all(session, *TEST_DEPS, *ZARR_TEST_DEPS, *REMOTE_TEST_DEPS, core_extras="[remote]")
    session.run(
        "pytest",
        "tests",
        "--ignore=tests/interop",
        "--ignore=tests/napari",
        "--ignore=tests/napari_legacy",
        "--ignore=tests/training/torch",
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )
    session.notify("interop")
    session.notify("napari")
    session.notify("napari_legacy")
    session.notify("tests_torch")
    session.notify("tests_lowest", posargs=[])
    session.notify("tests_newest", posargs=[])


def check_cpu_torch(session: nox.Session, python: str = "python") -> None:
    """Fail unless the torch installed is a CPU build without CUDA packages beside it."""
    code = (
        "import importlib.metadata as m, torch; "
        "cuda = sorted(d.metadata['Name'] for d in m.distributions() "
        "if d.metadata['Name'].lower().startswith('nvidia')); "
        "assert torch.version.cuda is None and not cuda, (torch.__version__, cuda); "
        "print('torch', torch.__version__, 'CPU build')"
    )
    session.run(python, "-c", code, external=True)


@nox.session(python=PYTHON)
def tests_torch(session: nox.Session) -> None:
    """tests/training/torch with real PyTorch (its CPU wheel): DataLoader workers, seeds, shards.

    The rest of tests/training runs in ``tests``, without PyTorch.
    """
    install_all(session, *TEST_DEPS, TORCH_CPU)
    check_cpu_torch(session)
    session.run("pytest", "tests/training/torch", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """Files written by mlarray 0.0.54 (own venv) open in ours, and ours open in it."""
    install_all(session, *TEST_DEPS)
    legacy = Path(session.create_tmp()) / "legacy-venv"
    if not (legacy / "bin" / "python").exists():
        session.run("python", "-m", "venv", str(legacy))
        session.run(
            str(legacy / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            LEGACY_MLARRAY,
            external=True,
        )
    session.run(
        "pytest",
        "tests/interop",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"MLARRAY_LEGACY_PYTHON": str(legacy / "bin" / "python")},
    )


# napari's pytest plugins import napari (and its deprecation warnings) at start-up.
NAPARI_PYTEST_ARGS = (
    *("-p", "no:napari", "-p", "no:napari-plugin-engine", "-p", "no:npe2"),
    *("-W", "ignore::pydantic.warnings.PydanticDeprecatedSince20"),
)


@nox.session(python=PYTHON)
def napari(session: nox.Session) -> None:
    """Our napari plugin (mlarray-io[napari]) in real napari, headless (Qt offscreen)."""
    wheels = install_all(session, *TEST_DEPS)
    session.install(f"{wheels['mlarray-io']}[napari]", "pyqt6")
    session.install("--force-reinstall", "--no-deps", str(wheels["mlarray-io"]))
    session.run(
        "pytest",
        "tests/napari",
        "-p",
        "no:cacheprovider",
        *NAPARI_PYTEST_ARGS,
        *session.posargs,
        env={"QT_QPA_PLATFORM": "offscreen"},
    )


# napari-mlarray's 3D box layers come from napari-bbox-fix, which napari 0.9 no longer
# accepts (an abstract slicing method); 0.6.6 is the napari the plugin works with.
NAPARI_LEGACY_DEPS = ("napari[pyqt5]==0.6.6", "napari-mlarray")


@nox.session(python=PYTHON)
def napari_legacy(session: nox.Session) -> None:
    """napari-mlarray (PyPI, written for mlarray 0.0.54) reading and writing with our wheels.

    Follows docs/installation.md: installing the plugin pulls in the old ``mlarray``
    distribution, which our import refuses; uninstalling it and reinstalling
    mlarray-core fixes that. The tests run napari on Qt's offscreen platform.
    """
    wheels = build_wheels(session)
    session.install(
        str(wheels["mlarray-meta"]), str(wheels["mlarray-core"]), *NAPARI_LEGACY_DEPS, *TEST_DEPS
    )
    session.install(str(wheels["mlarray-io"]), "--no-deps")
    clash = session.run(
        "python", "-c", "import mlarray_io", success_codes=[1], silent=True, log=False
    )
    if "DistributionConflictError" not in str(clash):
        session.error(f"import mlarray_io did not refuse the mixed installation: {clash}")
    session.run("python", "-m", "pip", "uninstall", "--yes", "mlarray")
    # All three, not only mlarray-core: a reused venv (nox -r) keeps the wheels of
    # an earlier run otherwise, as they all have the same version.
    session.install("--force-reinstall", "--no-deps", *map(str, wheels.values()))
    session.run(
        "pytest",
        "tests/napari_legacy",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::DeprecationWarning",  # napari's own, raised while pytest loads its plugins
        *session.posargs,
        env={"QT_QPA_PLATFORM": "offscreen"},
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("ruff==0.17.6")  # the version the docs build formats signatures with
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the three src trees (checked from source, see mypy_path)."""
    session.install("mypy==2.4.1", "numpy>=2.0", "blosc2>=4.15", "nibabel>=5.3", "tqdm")
    session.run("mypy")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build sdists and wheels, check them with twine, and check each wheel's contents."""
    session.install("build>=1.2", "twine>=5.1")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT / "packages" / name))
    session.run("twine", "check", "--strict", *(str(p) for p in sorted(dist.iterdir())))
    for name in PACKAGES:
        (wheel,) = dist.glob(name.replace("-", "_") + "-*.whl")
        problems = wheel_problems(wheel, IMPORT_NAMES[name])
        if problems:
            session.error(f"{wheel.name}: " + "; ".join(problems))
        session.log(f"{wheel.name}: contents ok")


def wheel_problems(wheel: Path, import_name: str) -> list[str]:
    """List what is wrong with a wheel's file list: missing py.typed, tests, stray files."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    problems = []
    if f"{import_name}/py.typed" not in names:
        problems.append(f"missing {import_name}/py.typed")
    for name in names:
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info"):
            continue
        if top != import_name:
            problems.append(f"stray top-level entry {name}")
        elif "/tests/" in name or name.rsplit("/", 1)[-1].startswith("test_"):
            problems.append(f"test file shipped: {name}")
        elif not name.endswith((".py", "py.typed")) and name not in PACKAGE_DATA:
            problems.append(f"unexpected file: {name}")
    return problems


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Side-by-side benchmark of ours, mlarray 0.0.54 (own venv) and other formats.

    ``nox -s bench -- --quick`` takes under two minutes; other arguments go to
    benchmarks/run.py (``--formats``, ``--datasets``, ``--out``, ``--markdown``).
    A legacy package that fails to install shows as FAILED in the tables.

    ``nox -s bench -- --loader`` runs the training-loader benchmark instead
    (benchmarks/loader/run.py): ours against nnU-Net's, medh5's and TorchIO's
    loaders, each peer in its own venv; other arguments go to that script.

    ``nox -s bench -- --remote`` runs the remote-read benchmark
    (benchmarks/remote/run.py): ours, python-blosc2's lazy reader and zarr v3 over
    one loopback HTTP server; other arguments go to that script.
    """
    if "--loader" in session.posargs:
        loader_bench(session, [arg for arg in session.posargs if arg != "--loader"])
        return
    if "--remote" in session.posargs:  # remote patch reads: benchmarks/remote/run.py
        wheels = install_all(session, "zarr>=3")
        session.install(f"{wheels['mlarray-core']}[remote]")
        arguments = [arg for arg in session.posargs if arg != "--remote"]
        session.run("python", str(ROOT / "benchmarks" / "remote" / "run.py"), *arguments)
        return
    install_all(session, "zarr>=3", "h5py", "hdf5plugin", "nilearn", "matplotlib")
    legacy = Path(session.create_tmp()) / "legacy-venv"
    if not (legacy / "bin" / "python").exists():
        session.run("python", "-m", "venv", str(legacy))
        session.run(
            str(legacy / "bin" / "python"),
            *("-m", "pip", "install", "--quiet", LEGACY_MLARRAY),
            external=True,
            success_codes=[0, 1],
        )
    session.run(
        "python",
        str(ROOT / "benchmarks" / "run.py"),
        *("--legacy-python", str(legacy / "bin" / "python")),
        *session.posargs,
    )


# The peers of the loader benchmark, each installed in a venv of its own.
LOADER_PEERS = {
    "nnunet": ("nnunetv2==2.8.1",),
    "medh5": ("medh5==2.2.3",),
    "torchio": ("torchio==1.2.1",),
}


def loader_bench(session: nox.Session, arguments: list[str]) -> None:
    """Set up the peers' venvs (with the CPU build of PyTorch) and run the loader benchmark."""
    install_all(session, TORCH_CPU, "matplotlib")
    check_cpu_torch(session)
    peers = []
    for name, packages in LOADER_PEERS.items():
        venv = Path(session.create_tmp()) / f"loader-{name}"
        python = venv / "bin" / "python"
        if not python.exists():
            session.run("python", "-m", "venv", str(venv))
            session.run(
                str(python), "-m", "pip", "install", "--quiet", *packages, TORCH_CPU, external=True
            )
        check_cpu_torch(session, str(python))
        peers += [f"--{name}-python", str(python)]
    session.run("python", str(ROOT / "benchmarks" / "loader" / "run.py"), *peers, *arguments)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: convert nibabel's sample scans, check geometry, time patch reads.

    ``nox -s demo -- --out DIR`` keeps the converted files in DIR.
    """
    install_all(session)
    session.run("mlarray", "demo", *session.posargs)


# The documentation toolchain, pinned exactly so that a --strict build is reproducible.
DOCS_DEPS = (
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.2",
    "mkdocstrings==1.0.8",
    "mkdocstrings-python==2.0.11",
    "griffelib==2.4.1",
    "pymdown-extensions==13.1.2",
    "ruff==0.17.6",  # mkdocstrings formats the rendered signatures with it
)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with ``mkdocs build --strict``.

    A broken link, a missing snippet or an unresolvable API reference fails the
    build. The site is written to a folder in the session's temporary directory
    (printed at the end); extra arguments go to ``mkdocs build``.
    """
    install_all(session, *DOCS_DEPS)
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(site),
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )
    session.log(f"documentation site built in {site}")


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """The reliability tests, longer: 20x the random damage, three seeds, more kills.

    ``MLARRAY_FUZZ_SCALE`` (default 20) multiplies the random byte flips per region,
    the SIGKILL trials and the bit flips; ``MLARRAY_FUZZ_SEEDS`` (default ``1,2,3``)
    picks the flips. Extra arguments go to pytest.
    """
    from os import environ

    install_all(session, *TEST_DEPS)
    session.run(
        "pytest",
        "tests/reliability",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={
            "MLARRAY_FUZZ_SCALE": environ.get("MLARRAY_FUZZ_SCALE", "20"),
            "MLARRAY_FUZZ_SEEDS": environ.get("MLARRAY_FUZZ_SEEDS", "1,2,3"),
        },
    )
