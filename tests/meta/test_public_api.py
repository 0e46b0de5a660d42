"""The public surface of mlarray_meta is pinned: additions and removals are deliberate."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import mlarray_meta
from mlarray_meta import errors

# Every class of the "Metadata Module" section of mlarray-api-reference.txt, plus the
# aliases and the coordinate-system enum the issue adds.
API_REFERENCE_NAMES = [
    "BaseMeta",
    "SingleKeyBaseMeta",
    "Meta",
    "MetaSource",
    "MetaExtra",
    "MetaSpatial",
    "AxisLabelEnum",
    "MetaStatistics",
    "MetaBbox",
    "MetaIsSeg",
    "MetaBlosc2",
    "MetaHasArray",
    "MetaImageFormat",
    "MetaVersion",
]
ISSUE_NAMES = ["AxisLabel", "CoordSystem", "CoordSystemEnum"]

PUBLIC_ALL = [
    "AxisLabel",
    "AxisLabelEnum",
    "BaseMeta",
    "CoordSystem",
    "CoordSystemEnum",
    "Header",
    "MLArrayError",
    "Meta",
    "MetaBbox",
    "MetaBlosc2",
    "MetaCompatibilityWarning",
    "MetaExtra",
    "MetaHasArray",
    "MetaImageFormat",
    "MetaIsSeg",
    "MetaSource",
    "MetaSpatial",
    "MetaStatistics",
    "MetaVersion",
    "SingleKeyBaseMeta",
    "__version__",
    "is_json_safe",
    "read_header",
]

ERRORS_ALL = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert mlarray_meta.__all__ == PUBLIC_ALL
    assert mlarray_meta.__all__ == sorted(mlarray_meta.__all__)
    assert len(set(mlarray_meta.__all__)) == len(mlarray_meta.__all__)


def test_every_exported_name_exists() -> None:
    for name in mlarray_meta.__all__:
        assert getattr(mlarray_meta, name) is not None, name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from mlarray_meta import *", namespace)  # noqa: S102 - the point of the test
    namespace.pop("__builtins__")
    assert sorted(namespace) == PUBLIC_ALL


@pytest.mark.parametrize("name", API_REFERENCE_NAMES + ISSUE_NAMES)
def test_api_reference_names_are_importable_from_the_package(name: str) -> None:
    assert name in mlarray_meta.__all__
    obj = getattr(importlib.import_module("mlarray_meta"), name)
    assert inspect.isclass(obj)
    assert obj.__doc__


def test_aliases() -> None:
    assert mlarray_meta.AxisLabel is mlarray_meta.AxisLabelEnum
    assert mlarray_meta.CoordSystem is mlarray_meta.CoordSystemEnum
    assert mlarray_meta.MetaSpatial.AxisLabel is mlarray_meta.AxisLabelEnum


def test_class_hierarchy_matches_the_api_reference() -> None:
    single_key = ["MetaSource", "MetaExtra", "MetaIsSeg", "MetaHasArray", "MetaImageFormat"]
    for name in [*single_key, "MetaVersion"]:
        assert issubclass(getattr(mlarray_meta, name), mlarray_meta.SingleKeyBaseMeta), name
    for name in ["Meta", "MetaSpatial", "MetaStatistics", "MetaBbox", "MetaBlosc2"]:
        cls = getattr(mlarray_meta, name)
        assert issubclass(cls, mlarray_meta.BaseMeta)
        assert not issubclass(cls, mlarray_meta.SingleKeyBaseMeta), name
    assert issubclass(mlarray_meta.AxisLabelEnum, str)


def test_documented_methods_exist() -> None:
    base = mlarray_meta.BaseMeta
    for method in ["copy_from", "ensure", "from_mapping", "is_default", "reset", "to_mapping"]:
        assert callable(getattr(base, method)), method
    assert callable(base.to_plain)
    single = mlarray_meta.SingleKeyBaseMeta
    assert isinstance(inspect.getattr_static(single, "value"), property)
    assert callable(single.set)
    meta = mlarray_meta.Meta
    setters = ["set_source", "set_extra", "set_spatial", "set_stats", "set_bbox", "set_is_seg"]
    for method in [*setters, "update_source", "update_extra", "add_bbox", "validate"]:
        assert callable(getattr(meta, method)), method


def test_keyword_only_options_match_the_api_reference() -> None:
    base = mlarray_meta.BaseMeta
    for method, option, default in [
        (base.copy_from, "overwrite", False),
        (base.to_mapping, "include_none", True),
        (base.to_plain, "include_none", False),
        (mlarray_meta.SingleKeyBaseMeta.to_mapping, "include_none", True),
        (mlarray_meta.Meta.to_plain, "include_none", False),
    ]:
        parameter = inspect.signature(method).parameters[option]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is default


def test_meta_fields_are_in_api_reference_order() -> None:
    assert list(mlarray_meta.Meta().to_mapping()) == [
        "source",
        "extra",
        "spatial",
        "stats",
        "bbox",
        "is_seg",
        "blosc2",
        "_has_array",
        "_image_meta_format",
        "_mlarray_version",
    ]
    assert list(mlarray_meta.MetaSpatial().to_mapping()) == [
        "spacing",
        "origin",
        "direction",
        "affine",
        "shape",
        "axis_labels",
        "coord_system",
        "axis_units",
        "_num_spatial_axes",
        "_num_non_spatial_axes",
    ]


def test_errors_module_surface() -> None:
    assert errors.__all__ == ERRORS_ALL
    assert mlarray_meta.MLArrayError is errors.MLArrayError


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        ("MetaValidationError", ValueError),
        ("MetaTypeError", TypeError),
        ("UnknownFieldError", KeyError),
        ("ReadOnlyFieldError", AttributeError),
        ("MLArrayFileError", RuntimeError),
        ("ReadOnlyError", PermissionError),
        ("FileFormatError", ValueError),
        ("UnsafeMetadataError", ValueError),
        ("UnsupportedVersionError", ValueError),
        ("ChecksumError", ValueError),
        ("DistributionConflictError", ImportError),
    ],
)
def test_every_error_is_an_mlarray_error_and_the_promised_builtin(
    error: str, builtin: type[Exception]
) -> None:
    cls = getattr(errors, error)
    assert issubclass(cls, errors.MLArrayError)
    assert issubclass(cls, builtin)


def test_unknown_field_error_reads_as_a_sentence() -> None:
    assert str(errors.UnknownFieldError("meta: unknown key 'x'")) == "meta: unknown key 'x'"


def test_version_and_typing_marker() -> None:
    assert isinstance(mlarray_meta.__version__, str)
    assert mlarray_meta.__version__.count(".") >= 2
    package_dir = Path(mlarray_meta.__file__).parent
    assert (package_dir / "py.typed").is_file()
