"""The public surface of mlarray is pinned against the API reference.

The tables below are written from the "MLArray Module" half of
``mlarray-api-reference.txt``: every method, classmethod and property with its
documented parameter names and defaults, in order.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import mlarray
import mlarray.meta
import mlarray.mlarray
import mlarray_meta
from mlarray import MLArray, errors

PUBLIC_ALL = [
    "MLARRAY_DEFAULT_PATCH_SIZE",
    "AxisLabel",
    "AxisLabelEnum",
    "BaseMeta",
    "BlockCache",
    "CoordSystem",
    "CoordSystemEnum",
    "MLArray",
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
    "comp_blosc2_params",
    "is_serializable",
]

REQUIRED = inspect.Parameter.empty
# Shared tails of the creation methods: (name, default) in documented order.
LAYOUT_DEFAULT = [
    ("patch_size", "default"),
    ("chunk_size", None),
    ("block_size", None),
    ("cparams", None),
    ("dparams", None),
    ("compressed", True),
]
LAYOUT_NONE = [("patch_size", None), *LAYOUT_DEFAULT[1:]]

# name -> [(parameter, default)] without self/cls; REQUIRED marks parameters without a default.
METHODS: dict[str, list[tuple[str, Any]]] = {
    "__init__": [
        ("array", None),
        ("spacing", None),
        ("origin", None),
        ("direction", None),
        ("affine", None),
        ("meta", None),
        ("axis_labels", None),
        ("copy", None),
        *LAYOUT_DEFAULT,
    ],
    "open": [("filepath", REQUIRED), ("mode", "r"), ("mmap_mode", "r"), ("dparams", None)],
    "create": [
        ("filepath", REQUIRED),
        ("shape", REQUIRED),
        ("dtype", REQUIRED),
        ("meta", None),
        ("mode", "w"),
        ("mmap_mode", "w+"),
        *LAYOUT_DEFAULT[:-1],
    ],
    "load": [("filepath", REQUIRED), ("dparams", None), ("compressed", True)],
    "save": [("filepath", REQUIRED)],
    "close": [],
    "to_numpy": [],
    "compress": LAYOUT_DEFAULT[:-1],
    "decompress": [],
    "empty": [("shape", REQUIRED), ("dtype", REQUIRED), ("meta", None), *LAYOUT_DEFAULT],
    "zeros": [("shape", REQUIRED), ("dtype", REQUIRED), ("meta", None), *LAYOUT_DEFAULT],
    "ones": [("shape", REQUIRED), ("dtype", None), ("meta", None), *LAYOUT_DEFAULT],
    "full": [
        ("shape", REQUIRED),
        ("fill_value", REQUIRED),
        ("dtype", None),
        ("meta", None),
        *LAYOUT_DEFAULT,
    ],
    "arange": [
        ("start", REQUIRED),
        ("stop", None),
        ("step", 1),
        ("dtype", None),
        ("shape", None),
        ("c_order", True),
        ("meta", None),
        *LAYOUT_NONE,
    ],
    "linspace": [
        ("start", REQUIRED),
        ("stop", REQUIRED),
        ("num", None),
        ("dtype", None),
        ("endpoint", True),
        ("shape", None),
        ("c_order", True),
        ("meta", None),
        *LAYOUT_NONE,
    ],
    "asarray": [("array", REQUIRED), ("meta", None), *LAYOUT_DEFAULT],
    "empty_like": [("x", REQUIRED), ("dtype", None), ("meta", None), *LAYOUT_DEFAULT],
    "zeros_like": [("x", REQUIRED), ("dtype", None), ("meta", None), *LAYOUT_DEFAULT],
    "ones_like": [("x", REQUIRED), ("dtype", None), ("meta", None), *LAYOUT_DEFAULT],
    "full_like": [
        ("x", REQUIRED),
        ("fill_value", REQUIRED),
        ("dtype", None),
        ("meta", None),
        *LAYOUT_DEFAULT,
    ],
    "comp_blosc2_params": [
        ("image_size", REQUIRED),
        ("patch_size", REQUIRED),
        ("spatial_axis_mask", None),
        ("bytes_per_pixel", 4),
        ("l1_cache_size_per_core_in_bytes", 32768),
        ("l3_cache_size_per_core_in_bytes", 1441792),
        ("safety_factor", 0.8),
    ],
}
CLASSMETHODS = {
    "open",
    "create",
    "load",
    "empty",
    "zeros",
    "ones",
    "full",
    "arange",
    "linspace",
    "asarray",
    "empty_like",
    "zeros_like",
    "ones_like",
    "full_like",
    "comp_blosc2_params",
}
READ_ONLY_PROPERTIES = [
    "dtype",
    "ndim",
    "rotation",
    "scale",
    "shape",
    "shear",
    "spatial_ndim",
    "translation",
]
WRITABLE_PROPERTIES = ["affine", "direction", "origin", "spacing"]


def test_all_is_pinned() -> None:
    assert mlarray.__all__ == PUBLIC_ALL
    for name in mlarray.__all__:
        assert hasattr(mlarray, name), name


def test_documented_module_paths_resolve() -> None:
    assert mlarray.mlarray.MLArray is MLArray is mlarray.MLArray
    assert mlarray.meta.Meta is mlarray_meta.Meta is mlarray.Meta
    for name in mlarray.meta.__all__:
        assert getattr(mlarray.meta, name) is getattr(mlarray_meta, name), name


def test_default_patch_size_is_192() -> None:
    assert mlarray.MLARRAY_DEFAULT_PATCH_SIZE == 192


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_signature_matches_reference(name: str) -> None:
    member = getattr(MLArray, name)
    parameters = list(inspect.signature(member).parameters.values())
    if name not in CLASSMETHODS:
        assert parameters[0].name == "self"
        parameters = parameters[1:]
    documented = [p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [(p.name, p.default) for p in documented] == METHODS[name]
    # Extensions beyond the reference are keyword-only and optional, so that every
    # documented call (positional or by keyword) keeps its meaning.
    for extra in parameters[len(documented) :]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY, extra.name
        assert extra.default is not inspect.Parameter.empty, extra.name


@pytest.mark.parametrize("name", sorted(CLASSMETHODS))
def test_classmethods_are_classmethods(name: str) -> None:
    assert isinstance(inspect.getattr_static(MLArray, name), classmethod)


@pytest.mark.parametrize("name", READ_ONLY_PROPERTIES + WRITABLE_PROPERTIES)
def test_properties(name: str) -> None:
    attribute = inspect.getattr_static(MLArray, name)
    assert isinstance(attribute, property)
    assert (attribute.fset is not None) == (name in WRITABLE_PROPERTIES)
    assert attribute.__doc__


@pytest.mark.parametrize(
    "dunder", ["__array__", "__getitem__", "__setitem__", "__len__", "__iter__"]
)
def test_numpy_protocol_methods(dunder: str) -> None:
    assert callable(getattr(MLArray, dunder))


def test_comp_blosc2_params_is_the_chunking_function() -> None:
    assert MLArray.comp_blosc2_params((64, 64, 64), (32, 32, 32)) == mlarray.comp_blosc2_params(
        (64, 64, 64), (32, 32, 32)
    )


def test_error_hierarchy() -> None:
    leaves_and_builtins = {
        errors.MLArrayFileError: RuntimeError,
        errors.LayoutError: RuntimeError,
        errors.ReadOnlyError: RuntimeError,
        errors.MetaValidationError: ValueError,
        errors.FileFormatError: ValueError,
        errors.MetaTypeError: TypeError,
        errors.NoArrayError: TypeError,
        errors.UnsupportedLayoutError: NotImplementedError,
    }
    for leaf, builtin in leaves_and_builtins.items():
        assert issubclass(leaf, errors.MLArrayError), leaf
        assert issubclass(leaf, builtin), leaf
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.MLArrayError), name
    assert errors.MLArrayError is mlarray.MLArrayError is mlarray_meta.MLArrayError
