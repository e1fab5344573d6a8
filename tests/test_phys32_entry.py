"""PHYS32_ENTRY value rules XL201-XL204, on both sides of the boundaries they depend on: 4.6/4.7
(PHYS32_ENTRY parsed at all), 4.15/4.16 (the entry bounds check), the inclusive end of that
check, ELF32 and big-endian images."""

from __future__ import annotations

from collections.abc import Sequence

from conftest import Lint, cells, targets_of
from elfbuilder import (
    PF_R,
    PF_W,
    PF_X,
    PT_NOTE,
    Note,
    Segment,
    build_elf,
    note_bytes,
    u32,
    u64,
    xen_kernel,
)

from xenlint.abi import notes as N
from xenlint.abi.xen import RELEASES
from xenlint.engine.check import Finding
from xenlint.engine.targets import resolve

PVH = ["pvh"]
CODES = ["XL201", "XL202", "XL203", "XL204"]
OUT_OF_BOUNDS = "'ELF start or entries are out of bounds'"


def span(spec: str) -> set[str]:
    return {p.name for p in resolve([spec], list(RELEASES))}


FROM_47 = span("xen>=4.7")
UNCHECKED = span("xen>=4.7,<4.16")  # PHYS32_ENTRY not bounds-checked
CHECKED = span("xen>=4.16")


def entry_note(desc: bytes, **kw: int) -> Note:
    return Note(N.PHYS32_ENTRY.number, desc, **kw)


def pvh_kernel(entry: int, *, bits: int = 64, big_endian: bool = False, **kw: int) -> bytes:
    """One R+X PT_LOAD of 0x100 bytes at paddr 0x100000 (unless overridden), 4-byte entry."""
    return xen_kernel([entry_note(u32(entry, big_endian))], bits=bits, big_endian=big_endian, **kw)


def layout(entry: int, *, bits: int = 64, big_endian: bool = False) -> bytes:
    """Segment 0: R-X [0x100000, 0x100200) with file bytes up to 0x100100 (then .bss);
    segment 1: RW- [0x200000, 0x200100); segment 2: the PT_NOTE. pend is 0x200100."""
    notes = [entry_note(u32(entry, big_endian))]
    return build_elf(
        [
            Segment(flags=PF_R | PF_X, vaddr=0x100000, data=b"\x90" * 0x100, memsz=0x200),
            Segment(flags=PF_R | PF_W, vaddr=0x200000, data=b"\0" * 0x100),
            Segment(PT_NOTE, PF_R, vaddr=0, paddr=0, data=note_bytes(notes, big_endian)),
        ],
        bits=bits,
        big_endian=big_endian,
    )


def messages(findings: Sequence[Finding], code: str, target: str) -> list[str]:
    return [f.message for f in findings if f.code == code and target in f.targets]


def fixes(findings: Sequence[Finding], code: str) -> set[str]:
    return {f.fix for f in findings if f.code == code}


# --- XL201 phys32-entry-not-32bit -----------------------------------------------------------


def test_xl201_virtual_entry_is_truncated_and_the_physical_address_named(lint: Lint) -> None:
    virtual = 0xFFFFFFFF81000010
    image = xen_kernel([entry_note(u64(virtual))], vaddr=0xFFFFFFFF81000000, load_addr=0x1000000)
    found = lint(image, modes=["pv", "pvh", "pvh-dom0"], select=CODES)
    assert cells(found, "XL201", "error") == {(t, "pvh") for t in FROM_47} | {
        (t, "pvh-dom0") for t in span("xen>=4.9")
    }
    early = messages(found, "XL201", "xen-4.15")[0]
    assert "0xffffffff81000010" in early and "keeps 0x81000010 and starts the vCPU there" in early
    assert "virtual address in segment 0" in early
    late = messages(found, "XL201", "xen-4.16")[0]
    assert "0x81000010, which is outside the image" in late and OUT_OF_BOUNDS in late
    (fix,) = fixes(found, "XL201")
    assert fix.startswith("set PHYS32_ENTRY to the physical address 0x1000010 ")
    # the truncated value is outside the image as well
    assert targets_of(found, "XL202", "error") == FROM_47


def test_xl201_quiet_below_4g_and_on_pv(lint: Lint) -> None:
    assert not cells(lint(xen_kernel([entry_note(u64(0x100000))]), select=CODES), "XL201")
    unset = xen_kernel([entry_note(u64(N.PHYS32_UNSET))])  # fits: XL103's case
    assert not cells(lint(unset, modes=PVH, select=CODES), "XL201")
    big = xen_kernel([entry_note(u64(0x100100000))])
    assert not cells(lint(big, modes=["pv", "pv-dom0"], select=CODES), "XL201")


