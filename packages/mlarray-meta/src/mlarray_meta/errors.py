"""The one error hierarchy of mlarray.

Every error raised on purpose by ``mlarray_meta``, ``mlarray`` and ``mlarray_io``
derives from :class:`MLArrayError`. Each leaf also derives from the builtin
exception that the public API promises, so ``except ValueError`` and
``except MLArrayError`` both work.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "CodecRequiredError",
    "DistributionConflictError",
    "FileFormatError",
    "MLArrayError",
    "MLArrayFileError",
    "MLArrayWarning",
    "MetaCompatibilityWarning",
    "MetaTypeError",
    "MetaValidationError",
    "RangeRequestsUnsupportedError",
    "ReadOnlyError",
    "ReadOnlyFieldError",
    "RemoteFileChangedError",
    "RemoteFileError",
    "RemoteFileWarning",
    "UnknownAttributeError",
    "UnknownFieldError",
    "UnsafeMetadataError",
    "UnsupportedVersionError",
]


class MLArrayError(Exception):
    """Root of every error raised on purpose by the mlarray packages."""


class _FieldError(MLArrayError):
    """An error about one value: its ``path`` says which.

    Args:
        message: What is wrong, where, what was expected and what was found.
        path: The value at fault, e.g. ``"meta.spatial.spacing[2]"`` or
            ``"patch_size"``; None when the error concerns no single value.
    """

    def __init__(self, message: str = "", *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class MetaValidationError(_FieldError, ValueError):
    """A metadata value has the right type but an invalid value (length, shape, range).

    Attributes:
        path: The field at fault (e.g. ``"meta.spatial.spacing[2]"``), or None.
    """


class MetaTypeError(_FieldError, TypeError):
    """A metadata value, or an argument, has the wrong type.

    Attributes:
        path: The field or argument at fault (e.g. ``"meta.source"``), or None.
    """


class UnknownFieldError(_FieldError, KeyError):
    """A mapping names a field that the metadata schema does not have.

    Attributes:
        path: The section that has no such field (e.g. ``"meta.spatial"``), or None.
    """

    def __str__(self) -> str:
        # KeyError quotes its argument; a sentence reads better unquoted.
        return str(self.args[0]) if self.args else ""


class UnknownAttributeError(_FieldError, AttributeError):
    """An attribute that is not a field was assigned on a metadata section (a typo).

    Attributes:
        path: The attribute assigned (e.g. ``"meta.spatial.spacng"``).
    """


class MLArrayFileError(MLArrayError, RuntimeError):
    """A path, extension or open mode is not usable (missing file, wrong suffix, bad mode)."""


class ReadOnlyError(MLArrayFileError, PermissionError):
    """A write was attempted through an array or file opened read-only."""


class RemoteFileError(MLArrayFileError):
    """A remote file cannot be read: the host is unreachable, or the server refused or failed."""


class RemoteFileChangedError(RemoteFileError):
    """A remote file changed on the server between two reads of one opened file."""


class RangeRequestsUnsupportedError(RemoteFileError):
    """The server ignores HTTP range requests and the file is too large to download whole."""


class FileFormatError(MLArrayError, ValueError):
    """A file's bytes are not a valid ``.mla`` file (truncated, corrupted or malformed)."""


class CodecRequiredError(FileFormatError):
    """A metadata entry is compressed with a codec only python-blosc2 decodes."""


class UnsafeMetadataError(FileFormatError):
    """A metadata entry asks for something that is never executed (pickle globals, bombs)."""


class UnsupportedVersionError(FileFormatError):
    """A file was written by a newer, incompatible version of the format."""


class ChecksumError(FileFormatError):
    """Stored chunk data does not match the checksum recorded when it was saved."""


class ReadOnlyFieldError(_FieldError, AttributeError):
    """A metadata field managed by the MLArray container was assigned or mutated by a user.

    Attributes:
        path: The field (e.g. ``"meta.blosc2.chunk_size"``), or None.
    """


class DistributionConflictError(MLArrayError, ImportError):
    """Two installed distributions provide the same import package (``mlarray``)."""


class MLArrayWarning(UserWarning):
    """Root of every warning issued on purpose by the mlarray packages."""


class MetaCompatibilityWarning(MLArrayWarning):
    """A file holds a metadata value that ``mlarray`` 0.0.54 accepts and mlarray would not write.

    The value is kept as stored when reading; saving it raises until it is changed.
    ``docs/migrating.md`` lists every such case.
    """


class RemoteFileWarning(MLArrayWarning):
    """A remote file was read in an unusual way (downloaded whole: the server ignores ranges)."""
