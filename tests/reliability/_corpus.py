"""A corpus of damaged and hostile ``.mla`` files, generated from valid ones.

:func:`make_sources` writes the valid files with :class:`MLArray` (plus a copy of
the ``mlarray`` 0.0.54 fixture); :func:`make_corpus` derives the cases from them:
truncations, byte flips by region (frame header, chunk offsets index, trailer and
vlmeta entries, chunk headers, chunk data) and in two regions at once (a metadata
entry or the trailer, plus a chunk's data), pickles with dangerous globals, gzip
and chunk bombs, hostile JSON, metadata that disagrees with the array, foreign
metalayers, an empty file and a directory. ``scale`` multiplies the number of
random flips; ``seed`` picks them.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import random
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
from blosc2.msgpack_utils import msgpack_packb

from mlarray import MLArray
from mlarray_meta.format import read_frame

FIXTURES = Path(__file__).resolve().parents[1] / "meta" / "data"
_FLIPS_PER_REGION = 12  # per source file and region, times ``scale``


@dataclass(frozen=True)
class Source:
    """A valid file the cases are derived from.

    Attributes:
        name: Short name (``"ct"``, ``"channels"``, ``"metaonly"``, ``"legacy"``).
        path: The file.
        reference: Path of a ``.npy`` with the array, or None for a metadata-only file.
        patch: The patch the worker reads, as ``(start, stop)`` per axis.
    """

    name: str
    path: Path
    reference: Path | None
    patch: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Layout:
    """Where the parts of a source's frame are, as byte ranges ``(start, stop)``."""

    size: int
    header: tuple[int, int]
    chunks: list[tuple[int, int]]
    index: tuple[int, int]
    trailer: tuple[int, int]
    vlmeta: dict[str, tuple[int, int]]


@dataclass
class Case:
    """One corpus file and where it came from."""

    name: str
    kind: str
    path: Path
    source: Source
    sentinel: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def job(self) -> dict[str, Any]:
        """The worker's description of this case."""
        return {
            "name": self.name,
            "path": str(self.path),
            "reference": self.source.name if self.source.reference else None,
            "patch": [list(span) for span in self.source.patch],
        }


def make_sources(folder: Path) -> list[Source]:
    """Write the valid source files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ct = (rng.normal(0, 150, (24, 40, 48)).cumsum(axis=2)).astype(np.int16)
    image = MLArray(
        ct,
        spacing=[0.8, 0.8, 2.5],
        origin=[-120.5, -98.0, 30.0],
        meta={"PatientID": "anon", "Modality": "CT"},
        patch_size=None,
        chunk_size=(12, 16, 16),
        block_size=(6, 8, 8),
    )
    image.meta.stats.min = int(ct.min())
    image.save(folder / "ct.mla")
    labels = rng.integers(0, 4, (2, 12, 16, 20)).astype(np.uint8)
    MLArray(
        labels,
        axis_labels=["channel", "spatial_z", "spatial_y", "spatial_x"],
        patch_size=None,
        chunk_size=(1, 6, 8, 10),
        block_size=(1, 3, 4, 5),
    ).save(folder / "channels.mla")
    metaonly = MLArray(None, meta={"study": "boxes"})
    metaonly.meta.bbox.bboxes = [[[0, 4], [2, 6], [1, 9]]]
    metaonly.meta.bbox.scores = [0.75]
    metaonly.save(folder / "metaonly.mla")
    shutil.copyfile(FIXTURES / "legacy_0054.mla", folder / "legacy.mla")
    sources = []
    for name, patch in (
        ("ct", ((3, 17), (5, 29), (30, 48))),
        ("channels", ((1, 2), (2, 9), (0, 16), (4, 15))),
        ("metaonly", ()),
        ("legacy", ((1, 3), (0, 5), (2, 6))),
    ):
        path = folder / f"{name}.mla"
        reference = None
        if patch:
            reference = folder / f"{name}.npy"
            np.save(reference, blosc2.open(str(path), mode="r")[...])
        sources.append(Source(name, path, reference, patch))
    return sources


def frame_layout(path: Path) -> Layout:
    """Locate the header, chunks, chunk index, trailer and vlmeta entries of ``path``."""
    data = path.read_bytes()
    frame = read_frame(path)
    array = blosc2.open(str(path), mode="r")  # keep it alive while its schunk is used
    schunk = array.schunk
    chunks = []
    position = frame.header_length
    for index in range(schunk.nchunks):
        chunk = schunk.get_chunk(index)
        start = data.index(chunk, position)
        chunks.append((start, start + len(chunk)))
        position = start + len(chunk)
    trailer_start = frame.frame_length - frame.trailer_length
    vlmeta = {}
    for name, raw in frame.vlmeta.items():
        start = data.index(raw, trailer_start)
        vlmeta[name] = (start, start + len(raw))
    return Layout(
        size=len(data),
        header=(0, frame.header_length),
        chunks=chunks,
        index=(position, trailer_start),
        trailer=(trailer_start, len(data)),
        vlmeta=vlmeta,
    )


class _Builder:
    """Writes case files into one folder and collects the cases."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cases: list[Case] = []

    def _path(self, source: Source, kind: str) -> Path:
        slug = kind.replace(" ", "-")
        return self.folder / f"{len(self.cases):05d}-{source.name}-{slug}.mla"

    def add_bytes(self, source: Source, kind: str, name: str, data: bytes) -> Case:
        path = self._path(source, kind)
        path.write_bytes(data)
        case = Case(name=f"{source.name}: {name}", kind=kind, path=path, source=source)
        self.cases.append(case)
        return case

    def add_edited(self, source: Source, kind: str, name: str, edit: Callable[[Any], None]) -> Case:
        """Copy ``source`` and let ``edit`` change it through blosc2 (``mode='a'``)."""
        path = self._path(source, kind)
        shutil.copyfile(source.path, path)
        array = blosc2.open(str(path), mode="a")
        edit(array.schunk.vlmeta)
        del array
        case = Case(name=f"{source.name}: {name}", kind=kind, path=path, source=source)
        self.cases.append(case)
        return case


