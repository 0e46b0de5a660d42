"""Foreground oversampling policies: which patches of a batch are centred on foreground."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mlarray.errors import MetaValidationError

__all__ = ["BatchTailOversampling", "NoOversampling", "Oversampling", "ProbabilisticOversampling"]


def _fraction(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise MetaValidationError(f"{name}: expected a value in [0, 1], got {value}")
    return float(value)


class Oversampling(Protocol):
    """Decides whether patch ``slot`` of a batch of ``size`` patches holds foreground."""

    def foreground(self, slot: int, size: int, rng: np.random.Generator) -> bool:
        """Whether the patch at ``slot`` is centred on a foreground voxel."""
        ...


class NoOversampling:
    """Every patch is drawn uniformly."""

    def foreground(self, slot: int, size: int, rng: np.random.Generator) -> bool:
        """Never."""
        return False

    def __repr__(self) -> str:
        return "NoOversampling()"


class ProbabilisticOversampling:
    """Each patch is centred on foreground with probability ``probability``.

    Args:
        probability: In [0, 1].
    """

    def __init__(self, probability: float) -> None:
        self.probability = _fraction(probability, "oversampling probability")

    def foreground(self, slot: int, size: int, rng: np.random.Generator) -> bool:
        """A coin flip with the policy's probability."""
        return bool(rng.random() < self.probability)

    def __repr__(self) -> str:
        return f"ProbabilisticOversampling({self.probability})"


class BatchTailOversampling:
    """nnU-Net's rule: the last ``fraction`` of each batch is centred on foreground.

    Patch ``slot`` of a batch of ``size`` holds foreground when
    ``slot >= round(size * (1 - fraction))``: with batches of 2 and a third, the
    second patch of every batch.

    Args:
        fraction: In [0, 1]; nnU-Net's default is 0.33.
    """

    def __init__(self, fraction: float = 0.33) -> None:
        self.fraction = _fraction(fraction, "oversampling fraction")

    def foreground(self, slot: int, size: int, rng: np.random.Generator) -> bool:
        """True for the batch's last slots."""
        return slot >= round(size * (1 - self.fraction))

    def __repr__(self) -> str:
        return f"BatchTailOversampling({self.fraction})"