def test_xl201_truncated_value_inside_the_image_still_fires(lint: Lint) -> None:
    found = lint(xen_kernel([entry_note(u64(0x100100010))]), modes=PVH, select=CODES)
    assert targets_of(found, "XL201", "error") == FROM_47
    assert "keeps 0x100010 and starts the vCPU there" in messages(found, "XL201", "xen-4.22")[0]
    assert not cells(found, "XL202")
    (fix,) = fixes(found, "XL201")
    assert "inside the kernel's p_paddr range [0x100000, 0x100100)" in fix


def test_xl201_low_bits_all_ones_read_as_no_entry(lint: Lint) -> None:
    found = lint(xen_kernel([entry_note(u64(0x1FFFFFFFF))]), modes=PVH, select=CODES)
    assert targets_of(found, "XL201", "error") == FROM_47
    assert "reads as 'no PHYS32_ENTRY'" in messages(found, "XL201", "xen-4.16")[0]


def test_xl201_elf32_big_endian(lint: Lint) -> None:
    good = xen_kernel([entry_note(u64(0x100000, True))], bits=32, big_endian=True)
    assert not cells(lint(good, modes=PVH, select=CODES), "XL201")
    image = xen_kernel(
        [entry_note(u64(1 << 32 | 0xC0100040, True))], bits=32, big_endian=True, vaddr=0xC0100000
    )
    found = lint(image, modes=PVH, select=CODES)
    assert targets_of(found, "XL201", "error") == FROM_47
    assert "keeps 0xc0100040" in messages(found, "XL201", "xen-4.7")[0]
    assert fixes(found, "XL201") == {
        "set PHYS32_ENTRY to the physical address 0x100040 (0xc0100040 - p_vaddr 0xc0100000 "
        "+ p_paddr 0x100000 of segment 0), as a 4-byte .long"
    }


# --- XL202 phys32-entry-outside-image -------------------------------------------------------


def test_xl202_outside_refused_from_416_unchecked_before(lint: Lint) -> None:
    found = lint(pvh_kernel(0x200000), modes=["pv", "pvh"], select=CODES)
    assert cells(found, "XL202", "error") == {(t, "pvh") for t in FROM_47}
    assert "xen-4.6" not in targets_of(found, "XL202")  # 4.6 has no PVH and no PHYS32_ENTRY
    for target in ("xen-4.7", "xen-4.15"):
        message = messages(found, "XL202", target)[0]
        assert "outside the kernel's physical load range [0x100000, 0x100100]" in message
        assert "does not check it" in message and OUT_OF_BOUNDS not in message
    for target in ("xen-4.16", "xen-4.22"):
        assert OUT_OF_BOUNDS in messages(found, "XL202", target)[0]
    assert fixes(found, "XL202") == {
        "set PHYS32_ENTRY to the physical address of the 32-bit entry code, inside the "
        "kernel's p_paddr range [0x100000, 0x100100), as a 4-byte .long"
    }


def test_xl202_inclusive_end_and_start(lint: Lint) -> None:
    for inside in (0x100000, 0x1000FF, 0x100100):  # pend itself passes Xen's check
        assert not cells(lint(pvh_kernel(inside), modes=PVH, select=CODES), "XL202"), inside
    for outside in (0xFFFFF, 0x100101):
        found = lint(pvh_kernel(outside), modes=PVH, select=CODES)
        assert targets_of(found, "XL202", "error") == FROM_47, outside


def test_xl202_virtual_entry_fix_names_the_physical_address(lint: Lint) -> None:
    found = lint(pvh_kernel(0xC0100040, vaddr=0xC0100000), modes=PVH, select=CODES)
    assert targets_of(found, "XL202", "error") == FROM_47
    assert not cells(found, "XL201")
    (fix,) = fixes(found, "XL202")
    assert fix.startswith("set PHYS32_ENTRY to the physical address 0x100040 ")


def test_xl202_no_loadable_segment(lint: Lint) -> None:
    image = build_elf(
        [
            Segment(flags=0, data=b"\x90" * 16),  # PT_LOAD without R/W/X: libelf skips it
            Segment(PT_NOTE, PF_R, vaddr=0, paddr=0, data=note_bytes([entry_note(u32(0))])),
        ]
    )
    found = lint(image, modes=PVH, select=CODES)
    assert targets_of(found, "XL202", "error") == FROM_47
    assert "no loadable PT_LOAD segment" in messages(found, "XL202", "xen-4.16")[0]
    assert not cells(found, "XL203")


def test_xl202_elf32_big_endian(lint: Lint) -> None:
    found = lint(pvh_kernel(0x300000, bits=32, big_endian=True), modes=PVH, select=CODES)
    assert targets_of(found, "XL202", "error") == FROM_47
    good = pvh_kernel(0x100010, bits=32, big_endian=True)
    assert not lint(good, modes=PVH, select=CODES)


# --- XL203 phys32-entry-not-code ------------------------------------------------------------


def test_xl203_entry_in_code_is_fine(lint: Lint) -> None:
    assert not lint(layout(0x100080), modes=PVH, select=CODES)


