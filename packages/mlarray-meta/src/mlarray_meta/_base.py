"""Base classes of the metadata schema and the read-only machinery.

Every metadata section is a dataclass deriving from :class:`BaseMeta`. Values are
validated and cast when a section is built and whenever a field is assigned; a
failed assignment leaves the section unchanged. Fields named in a class's
``_read_only`` set refuse every assignment, lists and dicts included (they hold
:class:`FrozenList` and :class:`FrozenDict`): they are views of the stored
array's facts (:mod:`mlarray_meta._facts`), set only by ``Meta._set_facts``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, NoReturn, TypeVar

from mlarray_meta.errors import (
    MetaTypeError,
    ReadOnlyFieldError,
    UnknownAttributeError,
    UnknownFieldError,
)

__all__ = [
    "BaseMeta",
    "FrozenDict",
    "FrozenList",
    "SingleKeyBaseMeta",
    "freeze",
]

T = TypeVar("T", bound="BaseMeta")
SK = TypeVar("SK", bound="SingleKeyBaseMeta")


def _refuse_write(field: str) -> NoReturn:
    raise ReadOnlyFieldError(f"{field} is managed by MLArray and is read-only", path=field)


class FrozenList(list[Any]):
    """A list that refuses in-place changes; it holds a container-managed value."""

    __slots__ = ("_field",)

    def __init__(self, values: Any = (), field: str = "value") -> None:
        super().__init__(values)
        self._field = field

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse_write(self._field)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self), self._field))


class FrozenDict(dict[str, Any]):
    """A dict that refuses in-place changes; it holds a container-managed value."""

    __slots__ = ("_field",)

    def __init__(self, values: Any = (), field: str = "value") -> None:
        super().__init__(values)
        self._field = field

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse_write(self._field)

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = setdefault = pop = popitem = clear = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self), self._field))


def freeze(value: Any, field: str) -> Any:
    """Return ``value`` with every nested list and dict made read-only.

    Args:
        value: Plain JSON-like data (dicts, lists and scalars).
        field: The managed field it belongs to, named in the error on mutation.
    """
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item, field) for key, item in value.items()}, field)
    if isinstance(value, list):
        return FrozenList([freeze(item, field) for item in value], field)
    return value


def plain_copy(value: Any) -> Any:
    """Deep-copy ``value`` into plain lists and dicts (frozen containers included)."""
    if isinstance(value, Mapping):
        return {key: plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(item) for item in value]
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""Dataclass field names per class (``dataclasses.fields`` is slow on hot paths)."""


def _is_unset(value: Any) -> bool:
    """None and empty containers count as unset for :meth:`BaseMeta.copy_from`."""
    return value is None or (isinstance(value, (list, tuple, dict)) and len(value) == 0)


