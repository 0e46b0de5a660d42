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
    _FieldError,
)

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
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


class ArgumentError(_FieldError):
    """An argument that is not metadata is unusable: a size, a storage parameter, an option.

    Catch this class for every such argument; its leaves also derive from the
    builtin a caller would catch. :class:`ArgumentValueError` and
    :class:`ArgumentTypeError` derive from :class:`MetaValidationError` and
    :class:`MetaTypeError` too, which earlier releases raised for these arguments.

    Attributes:
        path: The argument at fault (e.g. ``"safety_factor"``, ``"cparams.clevel"``), or None.
    """


class ArgumentValueError(ArgumentError, MetaValidationError):
    """An argument has the right type but an unusable value (a negative size, an unknown name)."""


class ArgumentTypeError(ArgumentError, MetaTypeError):
    """An argument has the wrong type."""


class LayoutError(ArgumentError, RuntimeError):
    """Patch, chunk and block size arguments contradict each other or the array."""


class UnsupportedLayoutError(LayoutError, NotImplementedError):
    """The chunk/block optimiser does not cover this number of spatial axes."""


class NoArrayError(MLArrayError, TypeError):
    """An operation needs array data but the MLArray holds metadata only (or is closed)."""