def test_xl203_bss_gap_end_and_data(lint: Lint) -> None:
    cases = (
        (0x100180, "error", "zero-filled tail of segment 0 (R-X, p_paddr [0x100000, 0x100200)"),
        (0x150000, "error", "gap between the loadable segments"),
        (0x200100, "error", "the end of the image (pend"),
        (0x200010, "warning", "segment 1 (RW-, p_paddr [0x200000, 0x200100)), which is not"),
    )
    for entry, severity, words in cases:
        found = lint(layout(entry), modes=["pv", "pvh"], select=CODES)
        assert cells(found, "XL203", severity) == {(t, "pvh") for t in FROM_47}, entry
        assert words in messages(found, "XL203", "xen-4.16")[0], entry
        assert not cells(found, "XL202"), entry
        (fix,) = fixes(found, "XL203")
        assert "inside the file-backed part of segment 0 (R-X" in fix


def test_xl203_bss_boundary(lint: Lint) -> None:
    """The last file byte is code; the first zero-filled byte is not."""
    assert not cells(lint(layout(0x1000FF), modes=PVH, select=CODES), "XL203")
    found = lint(layout(0x100100), modes=PVH, select=CODES)
    assert targets_of(found, "XL203", "error") == FROM_47


def test_xl203_elf32_big_endian(lint: Lint) -> None:
    found = lint(layout(0x100180, bits=32, big_endian=True), modes=PVH, select=CODES)
    assert targets_of(found, "XL203", "error") == FROM_47
    assert not lint(layout(0x100000, bits=32, big_endian=True), modes=PVH, select=CODES)


# --- XL204 phys32-entry-size ----------------------------------------------------------------


def test_xl204_odd_size_reads_zero(lint: Lint) -> None:
    image = xen_kernel([entry_note(b"\x00\x00\x10")])
    found = lint(image, modes=["pv", "pvh"], select=["XL204"])
    assert cells(found, "XL204", "error") == {(t, "pvh") for t in FROM_47}
    for target in ("xen-4.7", "xen-4.15"):
        message = messages(found, "XL204", target)[0]
        assert "descsz 3" in message and "starts the vCPU at physical address 0" in message
    for target in ("xen-4.16", "xen-4.22"):
        assert OUT_OF_BOUNDS in messages(found, "XL204", target)[0]


def test_xl204_zero_inside_the_image_is_not_refused(lint: Lint) -> None:
    found = lint(xen_kernel([entry_note(b"")], load_addr=0), modes=PVH, select=["XL204"])
    assert targets_of(found, "XL204", "error") == FROM_47
    assert "starts the vCPU at physical address 0" in messages(found, "XL204", "xen-4.16")[0]


def test_xl204_long_descriptor_fix_shows_first_word(lint: Lint) -> None:
    found = lint(xen_kernel([entry_note(u32(0x100000) + bytes(12))]), modes=PVH, select=CODES)
    assert targets_of(found, "XL204", "error") == FROM_47
    assert all("first 4 bytes now read 0x100000" in f for f in fixes(found, "XL204"))


def test_xl204_narrow_numbers_warn(lint: Lint) -> None:
    for desc, limit in ((b"\x10", "0x100"), (b"\x00\x10", "0x10000")):
        found = lint(xen_kernel([entry_note(desc)], load_addr=0), modes=PVH, select=["XL204"])
        assert targets_of(found, "XL204", "warning") == FROM_47
        assert not cells(found, "XL204", "error")
        assert f"below {limit}" in messages(found, "XL204", "xen-4.16")[0]


def test_xl204_four_and_eight_bytes_are_fine(lint: Lint) -> None:
    for desc in (u32(0x100000), u64(0x100000)):
        assert not lint(xen_kernel([entry_note(desc)]), modes=PVH, select=CODES)


def test_xl204_descriptor_past_end_of_file(lint: Lint) -> None:
    notes = note_bytes([entry_note(u32(0x100000), descsz=8)])
    image = build_elf(
        [Segment(data=b"\x90" * 0x100), Segment(PT_NOTE, PF_R, vaddr=0, paddr=0, data=notes)],
        with_section_headers=False,
    )
    found = lint(image, modes=PVH, select=["XL204"])
    assert targets_of(found, "XL204", "error") == FROM_47
    assert "runs past the end of the file" in messages(found, "XL204", "xen-4.16")[0]


def test_xl204_elf32_big_endian(lint: Lint) -> None:
    bad = xen_kernel([entry_note(b"\x00\x10\x00")], bits=32, big_endian=True)
    found = lint(bad, modes=PVH, select=["XL204"])
    assert targets_of(found, "XL204", "error") == FROM_47
    good = xen_kernel([entry_note(u32(0x100000, True))], bits=32, big_endian=True)
    assert not lint(good, modes=PVH, select=CODES)
