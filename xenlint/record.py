"""Value classes without code generated at import time.

`@dataclass` compiles each class's `__init__`, `__repr__`, `__eq__` and `__hash__` with
`exec` when its module is imported: about 1 ms a class on Python 3.11, and a run imports
some thirty of them before it reads a byte (a third of a small run's CPU). xenlint's value
classes instead declare `__slots__` and a plain `__init__`, and inherit from `Record` what a
dataclass would have generated, written once here and driven by `__slots__`:

- `repr()` like a dataclass's: `Segment(index=1, type=4, ...)`;
- `==` field by field between objects of the same class (NotImplemented otherwise);
- `Frozen` subclasses refuse attribute assignment (AttributeError, as a frozen dataclass's
  FrozenInstanceError is one) and hash by their fields; plain `Record`s are unhashable,
  like a non-frozen dataclass.

Fields are the annotated `__slots__` of the class and its bases, in declaration order, base
fields first (a dataclass's order).
`replace(obj, **changes)` is `dataclasses.replace`: every `__init__` takes each field by its
own name.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import get_annotations  # inspect is loaded anyway: pluggy imports it
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="Record")


def _no_fields(obj: object) -> tuple[()]:
    return ()


class Record:
    """Base of mutable value classes: repr and equality from the fields in `__slots__`."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _key: ClassVar[Callable[..., Any]]  # the field values (one value alone, not a tuple)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: list[str] = []
        for klass in reversed(cls.__mro__):
            # Declaration order (as a dataclass has it), not __slots__ order (kept sorted).
            slots = klass.__dict__.get("__slots__", ())
            for name in get_annotations(klass):
                if name in slots and name not in fields:
                    fields.append(name)
        cls._fields = tuple(fields)
        # One C-level getter for all fields: equality and hashing sit in hot loops (a rule
        # asking `kind in KINDS` for each of 65536 notes), as fast as a dataclass's.
        cls._key = attrgetter(*fields) if fields else _no_fields

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self is other or bool(self._key(self) == self._key(other))

    __hash__ = None  # type: ignore[assignment]  # mutable: like a non-frozen dataclass


class Frozen(Record):
    """Base of immutable value classes; `__init__` sets fields with `object.__setattr__`."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]  # Record's is None
        return hash(self._key(self))

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and pickle would set the slots with setattr, which a frozen record refuses.
        return (_rebuild, (type(self), {name: getattr(self, name) for name in self._fields}))


def _rebuild(cls: type[T], fields: dict[str, Any]) -> T:
    return cls(**fields)


def replace(obj: T, **changes: Any) -> T:
    """A copy of `obj` with some fields changed, as `dataclasses.replace` makes it."""
    names = obj._fields
    if isinstance(obj, Record):
        values = obj._key(obj)  # one C-level read of every field (rules copy results per cell)
        fields = dict(zip(names, values if len(names) != 1 else (values,), strict=True))
    else:  # a NamedTuple (notes, segments) has _fields too
        fields = dict(zip(names, obj, strict=True))
    if not changes.keys() <= fields.keys():
        unknown = set(changes) - set(fields)
        raise TypeError(f"{type(obj).__qualname__} has no field {sorted(unknown)[0]!r}")
    fields.update(changes)
    return type(obj)(**fields)
