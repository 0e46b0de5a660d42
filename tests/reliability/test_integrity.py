"""Per-chunk checksums: ``verify`` catches flipped bits, reads can opt in to checking.

The subprocess corpus (``test_hostile_files.py``) shows that damaged chunks never
crash ``verify_file``; here it runs in-process, which makes hundreds of flips cheap.
"""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MLArray, _integrity
from mlarray._file_metadata import write_file_metadata
from mlarray._integrity import chunk_region, touched_chunks
from mlarray._verify import verify_file
from mlarray.cli import main as cli_main
from mlarray.errors import ChecksumError
from mlarray.meta import Meta
from mlarray_meta.format import read_frame
from mlarray_meta.header import read_header_mapping
from tests.reliability import _children
from tests.reliability._corpus import FIXTURES, frame_layout
from tests.reliability._summary import fuzz_scale, record

FLIPS = 300


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved CT-like volume with 27 chunks (3x3x3)."""
    path = tmp_path_factory.mktemp("integrity") / "scan.mla"
    _children.image(0).save(path)
    return path


def _flip_bit(data: bytes, position: int, bit: int) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 1 << bit
    return bytes(damaged)


def test_verify_flags_every_single_bit_flip_in_chunks(scan: Path, memory_path: Path) -> None:
    """300 flips (x MLARRAY_FUZZ_SCALE), checked in two lanes at once."""
    spans = frame_layout(scan).chunks
    sizes = [stop - start for start, stop in spans]
    rng = random.Random(0)
    flips = []
    for _ in range(FLIPS * fuzz_scale()):
        (chunk,) = rng.choices(range(len(spans)), weights=sizes)
        flips.append((chunk, rng.randrange(*spans[chunk]), rng.randrange(8)))
    lanes = [(str(scan), flips[lane::2], str(memory_path / f"{lane}.mla")) for lane in (0, 1)]
    with _children.forkserver().Pool(2) as pool:
        counts = pool.starmap(_children.check_bit_flips, lanes)
    flagged, silent_reads = (sum(column) for column in zip(*counts, strict=True))
    record(
        f"single-bit flips in chunk bytes: verify flagged {flagged} of {len(flips)} "
        f"({flagged / len(flips):.1%}); plain reads of {silent_reads} of them returned "
        "wrong data without an error"
    )
    assert flagged == len(flips)  # CRC-32 detects every single-bit error


def test_open_with_verify_names_the_damaged_chunk_and_region(scan: Path, tmp_path: Path) -> None:
    damaged_index = 13  # the middle chunk of the 3x3x3 grid
    start, stop = frame_layout(scan).chunks[damaged_index]
    copy = tmp_path / "damaged.mla"
    copy.write_bytes(_flip_bit(scan.read_bytes(), (start + stop) // 2, 3))
    expected = _children.volume(0)
    opened = MLArray.open(copy, verify=True)
    np.testing.assert_array_equal(opened[0:16, 0:32, 0:32], expected[0:16, 0:32, 0:32])
    region = chunk_region(opened.shape, (16, 32, 32), damaged_index)
    assert region == (slice(16, 32), slice(32, 64), slice(32, 64))
    with pytest.raises(ChecksumError) as raised:
        opened[20, 40:41, 50]
    message = str(raised.value)
    assert str(copy) in message
    assert "chunk 13" in message
    assert "[16:32, 32:64, 32:64]" in message
    with pytest.raises(ChecksumError, match="chunk 13"):
        opened.to_numpy()
    with pytest.raises(ChecksumError, match="chunk 13"):
        MLArray.load(copy, verify=True)
    MLArray.load(copy)  # without verify, damage goes unnoticed until the data is read


def test_read_patches_with_verify_refuses_a_damaged_chunk(scan: Path, tmp_path: Path) -> None:
    start, stop = frame_layout(scan).chunks[13]
    copy = tmp_path / "damaged.mla"
    copy.write_bytes(_flip_bit(scan.read_bytes(), (start + stop) // 2, 3))
    expected = _children.volume(0)
    opened = MLArray.open(copy, verify=True)
    clean = opened.read_patches([[0, 0, 0], [32, 64, 64]], 16)
    np.testing.assert_array_equal(clean[1], expected[32:48, 64:80, 64:80])
    with pytest.raises(ChecksumError, match=r"chunk 13 \(array region \[16:32, 32:64, 32:64\]\)"):
        opened.read_patches([[0, 0, 0], [20, 40, 40]], 8)
    unchecked = MLArray.open(copy).read_patches([[20, 40, 40]], 8)  # no verify: no error
    assert unchecked.shape == (1, 8, 8, 8)


def test_every_chunk_is_checked_once_per_open(scan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[int] = []
    original = _integrity.damaged_chunks

    def counting(array: Any, record: dict[str, Any], indices: Any) -> list[int]:
        indices = list(indices)
        checked.extend(indices)
        return original(array, record, indices)

    monkeypatch.setattr(_integrity, "damaged_chunks", counting)
    opened = MLArray.open(scan, verify=True)
    opened[0:16, 0:32, 0:32]
    opened[0:16, 0:32, 0:32]
    opened[...]
    assert sorted(checked) == list(range(27))


def test_reads_without_verify_do_no_checksum_work(
    scan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: Any) -> list[int]:
        raise AssertionError("checksums computed without verify=True")

    monkeypatch.setattr(_integrity, "damaged_chunks", forbidden)
    opened = MLArray.open(scan)
    opened[0:8, 0:8, 0:8]
    opened.to_numpy()
    MLArray.load(scan).to_numpy()


def test_writes_switch_read_verification_off(scan: Path, tmp_path: Path) -> None:
    copy = tmp_path / "edited.mla"
    shutil.copyfile(scan, copy)
    opened = MLArray.open(copy, mmap_mode="r+", verify=True)
    opened[0:2, 0:2, 0:2] = 5
    assert int(opened[0, 0, 0]) == 5
    opened.close()
    assert verify_file(copy).ok  # close() recorded fresh checksums
    reopened = MLArray.open(copy, verify=True)
    assert int(reopened[1, 1, 1]) == 5


def test_files_without_checksums_verify_structurally(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.mla"
    shutil.copyfile(FIXTURES / "legacy_0054.mla", legacy)
    report = verify_file(legacy)
    assert report.ok
    assert not report.checksums
    assert report.chunks_checked == 1
    opened = MLArray.open(legacy, verify=True)
    assert opened[...].shape == (4, 5, 6)
    assert MLArray.load(legacy, verify=True).shape == (4, 5, 6)


def test_verify_command_reports_the_first_damaged_chunk(
    scan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, stop = frame_layout(scan).chunks[2]
    copy = tmp_path / "damaged.mla"
    copy.write_bytes(_flip_bit(scan.read_bytes(), stop - 1, 0))
    assert cli_main(["verify", str(scan), str(copy)]) == 1
    out = capsys.readouterr().out
    assert f"{scan}: OK, checksums and 27 chunks decompressed" in out
    assert f"{copy}: FAILED" in out
    assert "chunk 2 (array region [0:16, 0:32, 64:96]) does not match its checksum" in out


@pytest.mark.parametrize("relabel", [b"<u2", b"<f2"])
def test_a_relabelled_dtype_fails_the_layout_checksum(
    scan: Path, tmp_path: Path, relabel: bytes
) -> None:
    """The chunks are intact, but the header says to read them as another dtype."""
    data = scan.read_bytes()
    position = data.index(b"<i2", 0, read_frame(scan).header_length)
    copy = tmp_path / "relabelled.mla"
    copy.write_bytes(data[:position] + relabel + data[position + 3 :])
    assert MLArray.open(copy)[...].dtype == np.dtype(relabel.decode())  # reads, wrongly
    report = verify_file(copy)
    assert not report.ok
    assert any("layout" in problem and relabel.decode() in problem for problem in report.problems)
    with pytest.raises(ChecksumError, match="frame header is damaged"):
        MLArray.open(copy, verify=True)[0]
    with pytest.raises(ChecksumError, match="frame header is damaged"):
        MLArray.load(copy, verify=True)


def test_records_without_a_layout_checksum_still_verify(scan: Path, tmp_path: Path) -> None:
    """Files saved before the layout checksum existed keep verifying their chunks."""
    copy = tmp_path / "older.mla"
    shutil.copyfile(scan, copy)
    header = read_header_mapping(copy)
    record = {key: value for key, value in header.integrity.items() if key != "layout"}
    stored = blosc2.open(str(copy), mode="a")
    write_file_metadata(stored, Meta.from_mapping(header.meta), integrity=record)
    del stored
    assert "layout" not in read_header_mapping(copy).integrity
    report = verify_file(copy)
    assert report.ok
    assert report.checksums
    np.testing.assert_array_equal(MLArray.load(copy, verify=True)[...], MLArray.load(scan)[...])


KEYS: list[Any] = [
    (slice(None),),
    Ellipsis,
    (0,),
    (-1, slice(3, 40), 95),
    (slice(10, 30), Ellipsis),
    (Ellipsis, slice(60, 70)),
    (slice(None, None, -1), 5),
    (slice(40, 10, -7), slice(0, 96, 33), slice(95, 0, -40)),
    (slice(20, 20),),
    (np.int64(17), 1, 2),
    (slice(0, 48, 47), slice(31, 33), slice(63, 65)),
    ([0, 40], slice(0, 4)),
    (np.arange(48) % 2 == 0,),
    (None, 3),
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_touched_chunks_covers_exactly_the_chunks_a_basic_index_reads(key: Any) -> None:
    shape, chunks = (48, 96, 96), (16, 32, 32)
    grid = tuple(-(-size // chunk) for size, chunk in zip(shape, chunks, strict=True))
    ids = np.arange(np.prod(grid)).reshape(grid)
    owner = ids[
        np.ix_(*(np.arange(size) // chunk for size, chunk in zip(shape, chunks, strict=True)))
    ]
    truth = set(np.unique(owner[key]).tolist())
    found = set(touched_chunks(shape, chunks, key))
    assert truth <= found
    basic = all(
        isinstance(item, slice | int | np.integer) or item is Ellipsis
        for item in (key if isinstance(key, tuple) else (key,))
    )
    if basic:
        assert found == truth


@pytest.mark.parametrize("read_before_pickling", [False, True])
def test_a_pickled_handle_keeps_verify(
    scan: Path, tmp_path: Path, read_before_pickling: bool
) -> None:
    """What docs/pytorch.md recommends: open in the parent, pickle to spawned workers."""
    start, stop = frame_layout(scan).chunks[13]
    copy = tmp_path / "damaged.mla"
    copy.write_bytes(_flip_bit(scan.read_bytes(), (start + stop) // 2, 3))
    opened = MLArray.open(copy, verify=True)
    if read_before_pickling:
        opened[0:16, 0:32, 0:32]
    worker = pickle.loads(pickle.dumps(opened))
    np.testing.assert_array_equal(worker[0:16, 0:32, 0:32], _children.volume(0)[0:16, 0:32, 0:32])
    with pytest.raises(ChecksumError, match="chunk 13"):
        worker[20, 40, 50]
    unchecked = pickle.loads(pickle.dumps(MLArray.open(copy)))
    assert unchecked[20, 40, 50] is not None  # without verify: no checksum work, no error
