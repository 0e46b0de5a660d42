"""How an array is stored: the storage arguments as one specification, planned per array.

Every way of making an array (``MLArray(array)``, :meth:`~mlarray.MLArray.create`,
:meth:`~mlarray.MLArray.compress` and the constructors ``zeros``, ``asarray`` ...)
takes the same storage arguments. They become one :class:`StorageSpec` (with
:meth:`StorageSpec.of`), and :meth:`StorageSpec.plan` turns it into the
:class:`StoragePlan` of one array: its chunks, blocks and Blosc2 parameters. This
is the only place that reads the storage arguments:

* ``patch_size``: the patch read most often, which the chunk and block shapes are
  optimised for (:mod:`mlarray.chunking`): ``"default"`` (192 per spatial axis), an
  int for every spatial axis, one int per spatial axis, or None to use
  ``chunk_size``/``block_size`` (or let Blosc2 choose).
* ``chunk_size``, ``block_size``: explicit chunk and block shapes (an int for every
  axis, or one per axis), only with ``patch_size=None``.
* ``cparams``: Blosc2 compression parameters (a dict or ``blosc2.CParams``, laid
  over the ``"fast"`` preset), or a preset name: ``"fast"`` (LZ4 with shuffle, LZ4HC
  for one-byte data) or ``"compact"`` (smaller files, slower reads). None chooses
  codec, filter and layout per array for arrays of 8 MiB or more (the automatic
  choice, :mod:`mlarray._autotune`) and the ``"fast"`` preset otherwise.
* ``dparams``: Blosc2 decompression parameters (one thread unless given).
* ``compressed``: keep the array Blosc2-compressed in memory (True) or as a NumPy
  array (False); saving always writes a compressed file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._autotune import StorageChoice, automatic_choice
from mlarray._limits import check_limits, check_storable, within_limits
from mlarray._params import decompression_params, given_cparams
from mlarray.chunking import MLARRAY_DEFAULT_PATCH_SIZE, Layout, resolve_layout
from mlarray.errors import ArgumentValueError
from mlarray.meta import Meta

__all__ = [
    "COMPACT",
    "FAST",
    "L1_BLOCK_BUDGET",
    "L2_BLOCK_BUDGET",
    "PRESETS",
    "Preset",
    "StoragePlan",
    "StorageSpec",
    "requested_patch",
]

L1_BLOCK_BUDGET = 40 * 1024
"""Block budget of the fast preset: after the optimiser's 0.8 safety factor, blocks of
up to 32 KiB, one L1 data cache (measured: 32 KiB float32 blocks read 4-12% faster than
16 KiB ones, int16 the same; docs/benchmarks.md)."""
L2_BLOCK_BUDGET = 160 * 1024
"""Bytes an uncompressed block may take for the compact preset: most of an L2 cache."""

_SHUFFLE, _PLAIN = [blosc2.Filter.SHUFFLE], [blosc2.Filter.NOFILTER]


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named storage specification: codec, level and filters per dtype, and a block budget.

    Attributes:
        name: The name given as ``cparams`` (``"fast"``, ``"compact"``).
        settings: The codec, level and filters for a dtype.
        block_budget: Bytes an uncompressed block may take; the chunk/block
            optimiser sizes blocks to it.
    """

    name: str
    settings: Callable[[np.dtype[Any]], dict[str, Any]]
    block_budget: int


FAST = Preset(
    "fast",
    lambda dtype: (
        {"codec": blosc2.Codec.LZ4HC, "clevel": 8, "filters": _PLAIN}
        if dtype.itemsize == 1
        else {"codec": blosc2.Codec.LZ4, "clevel": 9, "filters": _SHUFFLE}
    ),
    L1_BLOCK_BUDGET,
)
"""The default: LZ4 level 9 with byte shuffle for multi-byte data (compresses 4-5x
faster than LZ4HC at 0.97x its ratio on CT, same decode speed), LZ4HC level 8 without
shuffle for one-byte data (label masks: the shuffle of 1-byte items only costs decode
time); measured in docs/benchmarks.md."""
COMPACT = Preset(
    "compact",
    lambda dtype: (
        {"codec": blosc2.Codec.LZ4HC, "clevel": 9, "filters": _PLAIN}
        if dtype.kind == "f"
        else {
            "codec": blosc2.Codec.ZSTD,
            "clevel": 3,
            "filters": _PLAIN if dtype.itemsize == 1 else _SHUFFLE,
        }
    ),
    L2_BLOCK_BUDGET,
)
"""Read speed traded for size: LZ4HC level 9 on unshuffled floats (values of a
normalised image repeat as whole 4-byte words), Zstandard level 3 with shuffle on
integers, Zstandard level 3 on bytes, with blocks sized to the L2 cache."""
PRESETS = {preset.name: preset for preset in (FAST, COMPACT)}
"""The presets accepted wherever ``cparams`` is, by name."""


