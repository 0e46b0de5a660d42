"""Convert one image between any two supported formats, never leaving a partial file."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlarray_io
from mlarray.errors import ArgumentValueError, MLArrayError, MLArrayFileError
from mlarray_io._finalise import finalise, index_saved_mask
from mlarray_io._options import ConversionOptions
from mlarray_io._sources import IMAGE_SUFFIXES, image_suffix
from mlarray_io._staging import output_failure, removed_if_interrupted, staging_folder
from mlarray_io.errors import (
    ConversionError,
    OutputExistsError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from mlarray_io.omezarr import is_ome_zarr, to_ome_zarr

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = [
    "check_output",
    "conversion_errors",
    "convert_file",
    "convert_with",
    "save_atomically",
    "save_converted",
]


def _utf8(path: Path) -> bool:
    """Whether ``path`` is valid UTF-8 (a name of other bytes decodes to surrogates)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_output(dst: Path, *, overwrite: bool) -> None:
    """Refuse a ``dst`` that cannot or must not be written, before reading anything."""
    if image_suffix(dst) is None and not is_ome_zarr(dst):
        raise UnsupportedFormatError(
            f"{dst}: unknown output format; expected {', '.join(IMAGE_SUFFIXES)}"
        )
    if not dst.parent.is_dir():
        raise MLArrayFileError(f"{dst}: cannot write, folder {dst.parent} does not exist")
    if image_suffix(dst) == ".mla" and not _utf8(dst):
        shown = os.fsencode(dst).decode("utf-8", "backslashreplace")
        raise MLArrayFileError(
            f"{shown}: Blosc2 cannot write .mla files whose path is not valid UTF-8; rename it"
        )
    if dst.exists() and not overwrite:
        raise OutputExistsError(f"{dst}: already exists; overwrite=True (--overwrite) replaces it")


def save_atomically(image: MLArray, dst: Path, layout: dict[str, Any]) -> None:
    """Save ``image`` to ``dst`` so that ``dst`` appears complete or not at all.

    ``.mla`` saves are atomic already; ``layout`` (``patch_size``, ``cparams``)
    re-lays the array out for them first. Other formats are written under their
    final name into a staging folder next to ``dst`` (so that a header naming its
    data file, as ``.mhd`` and ``.nhdr`` do, stays right), then moved into place
    with ``os.replace``, data files before the file named ``dst``; staging folders
    that killed conversions of ``dst`` left are removed (see
    :mod:`mlarray_io._staging`).

    Raises:
        MLArrayFileError: If writing fails (a full disk, a read-only folder); the
            message names ``dst``.
    """
    if image_suffix(dst) == ".mla":
        if layout:
            image.compress(**layout)
        with removed_if_interrupted(dst):
            mlarray_io.save(image, dst)
        return
    with staging_folder(dst) as staging:
        staged = staging / dst.name
        try:
            mlarray_io.save(image, staged)
        except Exception as exc:  # name the output, not the staging folder
            raise output_failure(dst, staged, exc) from exc
        written = sorted(staging.iterdir(), key=lambda path: path.name == dst.name)
        for path in written:
            os.replace(path, dst.parent / path.name)


def convert_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    patch_size: int | Sequence[int] | str | None = "default",
    cparams: dict[str, Any] | str | None = None,
    cast: str | None = None,
    stats: bool = True,
    levels: int = 1,
    **load_options: Any,
) -> Path:
    """Convert one image from any supported format to any other.

    Formats follow the extensions: ``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``,
    ``.mha``, ``.mhd``, ``.mla``, and a DICOM series folder as source. ``dst``
    is written completely or not at all.

    Args:
        src: The image to read.
        dst: The file to write; its folder must exist.
        overwrite: Replace ``dst`` if it exists.
        patch_size: For ``.mla`` outputs, the patch size to lay the file out for
            (as in :class:`mlarray.MLArray`; ``"default"`` is 192 per spatial axis).
        cparams: For ``.mla`` outputs, a compression preset (``"fast"``,
            ``"compact"``) or Blosc2 parameters; None keeps the default.
        cast: Convert the values to this dtype (``"float32"``, ``"int16"``...)
            before writing, e.g. float16 images for NIfTI, which has no float16.
            Floats are rounded to the new dtype; values it cannot hold are refused.
        stats: For ``.mla`` outputs, record statistics computed from the values
            while converting: ``meta.stats`` for images; for label maps the
            bounding box of every label in ``meta.bbox`` and the voxel count of
            every label in ``meta.extra["label_voxels"]``.
        levels: For ``.ome.zarr`` outputs, the resolution levels to write (see
            :func:`mlarray_io.to_ome_zarr`).
        **load_options: Passed to :func:`mlarray_io.load` (``backend``,
            ``reorient``, ``is_seg``, ``series_id``).

    Returns:
        ``dst`` as a Path.

    Raises:
        OutputExistsError: If ``dst`` exists and ``overwrite`` is False.
        SourceNotFoundError: If ``src`` does not exist.
        UnsupportedFormatError: If an extension names no supported format.
        MLArrayFileError: If the output folder does not exist.
        ImageFormatError: If ``src`` is corrupt or cannot be written as ``dst``
            (a dtype the format cannot store: the message names the cast to ask for).
        ArgumentValueError: If ``cast`` names no numeric dtype, or the values
            cannot be cast to it.
        ConversionError: If reading or writing failed (a corrupt file, say) with an
            error from outside mlarray; the original is chained.
    """
    options = ConversionOptions(
        patch_size=patch_size,
        cparams=cparams,
        cast=cast,
        stats=stats,
        levels=levels,
        **load_options,
    )
    return convert_with(Path(src), Path(dst), options, overwrite=overwrite)


def convert_with(
    source: Path, target: Path, options: ConversionOptions, *, overwrite: bool
) -> Path:
    """Convert ``source`` to ``target`` as ``options`` say (see :func:`convert_file`)."""
    if not source.exists():
        raise SourceNotFoundError(f"{source}: no such file or folder")
    check_output(target, overwrite=overwrite)
    if options.levels != 1 and not is_ome_zarr(target):
        raise ArgumentValueError(
            f"levels: pyramids are for .ome.zarr outputs, not {target}", path="levels"
        )
    with conversion_errors(source, target):
        image = mlarray_io.load(source, **options.load_options())
        save_converted(image, target, options, where=str(source))
    return target


@contextmanager
def conversion_errors(source: Path, target: Path) -> Iterator[None]:
    """Let mlarray errors through; wrap any other in a ConversionError naming both files."""
    try:
        yield
    except MLArrayError:
        raise
    except Exception as exc:
        raise ConversionError(
            f"{source}: cannot convert to {target}: {type(exc).__name__}: {exc}"
        ) from exc


def save_converted(image: MLArray, target: Path, options: ConversionOptions, *, where: str) -> None:
    """Finalise a converted ``image`` (see :func:`~mlarray_io._finalise.finalise`) and save it.

    Args:
        image: The image as loaded.
        target: The output file.
        options: The conversion's options.
        where: The source, for messages.
    """
    finalised = finalise(image, target, options, where=where)
    if is_ome_zarr(target):
        to_ome_zarr(finalised, target, levels=options.levels, overwrite=True)
    else:
        save_atomically(finalised, target, options.layout())
        index_saved_mask(finalised, target)
