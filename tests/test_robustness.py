"""No input, however broken, makes xenlint raise: random bytes and random note layouts."""

from __future__ import annotations

import struct
from pathlib import Path

from elfbuilder import Note, Segment, build_elf, xen_kernel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenlint.abi.profile import Mode
from xenlint.engine.check import cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.image.elf import load_elf
from xenlint.image.model import ImageError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def lint_all(registry: Registry, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        image = load_elf(str(path))
    except ImageError as exc:
        assert "\n" not in str(exc)
        return
    for modes in (None, list(Mode)):
        cells = cells_for(image, registry.profiles, modes)
        _, errors = run_rules(image, registry.rules.values(), cells, registry.profiles)
        assert errors == []


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(registry: Registry, tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    lint_all(registry, tmp_path_factory.mktemp("r") / "x.elf", b"\x7fELF" + data)


notes = st.lists(
    st.builds(
        Note,
        type=st.integers(0, 25) | st.integers(0, 2**32 - 1),
        desc=st.binary(max_size=40)
        | st.sampled_from([b"generic\0", b"linux\0", b"xen-3.0\0", b"!dom0|hvm_callback_vector\0"]),
        name=st.sampled_from([b"Xen\0", b"Xen", b"GNU\0", b"", b"Xen\0\0\0\0\0"]),
        namesz=st.none() | st.integers(0, 2**32 - 1),
        descsz=st.none() | st.integers(0, 70) | st.integers(0, 2**32 - 1),
    ),
    max_size=8,
)


@SETTINGS
@given(
    notes,
    st.sampled_from([32, 64]),
    st.booleans(),
    st.integers(0, 2**64 - 1),
    st.integers(0, 300),
)
def test_random_note_layouts(registry, tmp_path_factory, ns, bits, big, entry, cut) -> None:  # type: ignore[no-untyped-def]
    data = xen_kernel(ns, bits=bits, big_endian=big, entry=entry % (2**bits))
    lint_all(registry, tmp_path_factory.mktemp("n") / "x.elf", data[: len(data) - cut])


@SETTINGS
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**16 - 1))
def test_extreme_header_fields(registry, tmp_path_factory, off, size, count) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(build_elf([Segment(data=b"\x90" * 32), Segment(type=4, data=b"\0" * 24)]))
    # second program header: p_offset and p_filesz at 64+56+8 and 64+56+32
    struct.pack_into("<QQ", data, 64 + 56 + 8, off, 0)
    struct.pack_into("<Q", data, 64 + 56 + 32, size)
    struct.pack_into("<H", data, 0x3C, count)  # e_shnum
    lint_all(registry, tmp_path_factory.mktemp("h") / "x.elf", bytes(data))
