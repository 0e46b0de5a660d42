"""The last step of a conversion: what is done to an image before it is saved."""

from __future__ import annotations

from pathlib import Path

from mlarray import MLArray
from mlarray_io._cast import cast_values
from mlarray_io._options import ConversionOptions
from mlarray_io._volume import with_values

__all__ = ["finalise"]


def finalise(image: MLArray, target: Path, options: ConversionOptions, *, where: str) -> MLArray:
    """The converted ``image`` as it is saved to ``target``: its values cast when asked for.

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
    return image
