"""Training cases: image files or channels plus an optional label, and where to find them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlarray.errors import FileFormatError, MetaValidationError, MLArrayFileError
from mlarray.training._core import MLA_SUFFIX, check_mla_path

__all__ = ["Case", "nnunet_cases"]

PathLike = str | os.PathLike[str]
_CHANNEL_FILE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


@dataclass(frozen=True)
class Case:
    """One training sample: its image channels and its optional label.

    Attributes:
        name: The case's name (returned with each patch).
        images: One ``.mla`` file holding every channel (channel axis first, or no
            channel axis for a single channel), or one single-channel file per
            channel; every file has the same spatial shape and is read with the same
            patch box.
        label: The segmentation file (spatial shape of the images, optionally with a
            leading axis of size 1), or None.
    """

    name: str
    images: tuple[Path, ...]
    label: Path | None = None

    @classmethod
    def from_paths(
        cls,
        images: PathLike | Sequence[PathLike],
        label: PathLike | None = None,
        *,
        name: str | None = None,
    ) -> Case:
        """Build a case from its files, checking that they are existing ``.mla`` files.

        Args:
            images: One multi-channel file, or one file per channel.
            label: The label file, if any.
            name: The case's name; default the first image's name without suffix
                (and without nnU-Net's ``_0000`` channel suffix).

        Raises:
            RuntimeError: A path is not an existing ``.mla`` file.
            ValueError: No image is given.
        """
        paths = [images] if isinstance(images, (str, os.PathLike)) else list(images)
        if not paths:
            raise MetaValidationError("a case needs at least one image file, got none")
        checked = tuple(check_mla_path(path, must_exist=True) for path in paths)
        label_path = None if label is None else check_mla_path(label, must_exist=True)
        if name is None:
            stem = checked[0].stem
            match = _CHANNEL_FILE.match(stem) if len(checked) > 1 else None
            name = match.group("case") if match else stem
        return cls(name, checked, label_path)


def _load_dataset_json(folder: Path) -> dict[str, Any]:
    path = folder / "dataset.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable JSON file: {exc}") from exc
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: expected a JSON object, found {type(data).__name__}")
    if data.get("file_ending", MLA_SUFFIX) != MLA_SUFFIX:
        raise FileFormatError(
            f"{path}: 'file_ending' is {data.get('file_ending')!r}; expected '.mla' "
            "(convert the dataset with mlarray first)"
        )
    return data


def _listed_cases(folder: Path, listing: Any, source: Path) -> list[Case]:
    if not isinstance(listing, dict):
        raise FileFormatError(f"{source}: 'dataset' must map case names to their files")
    cases = []
    for name, entry in sorted(listing.items()):
        images = entry.get("images") if isinstance(entry, dict) else None
        if not isinstance(images, list) or not all(isinstance(p, str) for p in images):
            raise FileFormatError(f"{source}: case {name!r}: 'images' must be a list of paths")
        label = entry.get("label")
        if label is not None and not isinstance(label, str):
            raise FileFormatError(f"{source}: case {name!r}: 'label' must be a path")
        label_path = None if label is None else folder / label
        cases.append(Case.from_paths([folder / p for p in images], label_path, name=name))
    return cases


def _paired_cases(folder: Path) -> list[Case]:
    images_dir = folder / "imagesTr"
    if not images_dir.is_dir():
        raise MLArrayFileError(
            f"{folder}: not an nnU-Net dataset folder: no dataset.json 'dataset' entry "
            "and no imagesTr/ folder"
        )
    groups: dict[str, list[Path]] = {}
    for path in sorted(images_dir.glob(f"*{MLA_SUFFIX}")):
        match = _CHANNEL_FILE.match(path.stem)
        groups.setdefault(match.group("case") if match else path.stem, []).append(path)
    cases = []
    for name, images in sorted(groups.items()):
        label = folder / "labelsTr" / f"{name}{MLA_SUFFIX}"
        cases.append(Case.from_paths(images, label if label.exists() else None, name=name))
    return cases


def nnunet_cases(folder: PathLike) -> list[Case]:
    """The cases of a dataset folder in nnU-Net's layout, converted to ``.mla``.

    ``dataset.json``'s ``"dataset"`` entry (case name to ``{"images": [...], "label":
    ...}``, paths relative to the folder) is used when present. Otherwise files are
    paired by layout: ``imagesTr/<case>.mla`` (all channels in one file) or
    ``imagesTr/<case>_0000.mla``, ``<case>_0001.mla``... (one file per channel), with
    ``labelsTr/<case>.mla`` when it exists.

    Returns:
        The cases, sorted by name.

    Raises:
        RuntimeError: The folder is not an nnU-Net dataset, or a file is missing.
        ValueError: ``dataset.json`` is malformed or names another file ending.
    """
    root = Path(folder)
    data = _load_dataset_json(root)
    if "dataset" in data:
        return _listed_cases(root, data["dataset"], root / "dataset.json")
    return _paired_cases(root)
