"""The last step of a conversion: what is done to an image before it is saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlarray import MLArray
from mlarray.training import build_index
from mlarray_io._cast import cast_values
from mlarray_io._label_stats import label_statistics
from mlarray_io._options import RECORD_KEY, ConversionOptions
from mlarray_io._stats import image_statistics
from mlarray_io._volume import with_values

__all__ = ["LABEL_VOXELS_KEY", "finalise", "finalise_image", "finalise_mask", "index_saved_mask"]

LABEL_VOXELS_KEY = "label_voxels"
"""The ``meta.extra`` key of a converted label map's voxel count per label."""


def finalise_image(image: MLArray, options: ConversionOptions) -> None:
    """Complete a converted image (not a label map) before it is saved as ``.mla``.

    Records ``meta.stats`` (unless ``options.stats`` is False).
    """
    if options.stats:
        statistics = image_statistics(image.to_numpy())
        if statistics is not None:
            image.meta.set_stats(statistics)


def finalise_mask(mask: MLArray, options: ConversionOptions) -> None:
    """Complete a converted label map before it is saved as ``.mla``.

    Records (unless ``options.stats`` is False) the bounding box of every label
    above 0 in ``meta.bbox`` (``[start, stop)`` voxel indices per axis, the
    labels in ``meta.bbox.labels``) and the voxel count of every label in
    ``meta.extra["label_voxels"]`` (label as text, background included).

    Every addition to converted label maps belongs here, or in
    :func:`index_saved_mask` when it needs the saved file: single-file, dataset and
    nnU-Net conversions all pass through both.
    """
    if options.stats:
        found = label_statistics(mask.to_numpy())
        mask.meta.set_bbox({"bboxes": list(found.boxes.values()), "labels": list(found.boxes)})
        mask.meta.extra[LABEL_VOXELS_KEY] = {str(k): v for k, v in found.voxels.items()}


def finalise(image: MLArray, target: Path, options: ConversionOptions, *, where: str) -> MLArray:
    """The converted ``image`` as it is saved to ``target``.

    The values are cast when asked for; a ``.mla`` output is then completed by
    :func:`finalise_mask` (label maps) or :func:`finalise_image`, gets
    ``options.extra`` in its ``meta.extra`` and records the options in
    ``meta.extra["conversion"]`` (a rerun compares them).

    Args:
        image: The image as loaded.
        target: The output file (its suffix says its format).
        options: The conversion's options.
        where: The source, for messages.

    Raises:
        MetaValidationError: If the values cannot be cast as asked.
    """
    dtype = options.cast_dtype
    if dtype is not None:
        image = with_values(image, cast_values(image.to_numpy(), dtype, where))
    if target.name.lower().endswith(".mla"):
        if image.meta.is_seg.value:
            finalise_mask(image, options)
        else:
            finalise_image(image, options)
        image.meta.extra.update({**(options.extra or {}), RECORD_KEY: options.record()})
    return image


def index_saved_mask(image: MLArray, target: Path) -> None:
    """Store the foreground index of a converted label map in its saved ``.mla`` file.

    Training samplers (:mod:`mlarray.training`) read it with the header instead of
    decompressing the mask. Images, other formats and label maps of a non-integer
    dtype are left alone.
    """
    labels = image.meta.is_seg.value and np.dtype(image.dtype).kind in "biu"
    if labels and target.name.lower().endswith(".mla"):
        build_index(target)
