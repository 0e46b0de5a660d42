"""Damaged and hostile files: clear errors, never a crash, code execution or memory blow-up.

Every corpus case (see ``_corpus.py``) goes through ``MLArray.open`` (with and
without ``verify``) plus a patch read, ``read_patches`` (with and without
``verify``), a handle opened with ``verify`` and pickled before its first read,
``MLArray.load`` (with and without ``verify``), whole-array reads on two threads
after ``open`` and ``load``,
``MLArray(path)``, the core header reader, ``mlarray_meta.read_header`` and
``mlarray verify``, in worker subprocesses whose address space is capped
(``_worker.py``). ``MLARRAY_FUZZ_SCALE`` and ``MLARRAY_FUZZ_SEEDS`` make the run
longer (``nox -s fuzz``).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

import blosc2
import pytest

from tests.reliability._corpus import Case, make_corpus, make_sources
from tests.reliability._runner import WORKER, CaseResult, run_cases
from tests.reliability._summary import fuzz_scale, fuzz_seeds, record

FAILURES = ("crashed", "hung", "unexpected exception", "code executed")
OUTCOMES = ("rejected", "reported", "valid", "undetected", *FAILURES)
CHECKSUMMED = ("ct", "channels")
CHUNK_DAMAGE = (
    "index flip",
    "chunk header flip",
    "chunk data flip",
    "metadata entry + chunk flip",
    "trailer + chunk flip",
)
VERIFIED_READS = ("open_verify", "load_verify", "patches_verify", "pickled_verify")
HEADER_OPS = ("header_core", "header_meta")


@dataclass(frozen=True)
class Outcome:
    """One case, what each operation gave, and the case's overall outcome."""

    case: Case
    result: CaseResult
    verdict: str

    @property
    def ops(self) -> dict[str, str]:
        return self.result.ops or {}


def classify(case: Case, result: CaseResult) -> str:
    """Sum up a case.

    * ``rejected``: every operation raised an MLArrayError (verify reported the file);
    * ``reported``: some operations succeeded, the others raised or verify reported it;
    * ``valid``: harmless damage, every operation succeeded with the source's data;
    * ``undetected``: every operation succeeded, verify included, but the data differs;
    * failures: ``crashed``, ``hung``, ``unexpected exception``, ``code executed``.
    """
    if result.death is not None:
        return "hung" if result.death.startswith("hung") else "crashed"
    if case.sentinel is not None and case.sentinel.exists():
        return "code executed"
    ops = result.ops or {}
    if any(value.startswith("unexpected") for value in ops.values()):
        return "unexpected exception"
    succeeded = [value for value in ops.values() if value in ("ok", "differs")]
    if not succeeded:
        return "rejected"
    if len(succeeded) < len(ops):
        return "reported"
    return "valid" if all(value == "ok" for value in ops.values()) else "undetected"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    """Build the corpus, run every case in worker subprocesses, classify the results."""
    root = tmp_path_factory.mktemp("corpus")
    # One compression thread: with two, the bytes blosc2 writes for the same array vary
    # from run to run on a loaded machine (9 distinct files of 40 saves), and so would
    # the bytes the seeded flips hit.
    threads = blosc2.set_nthreads(1)
    try:
        sources = make_sources(root / "sources")
        seeds = tuple(fuzz_seeds())
        cases = make_corpus(sources, root / "cases", scale=fuzz_scale(), seeds=seeds)
    finally:
        blosc2.set_nthreads(threads)
    references = {source.name: str(source.reference) for source in sources if source.reference}
    results = run_cases([case.job() for case in cases], references, root / "logs")
    found = [
        Outcome(case, result, classify(case, result))
        for case, result in zip(cases, results, strict=True)
    ]
    _record_summary(found)
    for outcome in found:  # keep only the files of failing cases, for debugging
        if outcome.verdict not in FAILURES and outcome.case.path.is_file():
            outcome.case.path.unlink()
    return found


def _record_summary(found: list[Outcome]) -> None:
    totals = Counter(outcome.verdict for outcome in found)
    record(
        f"hostile-file corpus: {len(found)} cases (scale {fuzz_scale()}, seeds {fuzz_seeds()}); "
        + ", ".join(f"{name} {totals[name]}" for name in OUTCOMES)
    )
    kinds = sorted({outcome.case.kind for outcome in found})
    for kind in kinds:
        counts = Counter(outcome.verdict for outcome in found if outcome.case.kind == kind)
        cells = ", ".join(f"{name} {counts[name]}" for name in OUTCOMES if counts[name])
        record(f"  {kind:28} {sum(counts.values()):5}: {cells}")
    differs = [outcome for outcome in found if outcome.ops.get("open") == "differs"]
    flagged = sum(outcome.ops.get("verify") == "flagged" for outcome in differs)
    record(
        f"  patch reads without verify= that returned other data than the source: "
        f"{len(differs)}, of which 'mlarray verify' flagged {flagged}"
    )


def _describe(outcome: Outcome) -> str:
    detail = outcome.result.death or outcome.ops
    return f"{outcome.case.name} [{outcome.case.path.name}]: {outcome.verdict}: {detail}"


