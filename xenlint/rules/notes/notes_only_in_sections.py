"""XL002: Xen notes that only the section headers reach: Xen falls back to them, loaders that
read program headers only (and stripped images) never see the notes."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi.loaders import segment_only_readers
from xenlint.abi.profile import Mode
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.image.model import Image
from xenlint.replay.toolchain import unallocated_note_fix


class NotesOnlyInSections(Rule):
    code = "XL002"
    name = "notes-only-in-sections"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "the Xen notes are reachable only through SHT_NOTE sections, not a PT_NOTE segment"
    explanation = """
Every libelf release (3.1 to 4.22) reads the Xen notes from the PT_NOTE program headers
first, skipping a PT_NOTE at file offset 0 (a workaround for old binutils). Only when no
PT_NOTE yields a Xen note does it fall back to the SHT_NOTE sections, in section order;
from 4.9 it skips section 0 there. So Xen still boots such a kernel, but:
- loaders that read program headers only never see the notes: for PVH, QEMU's and the
  rust-vmm linux-loader's PVH support (Firecracker, Cloud Hypervisor) look for PHYS32_ENTRY
  in PT_NOTE segments and boot the kernel some other way, or not at all; for PV, GRUB's Xen
  PV loader (pvgrub2) before 2.04 reads PT_NOTE segments and `__xen_guest` only ("no XEN
  note found");
- section headers are optional at run time: strip tools, objcopy -O and boot loaders that
  drop them leave Xen with no notes at all (see XL001).
"""
    fix = """
Give the notes a PT_NOTE program header with a non-zero p_offset: in the linker script
    PHDRS { text PT_LOAD; note PT_NOTE; }
    .note.Xen : { *(.note.Xen) } :text :note
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        if image.note_source != "sections" or not ctx.xen_cells:
            return
        first = image.section_notes[0]
        by_mode: dict[Mode, list[Cell]] = {}
        for cell in ctx.xen_cells:
            by_mode.setdefault(Mode.PVH if cell.mode.is_pvh else Mode.PV, []).append(cell)
        for mode, cells in by_mode.items():
            fix = unallocated_note_fix(image, first.container.name) or _FIX
            yield Result(tuple(cells), _message(image, mode), Location.of_note(first), fix=fix)


_FIX = (
    "give the notes a PT_NOTE program header with a non-zero p_offset: in the linker script "
    "PHDRS { text PT_LOAD; note PT_NOTE; } and .note.Xen : { *(.note.Xen) } :text :note"
)


def _message(image: Image, mode: Mode) -> str:
    """Why Xen still reads the notes, and which loaders booting `mode` kernels do not."""
    names = sorted({n.container.describe() for n in image.section_notes})
    where = ", ".join(names)
    covering = [
        s.index
        for s in image.skipped_segments
        if any(s.offset <= n.offset < s.offset + s.filesz for n in image.section_notes)
    ]
    skipped = ", ".join(str(s.index) for s in image.skipped_segments)
    if covering:
        why = f"PT_NOTE segment {covering[0]} covers them but is at file offset 0, which Xen skips"
    elif skipped:
        why = f"no PT_NOTE segment covers them; PT_NOTE segment {skipped} at offset 0 is skipped"
    else:
        why = "no PT_NOTE segment covers them"
    readers = ", ".join(segment_only_readers(mode))
    return (
        f"the Xen notes are only in {where} ({why}): Xen falls back to the section headers, "
        f"but loaders that read program headers only ({readers}) and images with stripped "
        "section headers never see them"
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NotesOnlyInSections()]
