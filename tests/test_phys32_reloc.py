"""XL205 phys32-reloc and the PHYS32_RELOC replay in xenparse: the note is read from 4.19
(4.18/4.19 boundary), in every mode, with Xen's defaults and its descsz quirks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import Lint, cells, targets_of
from elfbuilder import Note, Segment, build_elf, note_bytes, u32, xen_kernel

from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import RELEASES
from xenlint.engine.check import Finding
from xenlint.engine.targets import resolve
from xenlint.image.elf import load_elf
from xenlint.replay.xen import parse

ALL_MODES = ["pv", "pvh", "pv-dom0", "pvh-dom0"]
SIZE = 0x300000  # the kernel's load size in these tests


def span(spec: str) -> set[str]:
    return {p.name for p in resolve([spec], list(RELEASES))}


FROM_419 = span("xen>=4.19")
BY_NAME = {r.name: r for r in RELEASES}


def reloc(*words: int, big_endian: bool = False) -> Note:
    return Note(N.PHYS32_RELOC.number, b"".join(u32(w, big_endian) for w in words))


def kernel(*notes: Note, bits: int = 64, big_endian: bool = False) -> bytes:
    entry = Note(N.PHYS32_ENTRY.number, u32(0x100000, big_endian))
    return xen_kernel([entry, *notes], text_size=SIZE, bits=bits, big_endian=big_endian)


def messages(findings: Sequence[Finding]) -> list[str]:
    return [f.message for f in findings if f.code == "XL205"]


def fixes(findings: Sequence[Finding]) -> set[str]:
    return {f.fix for f in findings if f.code == "XL205"}


def test_xl205_good_note_is_quiet(lint: Lint) -> None:
    for note in (
        reloc(),  # presence alone: all defaults
        reloc(0x200000),
        reloc(0x200000, 0x1000000),
        reloc(0x200000, 0x1000000, 0x1FFFFFFF),
        reloc(N.PHYS32_UNSET, 0x1000000, 0x12FFFFF),  # all-ones align means "default"
    ):
        assert not lint(kernel(note), modes=ALL_MODES, select=["XL205"]), note


def test_xl205_fires_from_419_in_every_mode(lint: Lint) -> None:
    found = lint(kernel(reloc(0x300000)), modes=ALL_MODES, select=["XL205"])
    assert cells(found, "XL205", "warning") == {(t, m) for t in FROM_419 for m in ALL_MODES}
    assert "xen-4.18" not in targets_of(found, "XL205")
    (message,) = set(messages(found))
    assert message.startswith("PHYS32_RELOC align 0x300000 is not a power of two")
    assert "only when booting as PVH dom0" in message
    assert fixes(found) == {"set align (word 0) to a power of two, e.g. 0x400000"}
    location = next(f.location for f in found if f.code == "XL205")
    assert location is not None and location.note == "PHYS32_RELOC"


@pytest.mark.parametrize(
    ("words", "says", "fix"),
    [
        ((0,), "align 0x0 is not a power of two", "e.g. 0x1000"),
        (
            (0x200000, 0x2000000, 0x1000000),
            "min 0x2000000 is above max 0x1000000",
            "swap them: min 0x1000000, max 0x2000000",
        ),
        (
            (0x200000, 0x1000000, 0x11FFFFF),
            "range [0x1000000, 0x11fffff] (0x200000 bytes) cannot hold the kernel's 0x300000",
            "e.g. max 0x12fffff",
        ),
        (
            (0x200000, 0x1100000),
            "min 0x1100000 is not a multiple of align 0x200000",
            "round min up to 0x1200000",
        ),
    ],
)
def test_xl205_each_problem(lint: Lint, words: tuple[int, ...], says: str, fix: str) -> None:
    found = lint(kernel(reloc(*words)), modes=["pvh-dom0"], select=["XL205"])
    assert targets_of(found, "XL205", "warning") == FROM_419
    assert any(says in m for m in messages(found)), messages(found)
    assert any(fix in f for f in fixes(found)), fixes(found)


def test_xl205_range_exactly_the_kernel_size_is_fine(lint: Lint) -> None:
    exact = reloc(0x200000, 0x1000000, 0x1000000 + SIZE - 1)
    assert not lint(kernel(exact), modes=["pvh-dom0"], select=["XL205"])
    short = reloc(0x200000, 0x1000000, 0x1000000 + SIZE - 2)
    found = lint(kernel(short), modes=["pvh-dom0"], select=["XL205"])
    assert targets_of(found, "XL205", "warning") == FROM_419
    assert "(0x2fffff bytes) cannot hold the kernel's 0x300000 bytes" in messages(found)[0]


def test_xl205_descsz_not_a_multiple_of_4_zeroes_every_word(lint: Lint) -> None:
    note = Note(N.PHYS32_RELOC.number, u32(0x200000) + u32(0x1100000) + b"\0\0")
    found = lint(kernel(note), modes=["pvh-dom0"], select=["XL205"])
    assert targets_of(found, "XL205", "warning") == FROM_419
    assert messages(found) == [
        "PHYS32_RELOC has descsz 10, not a multiple of 4, so Xen reads align, min as 0; "
        "Xen does not check this, and uses PHYS32_RELOC only when booting as PVH dom0"
    ]
    # descsz below 4 reads no word at all: the defaults apply
    short = Note(N.PHYS32_RELOC.number, b"\1\2")
    assert not lint(kernel(short), modes=["pvh-dom0"], select=["XL205"])


def test_xl205_later_note_overrides_only_its_words(lint: Lint) -> None:
    first = reloc(0x200000, 0x1000000, 0x11FFFFF)  # too small for the kernel
    second = reloc(0x400000)  # replaces align only
    found = lint(kernel(first, second), modes=["pvh-dom0"], select=["XL205"])
    assert any("[0x1000000, 0x11fffff]" in m for m in messages(found))
    fixed = reloc(0x200000, 0x1000000, 0x1FFFFFF)
    assert not lint(kernel(first, fixed), modes=["pvh-dom0"], select=["XL205"])


def test_xl205_big_endian_and_elf32(lint: Lint) -> None:
    good = kernel(reloc(0x200000, 0x1000000, big_endian=True), bits=32, big_endian=True)
    assert not lint(good, modes=["pvh-dom0"], select=["XL205"])
    bad = kernel(reloc(0x300000, big_endian=True), bits=32, big_endian=True)
    found = lint(bad, modes=["pvh-dom0"], select=["XL205"])
    assert targets_of(found, "XL205", "warning") == FROM_419
    assert "align 0x300000" in messages(found)[0]


def test_xl205_other_machines_skipped(lint: Lint) -> None:
    arm = xen_kernel([reloc(0x300000)], machine=183)
    assert not lint(arm, modes=["pvh-dom0"], select=["XL205"])


def _image(tmp_path: Path, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "k.elf"
    path.write_bytes(data)
    return load_elf(str(path))


def test_parse_defaults_and_release_boundary(tmp_path: Path) -> None:
    image = _image(tmp_path, kernel(reloc()))
    assert parse(image, BY_NAME["xen-4.18"], Mode.PVH_DOM0).phys32_reloc is None
    result = parse(image, BY_NAME["xen-4.19"], Mode.PVH_DOM0).phys32_reloc
    assert result is not None
    assert (result.align, result.min, result.max) == (0x1000, 0, 0xFFFFFFFF)  # p_align 0x1000
    assert result.words == (None, None, None)


def test_parse_default_align_below_a_page_is_2mib(tmp_path: Path) -> None:
    segs = [
        Segment(data=b"\x90" * 16, align=0x200),
        Segment(4, 4, vaddr=0, paddr=0, data=note_bytes([reloc(N.PHYS32_UNSET, 0x1000)])),
    ]
    image = _image(tmp_path, build_elf(segs))
    result = parse(image, BY_NAME["xen-4.22"], Mode.PVH_DOM0).phys32_reloc
    assert result is not None
    assert (result.align, result.min, result.max) == (0x200000, 0x1000, 0xFFFFFFFF)


def test_parse_descsz_not_a_multiple_of_4(tmp_path: Path) -> None:
    note = Note(N.PHYS32_RELOC.number, u32(0x200000) + u32(0x1100000) + b"\0\0")
    image = _image(tmp_path, kernel(note))
    result = parse(image, BY_NAME["xen-4.19"], Mode.PVH_DOM0).phys32_reloc
    assert result is not None and result.zeroed is result.note
    assert result.words == (0, 0, None)
    assert (result.align, result.min, result.max) == (0, 0, 0xFFFFFFFF)


def test_parse_words_in_elf_byte_order(tmp_path: Path) -> None:
    note = reloc(0x200000, 0x1000000, 0x2000000, big_endian=True)
    image = _image(tmp_path, kernel(note, big_endian=True))
    result = parse(image, BY_NAME["xen-4.19"], Mode.PV).phys32_reloc
    assert result is not None
    assert (result.align, result.min, result.max) == (0x200000, 0x1000000, 0x2000000)