def test_no_case_crashes_hangs_raises_unexpectedly_or_runs_code(outcomes: list[Outcome]) -> None:
    failures = [_describe(outcome) for outcome in outcomes if outcome.verdict in FAILURES]
    assert not failures, f"{len(failures)} failing cases:\n" + "\n".join(failures[:20])


def test_corpus_covers_every_kind_of_damage(outcomes: list[Outcome]) -> None:
    kinds = Counter(outcome.case.kind for outcome in outcomes)
    expected = {
        "truncated",
        "header flip",
        "index flip",
        "trailer flip",
        "vlmeta flip",
        "chunk header flip",
        "chunk data flip",
        "metadata entry + chunk flip",
        "trailer + chunk flip",
        "pickle",
        "bomb",
        "hostile json",
        "disagreement",
        "foreign metalayer",
        "empty",
        "directory",
    }
    assert set(kinds) == expected
    truncations = {
        outcome.case.source.name for outcome in outcomes if outcome.case.kind == "truncated"
    }
    assert truncations == {"ct", "channels", "metaonly", "legacy"}
    assert kinds["truncated"] >= 4 * 64


def test_truncated_files_are_always_rejected_by_the_header_readers(outcomes: list[Outcome]) -> None:
    accepted = [
        _describe(outcome)
        for outcome in outcomes
        if outcome.case.kind == "truncated" and "ok" in (outcome.ops[op] for op in HEADER_OPS)
    ]
    assert not accepted


@pytest.mark.parametrize(
    ("kind", "errors"),
    [
        ("pickle", {"UnsafeMetadataError", "FileFormatError"}),
        ("bomb", {"UnsafeMetadataError", "FileFormatError"}),
        ("foreign metalayer", {"UnsafeMetadataError"}),
        ("empty", {"FileFormatError"}),
        ("directory", {"MLArrayFileError"}),
    ],
)
def test_hostile_files_are_refused_with_a_clear_error(
    outcomes: list[Outcome], kind: str, errors: set[str]
) -> None:
    selected = [outcome for outcome in outcomes if outcome.case.kind == kind]
    assert selected
    for outcome in selected:
        data_ops = ("open", "load", "construct") if kind != "pickle" else HEADER_OPS
        found = {outcome.ops[op] for op in data_ops}
        assert found <= errors, _describe(outcome)
        assert outcome.ops["verify"] == "flagged", _describe(outcome)


def test_pickles_never_run_and_legacy_ones_are_called_unsafe(outcomes: list[Outcome]) -> None:
    pickles = [outcome for outcome in outcomes if outcome.case.kind == "pickle"]
    assert len(pickles) == 36
    for outcome in pickles:
        assert outcome.case.sentinel is not None
        assert not outcome.case.sentinel.exists(), _describe(outcome)
        if "'mlarray'" in outcome.case.name:
            assert outcome.ops["header_meta"] == "UnsafeMetadataError", _describe(outcome)
    sentinels = list(pickles[0].case.path.parent.glob("sentinel-*"))
    assert not sentinels


def test_object_dtypes_are_refused_before_blosc2_reads_them(outcomes: list[Outcome]) -> None:
    objects = [outcome for outcome in outcomes if "|O8" in outcome.case.name]
    assert len(objects) == 2
    for outcome in objects:
        assert outcome.ops["open"] == "UnsafeMetadataError", _describe(outcome)
        assert outcome.ops["load"] == "UnsafeMetadataError", _describe(outcome)


def test_damaged_chunks_never_pass_checksum_verification(outcomes: list[Outcome]) -> None:
    """With checksums, chunk and index damage is reported; verify=True never returns it.

    Also when the metadata entry or the trailer holding the checksums is damaged too,
    and through ``read_patches`` and handles pickled before their first read.
    """
    checked = [
        outcome
        for outcome in outcomes
        if outcome.case.kind in CHUNK_DAMAGE and outcome.case.source.name in CHECKSUMMED
    ]
    assert len({outcome.case.kind for outcome in checked}) == len(CHUNK_DAMAGE)
    missed = [
        _describe(outcome)
        for outcome in checked
        if "differs" in (outcome.ops[op] for op in VERIFIED_READS)
        or (outcome.ops["open"] == "differs" and outcome.ops["verify"] == "ok")
    ]
    assert not missed


def test_undetected_changes_come_only_from_unchecksummed_bytes(outcomes: list[Outcome]) -> None:
    """Data that reads differently and passes verify: only header relabelling or no checksums."""
    undetected = [outcome for outcome in outcomes if outcome.verdict == "undetected"]
    for outcome in undetected:
        unchecked = outcome.case.source.name == "legacy" or outcome.case.kind == "header flip"
        relabelled = outcome.case.kind == "disagreement" and "dtype" in outcome.case.name
        assert unchecked or relabelled, _describe(outcome)


def test_worker_memory_cap_turns_a_huge_allocation_into_memory_error() -> None:
    """The RLIMIT_AS the worker sets really bounds what a case can allocate."""
    code = (
        "import runpy, sys; worker = runpy.run_path(sys.argv[1]); "
        "worker['_limit_memory'](256 * 2**20)\n"
        "try:\n    bytearray(2**31)\nexcept MemoryError:\n    print('capped')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(WORKER)], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "capped"
