"""Rule verdicts on kernels built by the real assembler and linker, 32- and 64-bit.

The byte-level cases live in the per-rule tests; these check that what binutils actually
emits (section flags, padding, program headers) is read the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Lint, targets_of
from kernels import PHYSICAL_LD, XEN_NOTE_MACRO, assemble, needs_binutils

pytestmark = needs_binutils

PV_NOTES = """
    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
    xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
    xen_note XEN_ELFNOTE_PAE_MODE, .asciz, "yes"
    xen_note XEN_ELFNOTE_ENTRY, {word}, _start
    xen_note XEN_ELFNOTE_HYPERCALL_PAGE, {word}, hypercall_page
    xen_note XEN_ELFNOTE_FEATURES, .asciz, "!writable_page_tables"
"""

CODE = """
    .text
    .globl _start
_start:
    hlt
    jmp _start
    .balign 4096
hypercall_page:
    .fill 4096, 1, 0xcc
"""


PHYSICAL = PHYSICAL_LD.format(fmt="elf64-x86-64", base=0x100000)


def kernel(tmp_path: Path, notes: str, *, bits: int = 64, name: str = "k") -> Path:
    word = ".quad" if bits == 64 else ".long"
    source = XEN_NOTE_MACRO + CODE + notes.format(word=word)
    return assemble(tmp_path, source, bits=bits, name=name)


@pytest.mark.parametrize("bits", [32, 64])
def test_classic_pv_kernel_is_clean(tmp_path: Path, lint: Lint, bits: int) -> None:
    findings = lint(kernel(tmp_path, PV_NOTES, bits=bits))
    assert [f for f in findings if str(f.severity) == "error"] == []


@pytest.mark.parametrize("bits", [32, 64])
def test_pv_kernel_missing_xen_version(tmp_path: Path, lint: Lint, bits: int) -> None:
    notes = PV_NOTES.replace('xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"', "")
    findings = lint(kernel(tmp_path, notes, bits=bits), targets=["xen>=4.0"])
    assert len(targets_of(findings, "XL102", "error")) == 28  # every 4.x profile, PV mode


def test_feature_in_string_not_bitmap(tmp_path: Path, lint: Lint) -> None:
    notes = PV_NOTES.replace("!writable_page_tables", "writable_page_tables|hvm_callback_vector")
    findings = lint(kernel(tmp_path, notes), targets=["xen>=4.0,<4.5"])
    assert targets_of(findings, "XL402", "error") == {"xen-4.0", "xen-4.1.0", "xen-4.1.6"}
    assert targets_of(findings, "XL402", "warning") == {"xen-4.2.0", "xen-4.2.3", "xen-4.3"}


def test_pvh_entry_as_virtual_quad(tmp_path: Path, lint: Lint) -> None:
    notes = PV_NOTES + "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad, _start + 0xffffffff80000000\n"
    findings = lint(kernel(tmp_path, notes), targets=["xen>=4.7"])
    assert targets_of(findings, "XL201", "error") == targets_of(findings, "XL202", "error")
    assert "xen-4.22" in targets_of(findings, "XL201", "error")


def test_pvh_entry_at_the_end_of_the_image(tmp_path: Path, lint: Lint) -> None:
    script = PHYSICAL.replace(":text :note", ":text :note\n    image_end = .;")
    source = XEN_NOTE_MACRO + CODE + PV_NOTES.format(word=".quad")
    source += "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, image_end\n"
    findings = lint(assemble(tmp_path, source, linker_script=script), targets=["xen-4.22"])
    # the first byte past the image is pend itself: Xen's inclusive bounds check passes it,
    # but nothing was loaded there
    assert targets_of(findings, "XL203", "error") == {"xen-4.22"}
    assert targets_of(findings, "XL202") == set()


def test_notes_only_in_a_section(tmp_path: Path, lint: Lint) -> None:
    script = """
OUTPUT_FORMAT("elf64-x86-64")
ENTRY(_start)
PHDRS { text PT_LOAD FLAGS(5); }
SECTIONS
{
    . = 0x100000;
    .text : { *(.text) } :text
    .note.Xen : { *(.note.Xen) } :text
    /DISCARD/ : { *(.note.gnu.property) *(.comment) }
}
"""
    source = XEN_NOTE_MACRO + CODE + PV_NOTES.format(word=".quad")
    findings = lint(assemble(tmp_path, source, linker_script=script), targets=["xen-4.22"])
    assert targets_of(findings, "XL002", "warning") == {"xen-4.22"}
    assert [f for f in findings if str(f.severity) == "error"] == []


NETBSD_NOTES = """
    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "NetBSD"
    xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
    xen_note XEN_ELFNOTE_VIRT_BASE, .long, 0x100000
    xen_note XEN_ELFNOTE_PADDR_OFFSET, .long, 0x100000
    xen_note XEN_ELFNOTE_ENTRY, .long, _start
    xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .long, hypercall_page
    xen_note XEN_ELFNOTE_HV_START_LOW, .long, {hv_start}
    xen_note XEN_ELFNOTE_PAE_MODE, .asciz, "{pae}"
"""


@pytest.mark.parametrize(
    ("hv_start", "pae", "codes"),
    [
        ("0xf5800000", "yes", set()),
        ("0xf5800001", "yes", {"XL306"}),  # rounds up to 0xf5a00000
        ("0xf5800000", "no", {"XL305"}),
    ],
)
def test_netbsd_like_32bit_dom0(
    tmp_path: Path, lint: Lint, hv_start: str, pae: str, codes: set[str]
) -> None:
    notes = NETBSD_NOTES.replace("{hv_start}", hv_start).replace("{pae}", pae)
    source = XEN_NOTE_MACRO + CODE + notes
    image = assemble(tmp_path, source, bits=32)
    findings = lint(image, targets=["xen-4.15"], modes=["pv-dom0"])
    assert {f.code for f in findings if str(f.severity) == "error"} == codes


def test_64bit_kernel_linked_high_without_virt_base(tmp_path: Path, lint: Lint) -> None:
    script = """
OUTPUT_FORMAT("elf64-x86-64")
ENTRY(_start)
PHDRS { text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); }
SECTIONS
{
    . = 0xffffffff81000000;
    .text : AT(0x1000000) { *(.text) } :text
    .note.Xen : AT(0x1000000 + SIZEOF(.text)) { *(.note.Xen) } :text :note
    /DISCARD/ : { *(.note.gnu.property) *(.comment) }
}
"""
    source = XEN_NOTE_MACRO + CODE + PV_NOTES.format(word=".quad")
    findings = lint(assemble(tmp_path, source, linker_script=script), targets=["xen-4.22"])
    assert targets_of(findings, "XL301", "error") == {"xen-4.22"}
    fixed = source + "    xen_note XEN_ELFNOTE_VIRT_BASE, .quad, 0xffffffff80000000\n"
    findings = lint(assemble(tmp_path, fixed, linker_script=script, name="k2"), targets=["xen"])
    assert targets_of(findings, "XL301") == set() and targets_of(findings, "XL303") == set()
