"""Tiny as/ld kernels that exercise the PVH loaders' readings of the PHYS32_ENTRY note.

Each `Case` is a real kernel: its PVH entry writes to QEMU's isa-debug-exit device, so a boot
that reaches it exits with status 33. Broken variants differ from the good one in one thing
(a note layout, a header field patched after linking, a multiboot header).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kernels import XEN_NOTE_MACRO, assemble

CODE = """
    .include "pvh-exit.inc"
    .text
    .globl _start
_start:
    pvh_exit_entry
    .code32
hang:
    hlt
    jmp hang
"""

# A .note.gnu.property note as binutils >= 2.36 emits it for x86-64: 8-aligned, 32 bytes.
GNU_PROPERTY = """
    .pushsection .note.gnu.property, "a", @note
    .balign 8
    .long 4, 16, 5
    .asciz "GNU"
    .long 0xc0000002, 4, 3
    .balign 8
    .popsection
"""

# A type-18 note owned by someone else, ahead of the Xen notes in .note.Xen.
FOREIGN_18 = """
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 12, 4, 18
    .asciz "Atmosphere!"
    .long {value}
    .popsection
"""

# Multiboot v1 header with no flags (so no a.out address fields), first thing in .text.
MULTIBOOT = """
    .text
    .balign 4
    .long 0x1BADB002, 0, -0x1BADB002
"""

# A shipped Xen image repacked as ELF32: a GNU build-id note, 4 bytes of 8-alignment padding,
# a .note.gnu.property in the ELF64 layout (8-aligned descriptor), then the PHYS32_ENTRY note,
# all in one 8-aligned PT_NOTE. Every walk loses step at the padding.
DESYNC_NOTES = """
    .pushsection .note.Xen, "a", @note
    .balign 8
    .long 4, 20, 3
    .asciz "GNU"
    .fill 20, 1, 0xab
    .long 0
    .long 4, 16, 5
    .asciz "GNU"
    .long 0xc0000002, 4, 3, 0
    .popsection
"""

# Extra PT_NOTE after the Xen one, holding a note of another owner.
OTHER_NOTE = """
    .pushsection .note.other, "a", @note
    .balign 4
    .long 4, 4, 1
    .asciz "ABC"
    .long 0
    .popsection
"""


ONE_NOTE_PHDRS = "text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4);"


def script(bits: int, body: str, phdrs: str = ONE_NOTE_PHDRS) -> str:
    fmt = "elf64-x86-64" if bits == 64 else "elf32-i386"
    return f"""
OUTPUT_FORMAT("{fmt}")
ENTRY(_start)
PHDRS {{ {phdrs} }}
SECTIONS
{{
    . = 0x100000;
    .text : {{ *(.text) }} :text
{body}
    /DISCARD/ : {{ *(.comment) *(.data) *(.bss) }}
}}
"""


XEN_ONLY = """
    .note.Xen : { *(.note.Xen) } :text :note
    /DISCARD/ : { *(.note.gnu.property) }
"""
GNU_THEN_XEN = """
    .note.gnu.property : { *(.note.gnu.property) } :text :note
    .note.Xen : { *(.note.Xen) } :text :note
"""
XEN_THEN_GNU = """
    .note.Xen : { *(.note.Xen) } :text :note
    .note.gnu.property : { *(.note.gnu.property) } :text :note
"""
SECTION_ONLY = """
    .note.Xen : { *(.note.Xen) } :text
    /DISCARD/ : { *(.note.gnu.property) }
"""
TWO_NOTE_SEGMENTS = """
    .note.Xen : { *(.note.Xen) } :text :note
    .note.other : { *(.note.other) } :text :other
    /DISCARD/ : { *(.note.gnu.property) }
"""


def patch_elf64(path: Path, *, flags: int | None = None, note_align: int | None = None) -> None:
    """Rewrite e_flags, or the first PT_NOTE's p_align, of a linked ELF64 in place."""
    data = bytearray(path.read_bytes())
    if flags is not None:
        struct.pack_into("<I", data, 48, flags)
    if note_align is not None:
        (phoff,) = struct.unpack_from("<Q", data, 32)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        for i in range(phnum):
            at = phoff + i * phentsize
            if struct.unpack_from("<I", data, at)[0] == 4:
                struct.pack_into("<Q", data, at + 48, note_align)
                break
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class Case:
    name: str
    notes: str  # assembler text after CODE (xen_note lines and extra sections)
    bits: int = 64
    layout: str = XEN_ONLY
    phdrs: str = ONE_NOTE_PHDRS
    prefix: str = ""  # assembler text before CODE (a multiboot header)
    patch: Callable[[Path], None] | None = None

    def build(self, tmp: Path) -> Path:
        source = XEN_NOTE_MACRO + self.prefix + CODE + self.notes
        elf = assemble(
            tmp,
            source,
            bits=self.bits,
            name=self.name,
            linker_script=script(self.bits, self.layout, self.phdrs),
        )
        if self.patch is not None:
            self.patch(elf)
        return elf


ENTRY64 = "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad, _start\n"
ENTRY32 = "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, _start\n"
GUEST_OS = '    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"\n'

CASES: tuple[Case, ...] = (
    Case("good-elf64", ENTRY64),
    Case("good-elf32", ENTRY32, bits=32),
    Case("no-note", GUEST_OS),
    Case("section-only", ENTRY64, layout=SECTION_ONLY, phdrs="text PT_LOAD FLAGS(5);"),
    Case("gnu-property-first", GNU_PROPERTY + ENTRY64, layout=GNU_THEN_XEN),
    Case("gnu-property-after", GNU_PROPERTY + ENTRY64, layout=XEN_THEN_GNU),
    Case("p-align-0", ENTRY64, patch=lambda p: patch_elf64(p, note_align=0)),
    Case("p-align-1", ENTRY64, patch=lambda p: patch_elf64(p, note_align=1)),
    Case("foreign-owner-first", FOREIGN_18.format(value="hang") + ENTRY64),
    Case("foreign-owner-same", FOREIGN_18.format(value="_start") + ENTRY64),
    Case("desc4-elf64-then-note", ENTRY32 + GUEST_OS),
    Case("desc4-zero-then-note", "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, 0\n" + GUEST_OS),
    Case(
        "desc4-zero-then-note-elf32",
        "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, 0\n" + GUEST_OS,
        bits=32,
    ),
    Case("entry-zero", "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad, 0\n"),
    Case("virtual-entry", "    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad, _start + 0x80000000\n"),
    Case("desync-elf32", DESYNC_NOTES + ENTRY32, bits=32),
    Case("multiboot-elf64", ENTRY64, prefix=MULTIBOOT),
    Case("multiboot-elf32", ENTRY32, bits=32, prefix=MULTIBOOT),
    Case("e-flags", ENTRY64, patch=lambda p: patch_elf64(p, flags=4)),
    Case(
        "later-note-segment",
        ENTRY64 + OTHER_NOTE,
        layout=TWO_NOTE_SEGMENTS,
        phdrs="text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); other PT_NOTE FLAGS(4);",
    ),
)

BY_NAME = {c.name: c for c in CASES}
