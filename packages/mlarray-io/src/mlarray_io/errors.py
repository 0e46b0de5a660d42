"""Errors of ``mlarray_io``: leaves of the one mlarray hierarchy.

Each class derives from :class:`~mlarray.errors.MLArrayError` and from the
builtin a caller would catch, so ``except RuntimeError`` (bad paths and
extensions, workers that cannot start), ``except ValueError`` (unreadable
content), ``except ImportError`` (a missing optional dependency) and ``except
ConnectionError`` (a Dask scheduler that cannot be reached) work as well as ``except MLArrayError``.
"""

from __future__ import annotations

from mlarray.errors import FileFormatError, MLArrayError, MLArrayFileError

__all__ = [
    "ConversionError",
    "ImageFormatError",
    "MissingDependencyError",
    "ObliqueGeometryWarning",
    "OutputExistsError",
    "SchedulerError",
    "SourceNotFoundError",
    "UnsupportedFormatError",
    "WorkerStartError",
]


class MissingDependencyError(MLArrayError, ImportError):
    """A library needed for this format is not installed; the message names the pip install."""


class UnsupportedFormatError(MLArrayFileError):
    """A path's extension (or a folder used as output) names no format mlarray_io handles."""


class SourceNotFoundError(MLArrayFileError, FileNotFoundError):
    """The file or DICOM folder to read does not exist."""


class ImageFormatError(FileFormatError):
    """An image cannot be read or written in its format (corrupt, truncated, unsupported)."""


class ConversionError(MLArrayError, RuntimeError):
    """Reading or writing an image failed for a reason outside the mlarray errors."""


class OutputExistsError(MLArrayFileError, FileExistsError):
    """The output of a conversion exists and overwriting it was not asked for."""


class ObliqueGeometryWarning(UserWarning):
    """An oblique scan was written to a format without a direction (OME-Zarr).

    The file keeps the exact affine where mlarray reads it back, but other readers
    show the scan axis-aligned. ``warnings.simplefilter("error",
    ObliqueGeometryWarning)`` makes such writes fail instead.
    """


class WorkerStartError(MLArrayError, RuntimeError):
    """Worker processes for a dataset conversion cannot start.

    Above all: a script calls :func:`~mlarray_io.convert_dataset` without the
    ``if __name__ == "__main__":`` guard, which worker processes started with the
    ``spawn`` method need (they run the main script again).
    """


class SchedulerError(MLArrayError, ConnectionError):
    """The Dask scheduler given for a dataset conversion cannot be reached."""