def _truncation_lengths(layout: Layout) -> list[int]:
    size = layout.size
    lengths = {size * step // 64 for step in range(64)}
    boundaries = [layout.header[1], layout.index[0], layout.trailer[0], size - 23, size]
    boundaries += [start for start, _ in layout.chunks[:2]]
    boundaries += [start for start, _ in layout.vlmeta.values()]
    for boundary in boundaries:
        lengths.update(boundary + delta for delta in (-2, -1, 0, 1, 2))
    return sorted(length for length in lengths if 0 <= length < size)


def _flip(data: bytes, position: int, rng: random.Random) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= rng.randrange(1, 256)
    return bytes(damaged)


def _regions(layout: Layout) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    yield "header flip", [layout.header]
    if layout.index[1] > layout.index[0]:
        yield "index flip", [layout.index]
    yield "trailer flip", [layout.trailer]
    if layout.vlmeta:
        yield "vlmeta flip", list(layout.vlmeta.values())
    if layout.chunks:
        yield "chunk header flip", [(start, start + 32) for start, _ in layout.chunks]
        yield "chunk data flip", [(start + 32, stop) for start, stop in layout.chunks]


def _pick(spans: list[tuple[int, int]], rng: random.Random) -> int:
    start, stop = rng.choice([span for span in spans if span[1] > span[0]])
    return rng.randrange(start, stop)


def _paired_regions(layout: Layout) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """Regions damaged together with a chunk's data: where the checksums live."""
    if layout.vlmeta:
        yield "metadata entry + chunk flip", list(layout.vlmeta.values())
    yield "trailer + chunk flip", [layout.trailer]


def _add_gzip_time_flip(
    builder: _Builder, source: Source, data: bytes, layout: Layout, chunk_byte: int
) -> None:
    """A bit of the legacy entry's gzip timestamp (outside gzip's CRC) and a chunk byte."""
    if "mlarray" not in layout.vlmeta:
        return
    start, stop = layout.vlmeta["mlarray"]
    position = data.index(b"\x1f\x8b\x08", start, stop) + 4
    damaged = bytearray(data)
    damaged[position] ^= 0x01
    damaged[chunk_byte] ^= 0x10
    name = f"gzip timestamp of vlmeta 'mlarray' and byte {chunk_byte} flipped"
    builder.add_bytes(source, "metadata entry + chunk flip", name, bytes(damaged))


def add_damage(builder: _Builder, source: Source, *, scale: int, seeds: list[int]) -> None:
    """Truncations and random byte flips of ``source``, region by region and in pairs.

    The pairs flip a byte where the metadata and its checksum record are stored
    and one in a chunk's data: the damaged metadata must not switch the checks of
    the damaged chunk off.
    """
    data = source.path.read_bytes()
    layout = frame_layout(source.path)
    for length in _truncation_lengths(layout):
        builder.add_bytes(source, "truncated", f"truncated to {length} bytes", data[:length])
    chunk_data = [(start + 32, stop) for start, stop in layout.chunks]
    for seed in seeds:
        rng = random.Random(f"{seed}-{source.name}")
        for kind, spans in _regions(layout):
            for _ in range(_FLIPS_PER_REGION * scale):
                position = _pick(spans, rng)
                damaged = _flip(data, position, rng)
                builder.add_bytes(source, kind, f"byte {position} flipped (seed {seed})", damaged)
        if not layout.chunks:
            continue
        _add_gzip_time_flip(builder, source, data, layout, _pick(chunk_data, rng))
        for kind, spans in _paired_regions(layout):
            for _ in range(_FLIPS_PER_REGION * scale):
                first, second = _pick(spans, rng), _pick(chunk_data, rng)
                damaged = _flip(_flip(data, first, rng), second, rng)
                name = f"bytes {first} and {second} flipped (seed {seed})"
                builder.add_bytes(source, kind, name, damaged)


class _Payload:
    """Pickles to a call of ``function(*args)``: what an attacker puts in a pickle."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function = function
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.function, self.args


def _attacks(sentinel: Path) -> dict[str, _Payload]:
    target = str(sentinel)
    return {
        "os.system": _Payload(os.system, f"touch '{target}'"),
        "builtins.eval": _Payload(eval, f"open({target!r}, 'w').close()"),
        "subprocess.Popen": _Payload(subprocess.Popen, ["touch", target]),
    }


def _set_raw(key: str, payload: bytes, *, drop: str | None = None) -> Callable[[Any], None]:
    def edit(vlmeta: Any) -> None:
        vlmeta.set_vlmeta(key, msgpack_packb(payload), typesize=1, clevel=0)
        if drop is not None and drop in vlmeta:
            del vlmeta[drop]

    return edit


def add_pickles(builder: _Builder, source: Source) -> None:
    """Metadata entries replaced by pickles whose loading would create a sentinel file."""
    for protocol in (0, 2, 5):
        for attack in ("os.system", "builtins.eval", "subprocess.Popen"):
            for key in ("mlarray", "mla"):
                sentinel = builder.folder / f"sentinel-{len(builder.cases):05d}"
                payload = {"source": {"data": {"x": _attacks(sentinel)[attack]}}}
                raw = pickle.dumps(payload, protocol=protocol)
                stored = gzip.compress(raw) if key == "mlarray" else raw
                drop = "mla" if key == "mlarray" else None
                name = f"pickle protocol {protocol} calling {attack} in vlmeta {key!r}"
                case = builder.add_edited(source, "pickle", name, _set_raw(key, stored, drop=drop))
                case.sentinel = sentinel


def _gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (run-length matching: as small as level 9, 2x faster)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 9, zlib.Z_RLE)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(size // 2**20)]
    return b"".join([*parts, compressor.flush()])


def _memcpyed_header(nbytes: int, cbytes: int) -> bytes:
    """A Blosc2 extended chunk header of a memcpyed chunk (typesize 1)."""
    header = bytearray(32)
    header[0], header[1], header[2], header[3] = 5, 1, 0x02 | 0x01 | 0x04 | 0x10, 1
    struct.pack_into("<iii", header, 4, nbytes, nbytes, cbytes)
    return bytes(header)


def add_bombs(builder: _Builder, source: Source) -> None:
    """gzip bombs in the legacy entry, and vlmeta chunks that declare huge sizes."""
    bomb = _gzip_bomb(256 * 2**20)
    builder.add_edited(
        source,
        "bomb",
        "gzip bomb (256 MiB) in vlmeta 'mlarray'",
        _set_raw("mlarray", bomb, drop="mla"),
    )
    nested = gzip.compress(bomb)
    builder.add_edited(
        source,
        "bomb",
        "gzip of a gzip bomb in vlmeta 'mlarray'",
        _set_raw("mlarray", nested, drop="mla"),
    )
    data = source.path.read_bytes()
    start, _ = frame_layout(source.path).vlmeta["mla"]
    for declared in (2**31 - 1, 300 * 2**20):
        damaged = bytearray(data)
        struct.pack_into("<i", damaged, start + 4, declared)
        builder.add_bytes(
            source, "bomb", f"vlmeta 'mla' chunk declares {declared} bytes", bytes(damaged)
        )

    def zeros(vlmeta: Any) -> None:
        vlmeta.set_vlmeta("mla", bytes(200 * 2**20), typesize=1, clevel=5)

    builder.add_edited(source, "bomb", "vlmeta 'mla' is a 200 MiB run of zeros", zeros)


def _envelope(meta: Any, **members: Any) -> bytes:
    document = {"format": "mla", "format_version": "1.0", "meta": meta, **members}
    return json.dumps(document).encode()


def _hostile_json(meta: dict[str, Any], *, huge: bool) -> dict[str, bytes]:
    spatial = meta["spatial"]
    deep_list = "[" * 100_000 + "]" * 100_000
    cases: dict[str, bytes] = {
        "JSON nested 100000 deep": b'{"format":"mla","format_version":"1.0","meta":'
        + deep_list.encode()
        + b"}",
        "JSON object nested 500 deep in meta.source": _envelope(
            {**meta, "source": {"data": json.loads("{" + '"a":{' * 500 + "}" * 501)}}
        ),
        "large JSON (2 MiB string, valid)": _envelope(
            {**meta, "source": {"data": {"note": "x" * (2 * 2**20)}}}
        ),
        "JSON array instead of object": b"[1, 2, 3]",
        "JSON null": b"null",
        "not UTF-8": b'{"format": "mla", "\xff\xfe": 1}',
        "NaN literal": _envelope(meta).replace(b'"source"', b'"x": NaN, "source"', 1),
        "duplicate keys": _envelope(meta)[:-1] + b', "meta": {}}',
        "trailing garbage": _envelope(meta) + b"}}}",
        "empty entry": b"",
        "format is wrong": json.dumps({"format": "zarr", "meta": meta}).encode(),
        "format_version is a number": json.dumps(
            {"format": "mla", "format_version": 1.0, "meta": meta}
        ).encode(),
        "format_version from the future": json.dumps(
            {"format": "mla", "format_version": "99.0", "meta": meta}
        ).encode(),
        "meta is a list": _envelope([meta]),
        "meta.spatial is a string": _envelope({**meta, "spatial": "RAS"}),
        "spacing is a string": _envelope({**meta, "spatial": {**spatial, "spacing": "1,1,1"}}),
        "shape holds strings": _envelope(
            {**meta, "spatial": {**spatial, "shape": ["a", "b", "c"]}}
        ),
        "shape holds negatives": _envelope({**meta, "spatial": {**spatial, "shape": [-1, 5, 6]}}),
        "direction is ragged": _envelope(
            {**meta, "spatial": {**spatial, "direction": [[1], [0, 1]]}}
        ),
        "unknown section": _envelope({**meta, "evil": {"x": 1}}),
        "has_array is a string": _envelope({**meta, "_has_array": {"has_array": "yes"}}),
        "integrity is a list": _envelope(meta, integrity=[1, 2]),
        "integrity chunks are strings": _envelope(
            meta, integrity={"algorithm": "crc32", "chunks": ["a"]}
        ),
        "integrity algorithm unknown": _envelope(
            meta, integrity={"algorithm": "md5", "chunks": []}
        ),
        "integrity lists too few chunks": _envelope(
            meta, integrity={"algorithm": "crc32", "chunks": [1]}
        ),
        "integrity checksums all wrong": _envelope(
            meta, integrity={"algorithm": "crc32", "chunks": [0] * 16}
        ),
    }
    if huge:
        cases["huge JSON (65 MiB string)"] = _envelope(
            {**meta, "source": {"data": "x" * (65 * 2**20)}}
        )
    return cases


def add_hostile_json(builder: _Builder, source: Source, *, huge: bool) -> None:
    """The JSON envelope replaced by huge, deeply nested or ill-typed documents.

    ``huge`` adds an envelope above the size limit (65 MiB on disk: one source is enough,
    the limit is checked before the envelope is looked at).
    """
    meta = read_frame(source.path).vlmeta_value("mla")
    mapping = json.loads(meta)["meta"]
    for name, payload in _hostile_json(mapping, huge=huge).items():
        builder.add_edited(source, "hostile json", name, _set_raw("mla", payload))

    def packed_int(vlmeta: Any) -> None:
        vlmeta.set_vlmeta("mla", msgpack_packb(12345), typesize=1, clevel=0)

    builder.add_edited(source, "hostile json", "vlmeta 'mla' holds a msgpack int", packed_int)

    def compressed(vlmeta: Any) -> None:
        vlmeta["mla"] = meta

    builder.add_edited(source, "hostile json", "vlmeta 'mla' compressed by blosc2", compressed)


def _with_meta(source: Source, change: Callable[[dict[str, Any]], None]) -> Callable[[Any], None]:
    document = json.loads(read_frame(source.path).vlmeta_value("mla"))
    change(document["meta"])
    return _set_raw("mla", json.dumps(document).encode())


def _replace_in_header(data: bytes, header_length: int, old: bytes, new: bytes) -> bytes:
    position = data.index(old, 0, header_length)
    return data[:position] + new + data[position + len(new) :]


def add_disagreements(builder: _Builder, source: Source, folder: Path) -> None:
    """Shapes, dtypes and chunk sizes in the metadata or header that disagree with the array."""
    edits: dict[str, Callable[[dict[str, Any]], None]] = {
        "metadata shape differs": lambda m: m["spatial"].update(shape=[24, 40, 47]),
        "metadata shape has another ndim": lambda m: m["spatial"].update(shape=[24, 40]),
        "metadata chunk_size differs": lambda m: m["blosc2"].update(chunk_size=[1, 1, 1]),
        "metadata block_size differs": lambda m: m["blosc2"].update(block_size=[24, 40, 48]),
        "metadata spacing has another ndim": lambda m: m["spatial"].update(spacing=[1.0, 1.0]),
        "metadata says no array": lambda m: m["_has_array"].update(has_array=False),
    }
    for name, change in edits.items():
        builder.add_edited(source, "disagreement", name, _with_meta(source, change))
    data = source.path.read_bytes()
    header_length = frame_layout(source.path).header[1]
    for name, old, new in (
        ("header dtype <i2 -> <u2", b"<i2", b"<u2"),
        ("header dtype <i2 -> <f2", b"<i2", b"<f2"),
        ("header dtype <i2 -> <i4", b"<i2", b"<i4"),
        ("header dtype <i2 -> |O8", b"<i2", b"|O8"),
        ("header dtype <i2 -> |V2", b"<i2", b"|V2"),
    ):
        builder.add_bytes(
            source, "disagreement", name, _replace_in_header(data, header_length, old, new)
        )
    wide = folder / "int64.mla"
    if not wide.exists():
        MLArray(np.arange(4 * 6 * 8, dtype=np.int64).reshape(4, 6, 8), patch_size=None).save(wide)
    wide_data = wide.read_bytes()
    wide_header = read_frame(wide).header_length
    for name, new in (("int64 array as dtype |O8", b"|O8"), ("int64 array as dtype <M8", b"<M8")):
        builder.add_bytes(
            source, "disagreement", name, _replace_in_header(wide_data, wide_header, b"<i8", new)
        )


def add_foreign_metalayers(builder: _Builder, source: Source, folder: Path) -> None:
    """Frames whose fixed metalayers make blosc2 open something other than an NDArray."""
    array = blosc2.open(str(source.path), mode="r")[...]
    for layer in ("proxy-source", "LazyArray", "b2o", "b2embed", "b2dict", "b2tree", "vlarray"):
        path = folder / f"foreign-{layer}.mla"
        content = {"local_abspath": "/etc/passwd", "urlpath": None, "caterva2_env": False}
        blosc2.asarray(array, urlpath=str(path), mode="w", meta={layer: content})
        builder.add_bytes(
            source, "foreign metalayer", f"fixed metalayer {layer!r}", path.read_bytes()
        )
        path.unlink()


def make_corpus(
    sources: list[Source], folder: Path, *, scale: int = 1, seeds: tuple[int, ...] = (0,)
) -> list[Case]:
    """Derive every corpus case from ``sources`` into ``folder``.

    Args:
        sources: The valid files from :func:`make_sources`.
        folder: Where the case files are written.
        scale: Multiplies the number of random byte flips per region.
        seeds: One set of random flips per seed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    builder = _Builder(folder)
    by_name = {source.name: source for source in sources}
    for source in sources:
        add_damage(builder, source, scale=scale, seeds=list(seeds))
    ct = by_name["ct"]
    add_pickles(builder, ct)
    add_pickles(builder, by_name["legacy"])
    add_bombs(builder, ct)
    add_hostile_json(builder, ct, huge=True)
    add_hostile_json(builder, by_name["metaonly"], huge=False)
    add_disagreements(builder, ct, folder)
    add_foreign_metalayers(builder, ct, folder)
    empty = builder.add_bytes(ct, "empty", "zero-length file", b"")
    assert empty.path.stat().st_size == 0
    directory = folder / "x.mla"
    directory.mkdir(exist_ok=True)
    builder.cases.append(
        Case(name="directory named x.mla", kind="directory", path=directory, source=ct)
    )
    return builder.cases
