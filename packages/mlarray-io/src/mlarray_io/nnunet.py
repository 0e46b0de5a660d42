"""nnU-Net raw datasets to ``.mla`` and back.

A raw dataset (``DatasetXXX_Name/``: ``dataset.json``, ``imagesTr/`` with
``case_0000.nii.gz``, ``case_0001.nii.gz``... per case, ``labelsTr/case.nii.gz``,
optionally ``imagesTs/`` and ``labelsTs/``) converts to::

    out/dataset.json           the source's, "file_ending": ".mla", and a "dataset"
                               key pairing each training case with its files:
                               {"case": {"images": ["imagesTr/case.mla"],
                                         "label": "labelsTr/case.mla"}}
    out/imagesTr/case.mla      all channels, channel axis first: (C, X, Y, Z),
                               meta.extra["channel_names"] in channel order
    out/labelsTr/case.mla      is_seg, uint8/uint16, meta.extra["labels"] (the
                               dataset.json name -> value mapping)

and back (:func:`export_nnunet`, ``mlarray convert out/ raw/ --to nnunet``) to the
raw layout with the original ``file_ending``, data and geometry bit for bit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlarray._file_metadata import read_file_header
from mlarray.errors import MLArrayError, MLArrayFileError
from mlarray_io._nnunet_cases import NNUNET_KEY, CaseExportJob, CaseImportJob, channel_files
from mlarray_io._options import ConversionOptions
from mlarray_io._runner import FileJob, Job, run_jobs
from mlarray_io._staging import make_folder, write_text
from mlarray_io._summary import ConversionRecord, ConversionSummary

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["DATASET_JSON", "export_nnunet", "import_nnunet", "is_nnunet_mla", "is_nnunet_raw"]

DATASET_JSON = "dataset.json"
_FOLDERS = (("imagesTr", "labelsTr"), ("imagesTs", "labelsTs"))
_MLA = ".mla"
_DEFAULT_ENDING = ".nii.gz"


def _description(folder: Path) -> dict[str, Any]:
    """The ``dataset.json`` of ``folder``.

    Raises:
        MLArrayFileError: If it is missing, not JSON, or not an object.
    """
    path = folder / DATASET_JSON
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MLArrayFileError(
            f"{path}: cannot read the nnU-Net dataset description: {exc}"
        ) from exc
    if not isinstance(document, dict):
        raise MLArrayFileError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


def _file_ending(folder: Path) -> str | None:
    """The ``file_ending`` of the dataset in ``folder`` ("" when unreadable), None if none is.

    An unreadable ``dataset.json`` still makes an nnU-Net dataset: converting it
    says what is wrong with the file.
    """
    if not (folder / DATASET_JSON).is_file() or not (folder / "imagesTr").is_dir():
        return None
    try:
        return str(_description(folder).get("file_ending", ""))
    except MLArrayFileError:
        return ""


def is_nnunet_raw(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an nnU-Net raw dataset: ``dataset.json`` and ``imagesTr/``."""
    ending = _file_ending(Path(path))
    return ending is not None and ending != _MLA


