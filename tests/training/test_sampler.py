"""The sampler: deterministic plans, disjoint shards, oversampling rules, boxes."""

from __future__ import annotations

import numpy as np
import pytest

from mlarray._index_store import ForegroundIndex, LabelIndex
from mlarray.errors import MetaValidationError
from mlarray.training import (
    BatchTailOversampling,
    PatchRequest,
    PatchSampler,
    ProbabilisticOversampling,
)


def index_of(labels: dict[int, list[tuple[int, ...]]], shape: tuple[int, ...]) -> ForegroundIndex:
    entries = []
    for value, voxels in labels.items():
        flat = np.sort(np.ravel_multi_index(np.array(voxels).T, shape)).astype(np.int64)
        box = tuple(
            (int(a), int(b) + 1) for a, b in zip(np.min(voxels, 0), np.max(voxels, 0), strict=True)
        )
        entries.append(LabelIndex(value, len(voxels), box, flat))
    return ForegroundIndex(shape, bytes(16), 0, tuple(entries))


def test_plans_are_deterministic() -> None:
    sampler = PatchSampler(10, patch_size=8, batch_size=3, seed=5)
    again = PatchSampler(10, patch_size=8, batch_size=3, seed=5)
    assert sampler.plan(0) == again.plan(0)
    assert sampler.plan(0) != sampler.plan(1)
    assert sampler.plan(0) != PatchSampler(10, patch_size=8, batch_size=3, seed=6).plan(0)
    batches = sampler.plan(0)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(r.case for b in batches for r in b) == list(range(10))


@pytest.mark.parametrize("per_epoch", [None, 7])
def test_shards_are_disjoint(per_epoch: int | None) -> None:
    for epoch in range(5):
        drawn = []
        for rank in range(3):
            sampler = PatchSampler(
                11, patch_size=4, batch_size=2, rank=rank, world_size=3, batches_per_epoch=per_epoch
            )
            cases = {r.case for b in sampler.plan(epoch) for r in b}
            assert cases <= set(sampler.shard(epoch).tolist())
            assert len(sampler.shard(epoch)) == 3
            drawn.append(cases)
        assert not drawn[0] & drawn[1]
        assert not drawn[1] & drawn[2]
        assert not drawn[0] & drawn[2]


def test_batch_tail_rule() -> None:
    for size, fg_slots in ((2, [1]), (3, [2]), (6, [4, 5])):
        sampler = PatchSampler(
            size * 4, patch_size=4, batch_size=size, oversampling=BatchTailOversampling(0.33)
        )
        for batch in sampler.plan(0):
            assert [slot for slot, r in enumerate(batch) if r.foreground] == fg_slots


def test_probability_rule_within_tolerance() -> None:
    sampler = PatchSampler(
        40,
        patch_size=4,
        batch_size=4,
        oversampling=ProbabilisticOversampling(0.3),
        batches_per_epoch=250,
    )
    flags = [r.foreground for b in sampler.plan(0) for r in b]
    # 1000 Bernoulli(0.3) draws: sd 0.0145, 5 sd either side
    assert abs(np.mean(flags) - 0.3) < 0.073


def test_uniform_boxes_follow_nnunet_padding() -> None:
    sampler = PatchSampler(1, patch_size=(8, 12), batch_size=1, seed=1)
    starts = {sampler.locate(PatchRequest(0, False, (1, n)), (10, 7), None) for n in range(400)}
    first = sorted({s[0] for s in starts})
    second = sorted({s[1] for s in starts})
    assert first == [0, 1, 2]  # 10 - 8
    # 5 voxels short: from -5 // 2 = -3 to 7 + 2 + 1 - 12 = -2
    assert second == [-3, -2]


def test_foreground_boxes_centre_on_labels() -> None:
    shape = (30, 30, 30)
    index = index_of({1: [(15, 15, 15)], 2: [(1, 28, 2)]}, shape)
    sampler = PatchSampler(1, patch_size=(10, 10, 6), batch_size=1, label_weights={1: 0})
    start = sampler.locate(PatchRequest(0, True, (0,)), shape, index)
    assert start == (0, 20, 0)  # centred on (1, 28, 2), moved inside the volume
    weighted = PatchSampler(1, patch_size=4, batch_size=1, label_weights={1: 1, 2: 9})
    centred_on_two = [
        weighted.locate(PatchRequest(0, True, (k,)), shape, index)[0] == 0 for k in range(500)
    ]
    assert 0.85 < np.mean(centred_on_two) < 0.95
    assert sampler.eligible(index) == [index.labels[1]]
    assert sampler.eligible(None) == []


def test_bad_fraction() -> None:
    with pytest.raises(MetaValidationError, match=r"expected a value in \[0, 1\], got 1.5"):
        ProbabilisticOversampling(1.5)
    with pytest.raises(MetaValidationError, match="oversampling fraction"):
        BatchTailOversampling(-0.1)


def test_two_dimensional_patches() -> None:
    sampler = PatchSampler(1, patch_size=(16, 8), batch_size=1, slice_axis=2)
    assert sampler.box_shape(3) == (16, 8, 1)
    assert sampler.box_shape(2) == (16, 8)
    with pytest.raises(MetaValidationError, match="fits neither 4-D volumes"):
        sampler.box_shape(4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 2, "world_size": 2}, "expected 0 <= rank"),
        ({"world_size": 5}, "expected 0 <= rank"),
        ({"batch_size": 0}, "must be positive"),
        ({"patch_size": (4, 0)}, "positive integers"),
        ({"label_weights": {1: -1.0}}, "weights >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"patch_size": 4, "batch_size": 2, **kwargs}
    with pytest.raises(MetaValidationError, match=message):
        PatchSampler(4, **arguments)  # type: ignore[arg-type]