@dataclass
class BaseMeta:
    """Base class for metadata containers.

    Subclasses implement :meth:`_validate_and_cast`, which checks every field and
    writes back normalised values; it runs after construction and after every
    assignment.
    """

    _section: ClassVar[str] = "meta"
    _read_only: ClassVar[frozenset[str]] = frozenset()
    _derived: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        self._validate_and_cast()
        object.__setattr__(self, "_ready", True)

    def _validate_and_cast(self) -> None:
        """Validate every field and store its normalised value (no-op by default)."""

    @classmethod
    def _field_names(cls) -> tuple[str, ...]:
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
        return names

    def _path(self, name: str) -> str:
        return f"{self._section}.{name}"

    def _raw(self, name: str) -> Any:
        return self.__dict__[name]

    def _store(self, name: str, value: Any) -> None:
        """Write a normalised value without re-running validation."""
        self.__dict__[name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        if not self.__dict__.get("_ready"):
            object.__setattr__(self, name, value)
        elif name in self._field_names():
            self._assign({name: value})
        elif name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:  # a typo such as meta.spatial.spacng would otherwise be lost silently
            raise UnknownAttributeError(
                f"{self._section}.{name}: no such field; expected one of "
                f"{[field for field in self._field_names() if not field.startswith('_')]}",
                path=f"{self._section}.{name}",
            )

    def assign(self, **values: Any) -> None:
        """Set several fields at once, validating once; on failure nothing changes.

        Use it to make changes that are only valid together, such as new
        ``axis_labels`` with a ``spacing`` of matching length.

        Args:
            **values: Field names and their new values.

        Raises:
            ReadOnlyFieldError: If a field is a read-only view of the array's facts.
            UnknownFieldError: If a name is not a field of this section.
        """
        unknown = sorted(set(values) - set(self._field_names()))
        if unknown:
            raise UnknownFieldError(
                f"{self._section}: unknown fields {unknown}; expected some of "
                f"{list(self._field_names())}",
                path=self._section,
            )
        self._assign(values)

    def _assign(self, values: Mapping[str, Any]) -> None:
        """Set several fields at once and validate once; on failure nothing changes."""
        for name in values:
            if name in self._read_only or name in self._derived:
                _refuse_write(self._path(name))
        self._write(values)

    def _write(self, values: Mapping[str, Any]) -> None:
        """As :meth:`_assign`, read-only fields included (for ``Meta._set_facts``)."""
        old = {name: self.__dict__[name] for name in self._field_names()}
        self.__dict__.update(values)
        try:
            self._validate_and_cast()
        except BaseException:
            self.__dict__.update(old)
            raise

    def _writable_fields(self) -> list[str]:
        skip = self._read_only | self._derived
        return [name for name in self._field_names() if name not in skip]

    def copy_from(self: T, other: T, *, overwrite: bool = False) -> None:
        """Copy fields from another instance of the same class.

        Fields managed by the container (array shape, chunk layout, format markers)
        are skipped: they describe the array they belong to.

        Args:
            other: Source instance.
            overwrite: When True, overwrite all fields. When False, only fill
                destination fields that are "unset" (None or empty containers).
                Nested BaseMeta fields are merged recursively unless the entire
                destination sub-meta is default, in which case it is replaced.

        Raises:
            TypeError: If ``other`` is not the same class as ``self``.
        """
        if type(other) is not type(self):
            raise MetaTypeError(
                f"{self._section}.copy_from: expected a {type(self).__name__}, "
                f"got {type(other).__name__}"
            )
        updates: dict[str, Any] = {}
        for name in self._writable_fields():
            mine, theirs = self._raw(name), other._raw(name)
            if isinstance(mine, BaseMeta):
                merged = copy.deepcopy(mine)
                merged.copy_from(theirs, overwrite=overwrite or mine.is_default())
                updates[name] = merged
            elif overwrite or _is_unset(mine):
                updates[name] = copy.deepcopy(theirs)
        self._assign(updates)

    @classmethod
    def ensure(cls: type[T], x: Any) -> T:
        """Coerce ``x`` into an instance of ``cls``.

        Args:
            x: None, an instance of cls, or a mapping of fields.

        Returns:
            An instance of cls.

        Raises:
            TypeError: If x is not None, cls, or a mapping.
        """
        if x is None:
            return cls()
        if isinstance(x, cls):
            return x
        if isinstance(x, Mapping):
            return cls.from_mapping(x)
        raise MetaTypeError(
            f"{cls._section}: expected {cls.__name__}, a mapping or None, got {type(x).__name__}",
            path=cls._section,
        )

    @classmethod
    def from_mapping(cls: type[T], d: Mapping[str, Any]) -> T:
        """Construct an instance from a mapping.

        Args:
            d: Input mapping matching dataclass field names.

        Returns:
            A new instance of cls.

        Raises:
            TypeError: If d is not a Mapping.
            KeyError: If unknown keys are present.
        """
        if not isinstance(d, Mapping):
            raise MetaTypeError(
                f"{cls._section}: {cls.__name__}.from_mapping expects a mapping, "
                f"got {type(d).__name__}",
                path=cls._section,
            )
        unknown = sorted(str(key) for key in d if key not in cls._field_names())
        if unknown:
            raise UnknownFieldError(
                f"{cls._section}: unknown {cls.__name__} keys {unknown}; "
                f"expected some of {list(cls._field_names())}",
                path=cls._section,
            )
        return cls(**dict(d))

    def is_default(self) -> bool:
        """Return True if this equals a default-constructed instance."""
        return self == type(self)()

    def reset(self) -> None:
        """Reset all fields to their default or None.

        Container-managed fields keep their values (they describe the stored array).
        """
        defaults: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in self._writable_fields():
                continue
            if f.default_factory is not MISSING:
                defaults[f.name] = f.default_factory()
            elif f.default is not MISSING:
                defaults[f.name] = f.default
            else:
                defaults[f.name] = None
        self._assign(defaults)

    def to_mapping(self, *, include_none: bool = True) -> dict[str, Any]:
        """Serialize to a mapping, recursively expanding nested BaseMeta.

        Args:
            include_none: Include fields with None values when True.

        Returns:
            A dict of field names to serialized values.
        """
        out: dict[str, Any] = {}
        for name in self._field_names():
            value = self._raw(name)
            if isinstance(value, BaseMeta):
                out[name] = value.to_mapping(include_none=include_none)
            elif value is not None or include_none:
                out[name] = plain_copy(value)
        return out

    def to_plain(self, *, include_none: bool = False) -> Any:
        """Convert to plain Python objects recursively.

        Args:
            include_none: Include fields with None values when True.

        Returns:
            A dict of field values, with nested BaseMeta expanded. SingleKeyBaseMeta
            overrides this to return its wrapped value.
        """
        out: dict[str, Any] = {}
        for name in self._field_names():
            value = self._raw(name)
            if isinstance(value, BaseMeta):
                value = value.to_plain(include_none=include_none)
            else:
                value = plain_copy(value)
            if value is not None or include_none:
                out[name] = value
        return out


@dataclass(eq=False, repr=False)
class SingleKeyBaseMeta(BaseMeta):
    """BaseMeta subclass that wraps a single field as a raw value.

    The instance behaves like the value it wraps: ``meta.source["k"]``,
    ``"k" in meta.source``, ``len(meta.source)``, iteration, truthiness and
    equality with the raw value all work, and methods of the value (``get``,
    ``items``...) are reachable on the instance.
    """

    __hash__ = None  # type: ignore[assignment]
    _value_is_mapping: ClassVar[bool] = False

    @classmethod
    def _key(cls) -> str:
        names = cls._field_names()
        if len(names) != 1:
            raise MetaTypeError(f"{cls.__name__} must define exactly one field, found {names}")
        return names[0]

    @property
    def value(self) -> Any:
        """Return the wrapped value."""
        return self._raw(self._key())

    @value.setter
    def value(self, v: Any) -> None:
        self._assign({self._key(): v})

    def set(self, v: Any) -> None:
        """Set the wrapped value."""
        self.value = v

    @classmethod
    def ensure(cls: type[SK], x: Any) -> SK:
        """Coerce input into an instance of cls.

        Args:
            x: None, instance of cls, mapping, or raw value.

        Returns:
            An instance of cls.
        """
        if isinstance(x, cls):
            return x
        if isinstance(x, BaseMeta):
            raise MetaTypeError(
                f"{cls._section}: expected {cls.__name__} or a raw value, got {type(x).__name__}",
                path=cls._section,
            )
        return cls.from_mapping(x)

    @classmethod
    def from_mapping(cls: type[SK], d: Any) -> SK:
        """Construct from either schema-shaped mapping or raw value.

        A mapping whose only key is the field name (``{"is_seg": True}``) is
        schema-shaped; anything else is the raw value. For sections wrapping a
        dict, ``{"data": {...}}`` is schema-shaped only when the inner value is a
        mapping. For the other sections an empty mapping is the schema-shaped
        form of an unset value, as written by ``to_mapping(include_none=False)``.

        Args:
            d: None, mapping, or raw value.

        Returns:
            A new instance of cls.
        """
        if d is None or (isinstance(d, Mapping) and not d and not cls._value_is_mapping):
            return cls()
        key = cls._key()
        if isinstance(d, Mapping) and set(d) == {key}:
            inner = d[key]
            if not cls._value_is_mapping or isinstance(inner, Mapping):
                return cls(**{key: inner})
        return cls(**{key: d})

    def to_mapping(self, *, include_none: bool = True) -> dict[str, Any]:
        """Serialize to a mapping with the single key.

        Args:
            include_none: Include the key when the value is None.

        Returns:
            A dict with the single field name as the key, or an empty dict.
        """
        if self.value is None and not include_none:
            return {}
        return {self._key(): plain_copy(self.value)}

    def to_plain(self, *, include_none: bool = False) -> Any:
        """Return the wrapped value for plain output.

        Args:
            include_none: Return None when the value is None.

        Returns:
            The wrapped value or None.
        """
        return plain_copy(self.value)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the instance lacks: delegate to the wrapped value.
        if name.startswith("_") or self._key() not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__[self._key()], name)

    def __getitem__(self, key: Any) -> Any:
        return self.value[key]

    def __setitem__(self, key: Any, item: Any) -> None:
        if self._read_only:
            _refuse_write(self._section)
        self.value[key] = item

    def __delitem__(self, key: Any) -> None:
        if self._read_only:
            _refuse_write(self._section)
        del self.value[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.value

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SingleKeyBaseMeta):
            return type(other) is type(self) and bool(other.value == self.value)
        return bool(self.value == other)

    def __repr__(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:
        return str(self.value)