@dataclasses.dataclass(frozen=True)
class StoragePlan:
    """How one array is stored: its layout and its Blosc2 parameters.

    Attributes:
        chunk_size: Chunk shape, or None to let Blosc2 choose.
        block_size: Block shape, or None to let Blosc2 choose.
        patch_size: The patch size the caller asked for, one value per spatial axis
            and not clipped to the array (``meta.blosc2.patch_size``, as 0.0.54
            records it), or None when chunks and blocks were given or left to Blosc2.
        cparams: Blosc2 compression parameters.
        dparams: Blosc2 decompression parameters.
        choice: The automatic storage choice that gave chunks, blocks and
            cparams (recorded in the file), or None.
    """

    chunk_size: tuple[int, ...] | None
    block_size: tuple[int, ...] | None
    patch_size: tuple[int, ...] | None
    cparams: dict[str, Any]
    dparams: dict[str, Any]
    choice: StorageChoice | None = None

    @property
    def codec(self) -> str:
        """The codec's name (e.g. ``"LZ4"``)."""
        codec = self.cparams.get("codec", blosc2.Codec.ZSTD)
        return str(getattr(codec, "name", codec))

    def storage_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for blosc2's array constructors."""
        kwargs: dict[str, Any] = {"cparams": self.cparams, "dparams": self.dparams}
        if self.chunk_size is not None:
            kwargs["chunks"] = self.chunk_size
        if self.block_size is not None:
            kwargs["blocks"] = self.block_size
        return kwargs

    def compress(self, array: np.ndarray[Any, Any], *, urlpath: Path | None = None) -> Any:
        """Compress ``array`` into a Blosc2 NDArray, in memory or at ``urlpath``."""
        kwargs = self.storage_kwargs()
        if urlpath is not None:
            kwargs.update(urlpath=str(urlpath), mode="w")
        return blosc2.asarray(np.ascontiguousarray(array), **kwargs)

    @classmethod
    def from_store(
        cls, store: Any, patch_size: Sequence[float] | None, dparams: dict[str, Any]
    ) -> StoragePlan:
        """Describe the storage of an existing Blosc2 NDArray, asked for with ``patch_size``."""
        return cls(
            chunk_size=tuple(store.chunks),
            block_size=tuple(store.blocks),
            patch_size=None if patch_size is None else tuple(patch_size),  # type: ignore[arg-type]
            cparams=cparams_dict(store.schunk.cparams),
            dparams=dparams,
        )


def cparams_dict(cparams: Any) -> dict[str, Any]:
    """The fields of a ``blosc2.CParams`` as a dict."""
    return {f.name: getattr(cparams, f.name) for f in dataclasses.fields(cparams)}


