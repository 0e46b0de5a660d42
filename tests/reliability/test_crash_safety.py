"""Crashes and full disks never cost the file a user had.

* ``save`` over an existing file, killed with SIGKILL at random moments: the target
  is always either the old file, bit for bit, or the new file, complete and valid;
  temporary files of the dead savers disappear with the next successful save.
* ``save`` on a full disk (``RLIMIT_FSIZE`` in the child, ``SIGXFSZ`` ignored so that
  writes fail with ``EFBIG``): a clear ``MLArrayFileError``, the old file intact,
  no temporary file left.
* Edits through ``open(..., mmap_mode='r+')`` and a crash before ``close``, or at
  random moments of a loop of edits and closes: the file stays readable.

Children are forked from a ``forkserver`` that preloaded mlarray, so that each
trial costs a fork rather than an interpreter start. The kill trials run in two
lanes at once (``_kills.py``), on a tmpfs where there is one (``memory_path``).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlarray import MLArray
from mlarray._verify import verify_file
from tests.reliability import _children, _kills
from tests.reliability._summary import fuzz_scale, record

KILL_TRIALS = 40
EDIT_KILLS = 80
LANES = 2


@pytest.fixture(scope="module")
def forkserver() -> Any:
    """A multiprocessing context whose children fork from a server with mlarray loaded."""
    return _children.forkserver()


def _temp_files(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.mla-tmp.*"))


def _start_saver(forkserver: Any, target: Path) -> Any:
    """A child saving seed 1 over ``target`` until killed, started."""
    ready = forkserver.Event()
    child = forkserver.Process(target=_children.save_forever, args=(str(target), 1, ready))
    child.start()
    assert ready.wait(60), "the saving child did not start"
    return child


def _kill(child: Any) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL


def _lanes(forkserver: Any, folder: Path, run: Any, *args: Any) -> list[_kills.LaneResult]:
    """Run ``run(path, *args, lane)`` in LANES processes at once, each on its own file."""
    targets = [folder / f"lane{lane}" / "scan.mla" for lane in range(LANES)]
    for target in targets:
        target.parent.mkdir()
    with ProcessPoolExecutor(LANES, mp_context=forkserver) as pool:
        jobs = [pool.submit(run, str(target), *args, lane) for lane, target in enumerate(targets)]
        return [job.result(timeout=600) for job in jobs]


def test_save_killed_at_random_moments_leaves_old_or_new_file(
    memory_path: Path, forkserver: Any
) -> None:
    """40 kills (x MLARRAY_FUZZ_SCALE), in two lanes; then the next save cleans up.

    Half of the kills land at evenly spread interpreter events of one save (some
    before, some after the rename that stores it), half at random times.
    """
    half = KILL_TRIALS * fuzz_scale() // LANES // 2
    results = _lanes(forkserver, memory_path, _kills.run_save_lane, LANES, half, half)
    states: Counter[str] = sum((result.outcomes for result in results), Counter())
    failures = [failure for result in results for failure in result.failures]
    record(
        f"save killed with SIGKILL: {sum(result.kills for result in results)} kills (half at "
        f"points of the {results[0].events} interpreter events of one save), old file "
        f"intact {states['old']}, new file complete {states['new']}, never anything else"
    )
    assert not failures, "\n".join(failures[:10])
    assert sum(result.kills for result in results) == half * 2 * LANES
    assert states["old"] > 0
    assert states["new"] > 0
    for lane in range(LANES):
        target = memory_path / f"lane{lane}" / "scan.mla"
        _children.image(2).save(target)
        assert _temp_files(target) == []
        assert verify_file(target).ok


def test_the_next_save_removes_the_temporary_file_of_a_killed_save(
    tmp_path: Path, forkserver: Any
) -> None:
    """The child is stopped while its temporary file exists, then killed: a sure leftover."""
    target = tmp_path / "scan.mla"
    _children.image(0).save(target)
    child = _start_saver(forkserver, target)
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "no temporary file seen while saving"
        if _temp_files(target):
            os.kill(child.pid, signal.SIGSTOP)
            if _temp_files(target):
                break
            os.kill(child.pid, signal.SIGCONT)
    leftovers = _temp_files(target)
    _kill(child)
    assert [path.name for path in leftovers] == [path.name for path in _temp_files(target)]
    assert f".{child.pid}." in leftovers[0].name
    _children.image(2).save(target)
    assert _temp_files(target) == []
    assert MLArray.open(target).meta.source.data == {"seed": 2}


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.5, 0.98])
def test_full_disk_during_save_raises_and_keeps_the_old_file(
    tmp_path: Path, forkserver: Any, fraction: float
) -> None:
    target = tmp_path / "scan.mla"
    _children.image(0).save(target)
    old = target.read_bytes()
    _children.image(1).save(tmp_path / "size.mla")
    limit = max(1, int((tmp_path / "size.mla").stat().st_size * fraction))
    with forkserver.Pool(1) as pool:
        outcome = pool.apply(_children.save_with_file_size_limit, (str(target), 1, limit))
    assert outcome.startswith("MLArrayFileError: "), outcome
    assert str(target) in outcome
    assert target.read_bytes() == old
    assert _temp_files(target) == []
    if fraction == 0.5:
        record(f"full disk (RLIMIT_FSIZE) during save: {outcome[:160]}")


@pytest.mark.parametrize("write_data", [False, True])
def test_crash_before_close_after_r_plus_edits_leaves_the_file_as_it_was(
    tmp_path: Path, forkserver: Any, write_data: bool
) -> None:
    target = tmp_path / "scan.mla"
    _children.image(0).save(target)
    old = target.read_bytes()
    child = forkserver.Process(target=_children.edit_then_crash, args=(str(target), write_data))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert target.read_bytes() == old  # the edit never reached close()
    # The working copy a data write made is left behind, until the next write.
    assert len(_temp_files(target)) == write_data
    with MLArray.open(target, mmap_mode="r+") as image:
        image.meta.source.data = {"seed": 0, "after": "crash"}
    assert _temp_files(target) == []
    assert verify_file(target).ok


@pytest.mark.parametrize("write_data", [False, True], ids=["metadata", "metadata and data"])
def test_r_plus_edit_loop_killed_at_random_moments(
    memory_path: Path, forkserver: Any, write_data: bool
) -> None:
    """80 kills per loop (x MLARRAY_FUZZ_SCALE: 1600 in ``nox -s fuzz``): never unreadable or torn.

    Half of the kills land at evenly spread interpreter events of one edit, from
    its first to its last (every step of the transaction, so some before and some
    after the rename that stores it), half at random times; two lanes of kills run
    in parallel, each on its own file (see ``_kills.py``).
    """
    per_lane = EDIT_KILLS * fuzz_scale() // LANES
    half = per_lane // 2
    results = _lanes(forkserver, memory_path, _kills.run_lane, write_data, LANES, half, half)
    kills = sum(result.kills for result in results)
    outcomes: Counter[str] = sum((result.outcomes for result in results), Counter())
    failures = [failure for result in results for failure in result.failures]
    what = "metadata and data" if write_data else "metadata"
    record(
        f"r+ {what} edit loop killed with SIGKILL: {kills} kills (half of them at evenly "
        f"spread points of the {results[0].events} interpreter events of one edit); "
        f"file as before the edit "
        f"{outcomes['before the edit']}, as after it {outcomes['after the edit']}, "
        f"unreadable {outcomes['unreadable']}, torn {outcomes['torn']}"
    )
    assert not failures, "\n".join(failures[:10])
    assert kills == half * 2 * LANES
    assert outcomes["before the edit"] > 0
    assert outcomes["after the edit"] > 0