def is_nnunet_mla(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an nnU-Net dataset converted to ``.mla`` (its ``file_ending``)."""
    return _file_ending(Path(path)) == _MLA


def _channel_names(description: dict[str, Any], where: Path) -> list[str]:
    names = description.get("channel_names", description.get("modality"))
    if not isinstance(names, dict) or not names:
        raise MLArrayFileError(f"{where / DATASET_JSON}: expected 'channel_names' ({{'0': 'CT'}})")
    try:
        return [str(names[key]) for key in sorted(names, key=int)]
    except ValueError as exc:
        raise MLArrayFileError(
            f"{where / DATASET_JSON}: channel_names keys must be 0, 1, ...; got {list(names)}"
        ) from exc


def _cases(folder: Path, ending: str) -> list[str]:
    """The cases of an images folder: files ``<case>_<XXXX><ending>``."""
    pattern = re.compile(rf"(.+)_\d{{4}}{re.escape(ending)}$")
    found = (pattern.match(path.name) for path in folder.iterdir() if path.is_file())
    return sorted({match.group(1) for match in found if match})


def _import_jobs(
    source: Path, dst: Path, description: dict[str, Any], options: ConversionOptions
) -> Iterator[Job]:
    ending = str(description.get("file_ending", _DEFAULT_ENDING))
    names = _channel_names(description, source)
    images = options.with_is_seg(False).with_extra({"channel_names": names})
    labels = options.with_is_seg(True).with_extra({"labels": description.get("labels", {})})
    for image_folder, label_folder in _FOLDERS:
        if not (source / image_folder).is_dir():
            continue
        for case in _cases(source / image_folder, ending):
            files = tuple(
                source / image_folder / f"{case}_{index:04d}{ending}" for index in range(len(names))
            )
            output = dst / image_folder / f"{case}{_MLA}"
            yield CaseImportJob(case, files, output, images, ending)
        if (source / label_folder).is_dir():
            for path in sorted((source / label_folder).glob(f"*{ending}")):
                output = dst / label_folder / f"{path.name[: -len(ending)]}{_MLA}"
                yield FileJob(path, output, labels)


def _write_description(
    folder: Path, dst: Path, document: dict[str, Any], summary: ConversionSummary
) -> None:
    """Write ``document`` as ``dst/dataset.json``, atomically; a failure goes to ``summary``."""
    path = dst / DATASET_JSON
    try:
        write_text(path, json.dumps(document, indent=4) + "\n")
    except MLArrayError as exc:
        summary.add(ConversionRecord(str(folder / DATASET_JSON), str(path), error=str(exc)))


def _pairing(dst: Path) -> dict[str, dict[str, Any]]:
    """The training cases whose image and label outputs both exist, with their files."""
    pairs = {}
    for image in sorted((dst / "imagesTr").glob(f"*{_MLA}")):
        label = dst / "labelsTr" / image.name
        if label.is_file():
            case = image.name[: -len(_MLA)]
            pairs[case] = {"images": [f"imagesTr/{image.name}"], "label": f"labelsTr/{image.name}"}
    return pairs


def import_nnunet(
    source: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: Client | str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    **options: Any,
) -> ConversionSummary:
    """Convert an nnU-Net raw dataset to ``.mla`` (the layout of this module's docstring).

    Runs, resumes and reports like :func:`~mlarray_io.dataset.convert_dataset`: one
    job per case image and per label map, in worker processes or on Dask. The
    output's ``dataset.json`` pairs the training cases converted so far.

    Args:
        source: The raw dataset folder (``dataset.json`` and ``imagesTr/``).
        dst_dir: The output folder, created if missing.
        workers: Worker processes (``os.cpu_count()`` by default).
        scheduler: A Dask client or scheduler address.
        overwrite: Convert every case again, even where the output is up to date.
        progress: Show a progress bar.
        **options: ``patch_size``, ``cparams``, ``stats``, ``cast``, ``backend``,
            as for :func:`~mlarray_io.convert.convert_file`.

    Raises:
        MLArrayFileError: If ``source`` is not an nnU-Net raw dataset, or its
            ``dataset.json`` lists its files in a ``dataset`` key (not supported).
    """
    folder, dst = Path(source), Path(dst_dir)
    if not is_nnunet_raw(folder):
        raise MLArrayFileError(f"{folder}: not an nnU-Net raw dataset (dataset.json and imagesTr/)")
    description = _description(folder)
    if "dataset" in description:
        raise MLArrayFileError(
            f"{folder / DATASET_JSON}: datasets that list their files in a 'dataset' key "
            "are not supported; use the imagesTr/labelsTr layout"
        )
    jobs = list(_import_jobs(folder, dst, description, ConversionOptions(**options)))
    make_folder(dst)
    summary = run_jobs(jobs, ConversionSummary(str(folder), str(dst)), workers=workers,
                       scheduler=scheduler, overwrite=overwrite, progress=progress)  # fmt: skip
    document = {**description, "file_ending": _MLA, "dataset": _pairing(dst)}
    _write_description(folder, dst, document, summary)
    return summary


def _original_ending(images: list[Path]) -> str:
    """The file ending the raw dataset had, as the first case image records it."""
    if images:
        record = read_file_header(images[0]).meta.source.value.get(NNUNET_KEY, {})
        return str(record.get("file_ending", _DEFAULT_ENDING))
    return _DEFAULT_ENDING


def export_nnunet(
    source: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: Client | str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> ConversionSummary:
    """Write an nnU-Net dataset converted by :func:`import_nnunet` back as a raw dataset.

    Every case image becomes its channel files again (``case_0000<ending>``...,
    with the dtype, scaling and header each had), every label map its label file,
    and ``dataset.json`` the source's again (without the ``dataset`` key, with the
    original ``file_ending``).

    Args:
        source: The converted dataset (``dataset.json`` with ``"file_ending": ".mla"``).
        dst_dir: The raw dataset folder to write, created if missing.
        workers: Worker processes (``os.cpu_count()`` by default).
        scheduler: A Dask client or scheduler address.
        overwrite: Write every file again, even where it is up to date.
        progress: Show a progress bar.

    Raises:
        MLArrayFileError: If ``source`` is not an nnU-Net dataset of ``.mla`` files.
    """
    folder, dst = Path(source), Path(dst_dir)
    if not is_nnunet_mla(folder):
        raise MLArrayFileError(
            f"{folder}: not an nnU-Net dataset of .mla files (dataset.json with "
            '"file_ending": ".mla")'
        )
    description = _description(folder)
    ending = _original_ending(sorted(folder.glob(f"images*/*{_MLA}")))
    jobs: list[Job] = []
    for image_folder, label_folder in _FOLDERS:
        for image in sorted((folder / image_folder).glob(f"*{_MLA}")):
            case = image.name[: -len(_MLA)]
            names = channel_files(image, case, ending)
            jobs.append(CaseExportJob(image, tuple(dst / image_folder / name for name in names)))
        for label in sorted((folder / label_folder).glob(f"*{_MLA}")):
            output = dst / label_folder / f"{label.name[: -len(_MLA)]}{ending}"
            jobs.append(FileJob(label, output, ConversionOptions()))
    make_folder(dst)
    summary = run_jobs(jobs, ConversionSummary(str(folder), str(dst)), workers=workers,
                       scheduler=scheduler, overwrite=overwrite, progress=progress)  # fmt: skip
    restored = {key: value for key, value in description.items() if key != "dataset"}
    _write_description(folder, dst, {**restored, "file_ending": ending}, summary)
    return summary
