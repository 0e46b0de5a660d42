"""Which paths are images: file suffixes, DICOM series folders, dataset discovery."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from mlarray.errors import MLArrayFileError

__all__ = ["IMAGE_SUFFIXES", "find_images", "image_suffix", "is_dicom_folder", "output_path"]

# Longest first, so that ".nii.gz" wins over a plain ".gz".
IMAGE_SUFFIXES = (".nii.gz", ".nrrd", ".nhdr", ".nii", ".mha", ".mhd", ".mla")
_DICOM_SUFFIXES = (".dcm", ".ima")
_DICOM_MAGIC_OFFSET = 128
_FILES_PROBED = 3


def image_suffix(path: Path) -> str | None:
    """Return the supported image suffix of ``path`` (lower case), or None."""
    name = path.name.lower()
    return next((suffix for suffix in IMAGE_SUFFIXES if name.endswith(suffix)), None)


def _is_dicom_file(path: Path) -> bool:
    if path.suffix.lower() in _DICOM_SUFFIXES:
        return True
    try:
        with path.open("rb") as stream:
            stream.seek(_DICOM_MAGIC_OFFSET)
            return stream.read(4) == b"DICM"
    except OSError:
        return False


def is_dicom_folder(path: Path) -> bool:
    """Whether ``path`` is a folder holding a DICOM series.

    Cheap: only the first few visible files are probed, by suffix (``.dcm``,
    ``.ima``) or by the ``DICM`` marker at byte 128.
    """
    if not path.is_dir():
        return False
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return any(_is_dicom_file(p) for p in files[:_FILES_PROBED])


def _is_below(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


def _walk(folder: Path, exclude: Path | None) -> list[Path]:
    """Image files and DICOM series folders below ``folder``, hidden entries skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in sorted(dirs):
            child = here / name
            if name.startswith(".") or _is_below(child, exclude):
                dirs.remove(name)
            elif is_dicom_folder(child):
                dirs.remove(name)
                found.append(child)
        found.extend(
            here / name
            for name in files
            if not name.startswith(".") and image_suffix(Path(name)) is not None
        )
    return found


def _glob_base(pattern: str) -> Path:
    """The folder above the first path component of ``pattern`` holding a wildcard."""
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def find_images(
    source: str | os.PathLike[str], *, exclude: Path | None = None
) -> tuple[Path, list[Path]]:
    """List the images of a dataset given as a folder or a glob pattern.

    Args:
        source: A folder (searched recursively) or a glob pattern (``**`` allowed).
        exclude: A folder to leave out, such as the output folder inside ``source``.

    Returns:
        The base folder that outputs mirror, and the image files and DICOM series
        folders found, sorted.

    Raises:
        MLArrayFileError: If ``source`` is neither a folder nor a pattern, or holds no
            image.
    """
    excluded = None if exclude is None else exclude.resolve()
    path = Path(source)
    if is_dicom_folder(path):
        return path.parent, [path]
    if path.is_dir():
        base, found = path, _walk(path, excluded)
    elif glob.has_magic(os.fspath(source)):
        matches = [Path(match) for match in glob.glob(os.fspath(source), recursive=True)]
        base = _glob_base(os.fspath(source))
        found = [
            match
            for match in matches
            if not _is_below(match, excluded)
            and ((image_suffix(match) is not None and match.is_file()) or is_dicom_folder(match))
        ]
    else:
        raise MLArrayFileError(f"{source}: no such folder (expected a folder or a glob pattern)")
    if not found:
        raise MLArrayFileError(
            f"{source}: no images found (looked for {', '.join(IMAGE_SUFFIXES)} files "
            "and DICOM series folders)"
        )
    return base, sorted(found)


def output_path(image: Path, base: Path, dst_dir: Path, suffix: str) -> Path:
    """Where the conversion of ``image`` goes: its path below ``base``, mirrored in ``dst_dir``."""
    relative = image.relative_to(base)
    known = image_suffix(image)
    stem = relative.name[: -len(known)] if known else relative.name
    return dst_dir / relative.parent / f"{stem}{suffix}"
