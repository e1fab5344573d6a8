"""What an image shows about the toolchain that built it, to word fixes in that toolchain's
terms instead of assuming GNU as and a Linux tree.

- NASM 2.16 (output/outelf.c; checked with the real `nasm -f elf64` and ld here): `SECTION
  .note` is SHT_NOTE *without* SHF_ALLOC, aligned to 4, so ld gives it no PT_NOTE; only
  `SECTION .note note alloc noexec nowrite align=4` is allocated. Any other name (`.note.Xen`)
  is SHT_PROGBITS, which no loader reads notes from. A linked image keeps those attributes.
- GNU as: `.pushsection .note.Xen, "a", @note` is allocated; `""` flags are not.
- Linux: notes owned by "Linux" (or GUEST_OS "linux"); its PVH entry note comes from
  arch/x86/platform/pvh/head.S, built only with CONFIG_PVH=y.
- binutils 2.36+ on x86-64: a `.note.gnu.property` note (owner "GNU", type 5,
  NT_GNU_PROPERTY_TYPE_0), 8-aligned, merged into the note segment.
"""

from __future__ import annotations

import bisect

from xenlint.image.model import SHT_NOTE, ForeignNote, Image, Section, Segment
from xenlint.replay.pvh import is_linux

SHF_ALLOC = 0x2  # ELF gABI section flag: occupies memory at run time
NASM_NOTE_SECTION = ".note"  # the one note section name NASM 2.16 knows
NT_GNU_PROPERTY_TYPE_0 = 5
GNU_OWNER = b"GNU"


def section_named(image: Image, name: str | None) -> Section | None:
    return next((s for s in image.sections if s.name == name), None) if name else None


def made_by_nasm(section: Section) -> bool:
    """NASM's default `.note` section: SHT_NOTE, not allocated, aligned to 4 (GNU as names its
    note sections `.note.<owner>` and NASM knows no other note name)."""
    return (
        section.name == NASM_NOTE_SECTION
        and section.type == SHT_NOTE
        and not section.flags & SHF_ALLOC
        and section.addralign == 4
    )


def unallocated_note_fix(image: Image, name: str | None) -> str | None:
    """The fix for Xen notes in a note section no PT_NOTE covers, in the toolchain's words,
    or None when the section is allocated (a linker-script problem, the rule's own fix)."""
    section = section_named(image, name)
    if section is None or section.flags & SHF_ALLOC:
        return None
    if made_by_nasm(section):
        return (
            "NASM makes `SECTION .note` non-allocated, so ld gives it no PT_NOTE: declare it "
            "`SECTION .note note alloc noexec nowrite align=4`"
        )
    return (
        f"the section {section.name} is not allocated: declare it `.pushsection {section.name}, "
        '"a", @note` (GNU as) so the linker gives it a PT_NOTE'
    )


def missing_pvh_note_fix(image: Image) -> str | None:
    """For a Linux kernel without a PVH entry note: the kernel option that adds it."""
    if not is_linux(image):
        return None
    return (
        "this is a Linux kernel: build it with CONFIG_PVH=y (arch/x86/platform/pvh/head.S then "
        "emits the PHYS32_ENTRY note), or boot it through the Linux boot protocol"
    )


def gnu_property_in(image: Image, seg: Segment) -> ForeignNote | None:
    """The `.note.gnu.property` note (owner GNU, type 5) at the lowest file offset inside
    `seg`'s bytes, if any. Found by bisection in the image's property notes sorted once:
    a hostile image asks for each of 65535 misaligned segments, over as many foreign notes."""
    offsets, notes = _gnu_properties(image)
    i = bisect.bisect_left(offsets, seg.offset)
    return notes[i] if i < len(offsets) and offsets[i] < seg.offset + seg.filesz else None


def _gnu_properties(image: Image) -> tuple[list[int], list[ForeignNote]]:
    return image.remember((__name__, "gnu-properties"), lambda: _sorted_properties(image))


def _sorted_properties(image: Image) -> tuple[list[int], list[ForeignNote]]:
    notes = sorted(
        (
            n
            for n in image.foreign_notes
            if n.owner == GNU_OWNER and n.type == NT_GNU_PROPERTY_TYPE_0
        ),
        key=lambda n: n.offset,
    )
    return [n.offset for n in notes], notes


GNU_PROPERTY_FIX = (
    "discard .note.gnu.property: /DISCARD/ : { *(.note.gnu.property) } in the linker script, "
    "or objcopy --remove-section .note.gnu.property (binutils 2.36+ emits it 8-aligned on "
    "x86-64), or give .note.Xen a PT_NOTE of its own with 4-byte alignment"
)