@dataclasses.dataclass(frozen=True)
class StorageSpec:
    """The storage arguments of one call, as given (see the module docstring).

    ``cparams`` is kept as given and checked when an array is planned (a
    specification without an array never needs it); ``dparams`` is checked at once.

    Attributes:
        patch_size: ``"default"``, an int, one int per spatial axis, or None.
        chunk_size: Explicit chunk size, or None.
        block_size: Explicit block size, or None.
        cparams: None (automatic choice), a preset name, a dict or ``blosc2.CParams``.
        dparams: Blosc2 decompression parameters, checked.
        compressed: Keep the array compressed in memory.
    """

    patch_size: Any = "default"
    chunk_size: Any = None
    block_size: Any = None
    cparams: Any = None
    dparams: dict[str, Any] = dataclasses.field(default_factory=lambda: decompression_params(None))
    compressed: bool = True

    @classmethod
    def of(
        cls,
        patch_size: Any = "default",
        chunk_size: Any = None,
        block_size: Any = None,
        cparams: Any = None,
        dparams: Any = None,
        compressed: bool = True,
    ) -> StorageSpec:
        """The specification of the storage arguments, in the order of the public signatures.

        Raises:
            ArgumentTypeError: If ``dparams`` is not a dict or ``blosc2.DParams``.
            ArgumentValueError: If ``dparams`` holds keys or values blosc2 refuses.
        """
        return cls(
            patch_size, chunk_size, block_size, cparams, decompression_params(dparams), compressed
        )

    def compression(self, dtype: np.dtype[Any]) -> tuple[dict[str, Any], int]:
        """The Blosc2 compression parameters and block budget for ``dtype``.

        Given parameters are laid over the ``fast`` preset's; without ``cparams``
        this is the fallback of the automatic choice (the ``fast`` preset).
        Compression uses every core (``blosc2.nthreads``) unless told otherwise.

        Raises:
            ArgumentTypeError: If ``cparams`` is not one of the accepted types.
            ArgumentValueError: If it names an unknown preset or keys blosc2 does not know.
        """
        preset, given = FAST, {}
        if isinstance(self.cparams, str):
            if self.cparams not in PRESETS:
                raise ArgumentValueError(
                    f"cparams: unknown preset {self.cparams!r}; expected one of "
                    f"{list(PRESETS)}, a dict or a blosc2.CParams",
                    path="cparams",
                )
            preset = PRESETS[self.cparams]
        else:
            given = given_cparams(self.cparams)
        params = {
            **preset.settings(dtype),
            "nthreads": blosc2.nthreads,
            **given,
            "typesize": dtype.itemsize,
        }
        params.setdefault("filters_meta", [0] * len(params["filters"]))
        return params, preset.block_budget

    def plan(
        self,
        meta: Meta,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        *,
        values: np.ndarray[Any, Any] | None = None,
    ) -> StoragePlan:
        """Plan the storage of an array of ``shape`` and ``dtype`` described by ``meta``.

        Without ``cparams`` and with the array's ``values``, a layout driven by a
        patch size is tuned to them (:func:`mlarray._autotune.automatic_choice`):
        codec, level, filter and block shape chosen per array. Without values, or
        for other layouts, the ``fast`` preset applies.

        Without axis labels, a 4D array's first axis counts as non-spatial for the
        optimiser (channels or time first, as nnU-Net stores them). An empty array
        (a zero-length axis) left to Blosc2 gets one chunk of side ``max(1, side)``.
        The patch size recorded is the one asked for (see :func:`requested_patch`).

        Raises:
            ArgumentTypeError: If ``dtype`` cannot be stored, or a storage argument
                has the wrong type.
            ArgumentValueError: If a storage argument has an unusable value.
            LayoutError: If patch/chunk/block arguments are inconsistent, or make
                chunks or a chunk count beyond blosc2's limits (RuntimeError).
            NotImplementedError: If an explicit patch size is given for a number of
                spatial axes the optimiser does not support (UnsupportedLayoutError).
        """
        cparams, block_budget = self.compression(dtype)
        check_storable(dtype)
        labelled = meta.spatial.axis_labels is not None
        mask = meta.spatial.spatial_axis_mask if labelled else None
        layout = self._layout(shape, dtype, mask, block_budget)
        plan = StoragePlan(
            chunk_size=layout.chunk_size,
            block_size=layout.block_size,
            patch_size=requested_patch(
                self.patch_size,
                self.chunk_size,
                self.block_size,
                spatial_axes=sum(meta.spatial.spatial_axis_mask or ()),
            ),
            cparams=cparams,
            dparams=self.dparams,
        )
        if self.cparams is not None or values is None:
            return plan
        choice = automatic_choice(
            values,
            patch=layout.patch_size,
            mask=mask,
            requested_patch=plan.patch_size,
            meta_mask=mask,
        )
        if choice is None or not within_limits(shape, dtype, choice.chosen.candidate.layout.chunks):
            return plan
        chosen = choice.chosen.candidate
        return dataclasses.replace(
            plan,
            chunk_size=chosen.layout.chunks,
            block_size=chosen.layout.blocks,
            cparams=chosen.cparams(dtype.itemsize) | {"nthreads": cparams["nthreads"]},
            choice=choice,
        )

    def _layout(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        mask: list[bool] | None,
        block_budget: int,
    ) -> Layout:
        """The chunk and block shapes the size arguments give, checked against blosc2's limits."""
        try:
            layout = resolve_layout(
                shape,
                dtype.itemsize,
                patch_size=self.patch_size,
                chunk_size=self.chunk_size,
                block_size=self.block_size,
                spatial_axis_mask=mask,
                block_budget=block_budget,
            )
        except NotImplementedError:
            if self.patch_size != "default":
                raise
            # The default patch is a hint, not a demand: arrays the optimiser does not
            # cover (1D, 5D+, several non-spatial axes) get Blosc2's own layout.
            layout = resolve_layout(shape, dtype.itemsize, patch_size=None)
        if 0 in shape and layout.chunk_size is None:
            # Blosc2 would choose zero-sized chunks for an empty array, which the layout
            # metadata (and readers of the file) refuse: one chunk spans the other axes.
            unit = tuple(max(1, side) for side in shape)
            layout = dataclasses.replace(layout, chunk_size=unit, block_size=unit)
        if layout.chunk_size is not None:
            check_limits(shape, dtype, layout.chunk_size)
        return layout


def requested_patch(
    patch_size: Any, chunk_size: Any, block_size: Any, *, spatial_axes: int
) -> tuple[int, ...] | None:
    """The patch size asked for, as ``mlarray`` 0.0.54 records it in ``meta.blosc2``.

    ``'default'`` is 192 and an int is that side, for every spatial axis of the
    metadata (all axes when there are no labels); a sequence is kept as given. The
    value is not clipped to the array. None when the layout comes from explicit
    chunk/block sizes or from Blosc2 (``patch_size=None``).

    Args:
        patch_size: The ``patch_size`` argument, already checked by
            :func:`~mlarray.chunking.resolve_layout`.
        chunk_size: The ``chunk_size`` argument.
        block_size: The ``block_size`` argument.
        spatial_axes: Number of spatial axes in the metadata.
    """
    default = isinstance(patch_size, str) and patch_size == "default"
    if patch_size is None or (default and (chunk_size is not None or block_size is not None)):
        return None
    if default:
        return (MLARRAY_DEFAULT_PATCH_SIZE,) * spatial_axes
    if isinstance(patch_size, Sequence | np.ndarray):
        return tuple(int(side) for side in patch_size)
    return (int(patch_size),) * spatial_axes
