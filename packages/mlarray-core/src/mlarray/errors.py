"""The errors raised by ``mlarray``: the hierarchy of ``mlarray_meta.errors``.

Re-exported here so that users of the container need one import. Every class
derives from :class:`MLArrayError` and from the builtin the API promises.
"""

from __future__ import annotations

from mlarray_meta.errors import (
    ChecksumError,
    CodecRequiredError,
    FileFormatError,
    MetaTypeError,
    MetaValidationError,
    MLArrayError,
    MLArrayFileError,
    RangeRequestsUnsupportedError,
    ReadOnlyError,
    ReadOnlyFieldError,
    RemoteFileChangedError,
    RemoteFileError,
    UnknownAttributeError,
    UnknownFieldError,
    UnsafeMetadataError,
    UnsupportedVersionError,
)

__all__ = [
    "ChecksumError",
    "CodecRequiredError",
    "FileFormatError",
    "LayoutError",
    "MLArrayError",
    "MLArrayFileError",
    "MetaTypeError",
    "MetaValidationError",
    "NoArrayError",
    "RangeRequestsUnsupportedError",
    "ReadOnlyError",
    "ReadOnlyFieldError",
    "RemoteFileChangedError",
    "RemoteFileError",
    "UnknownAttributeError",
    "UnknownFieldError",
    "UnsafeMetadataError",
    "UnsupportedLayoutError",
    "UnsupportedVersionError",
]


class LayoutError(MLArrayError, RuntimeError):
    """Patch, chunk and block size arguments contradict each other or the array."""


class UnsupportedLayoutError(LayoutError, NotImplementedError):
    """The chunk/block optimiser does not cover this number of spatial axes."""


class NoArrayError(MLArrayError, TypeError):
    """An operation needs array data but the MLArray holds metadata only (or is closed)."""
