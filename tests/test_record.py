"""xenlint.record: value classes behave as the dataclasses they replace (issue 14)."""

from __future__ import annotations

import copy
import pickle

import pytest

from xenlint.engine.rule import Location
from xenlint.image.model import Container, Segment
from xenlint.record import Frozen, Record, replace


class Point(Record):
    __slots__ = ("x", "y")

    y: int  # declared first: fields follow declaration order, not __slots__ order
    x: int

    def __init__(self, y: int, x: int = 0) -> None:
        self.y = y
        self.x = x


class Tagged(Frozen):
    __slots__ = ("tag",)

    tag: str

    def __init__(self, tag: str) -> None:
        object.__setattr__(self, "tag", tag)


class Named(Tagged):
    __slots__ = ("name",)

    name: str

    def __init__(self, tag: str, name: str) -> None:
        super().__init__(tag)
        object.__setattr__(self, "name", name)


def test_fields_in_declaration_order_base_first() -> None:
    assert Point._fields == ("y", "x")
    assert Named._fields == ("tag", "name")
    assert repr(Named("t", "n")) == "Named(tag='t', name='n')"


def test_equality_by_fields_and_class() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Tagged("t") != Named("t", "n")  # another class is never equal, as a dataclass
    assert Tagged("t") != "t"


def test_frozen_refuses_assignment_and_hashes_by_fields() -> None:
    t = Named("t", "n")
    with pytest.raises(AttributeError):
        t.tag = "u"
    with pytest.raises(AttributeError):
        del t.name
    assert hash(t) == hash(Named("t", "n"))
    assert len({t, Named("t", "n"), Named("t", "m")}) == 2
    with pytest.raises(TypeError):
        hash(Point(1))  # mutable records are unhashable, like a non-frozen dataclass


def test_replace_copy_and_pickle() -> None:
    seg = Segment(1, 4, 4, 0x1000, 0, 0, 0x20, 0x20, 4)
    moved = replace(seg, offset=0x2000)
    assert (moved.offset, moved.index, seg.offset) == (0x2000, 1, 0x1000)
    with pytest.raises(TypeError, match="no field 'bogus'"):
        replace(seg, bogus=1)
    c = Container("segment", 1, None, 0x1000, 0x20)
    assert copy.copy(c) == c and copy.deepcopy(c) == c
    assert pickle.loads(pickle.dumps(c)) == c
    assert Location() == Location() and hash(Location()) == hash(Location())
