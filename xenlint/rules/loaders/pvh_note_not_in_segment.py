"""XL501: the PVH entry note must be in a PT_NOTE segment for the loaders to see it."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.image.model import Image, Note
from xenlint.replay.pvh import consequence
from xenlint.replay.toolchain import unallocated_note_fix


class PvhNoteNotInSegment(Rule):
    code = "XL501"
    name = "pvh-note-not-in-segment"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the PVH entry note is reachable only through a section, not a PT_NOTE segment"
    explanation = """
QEMU, rust-vmm linux-loader, Firecracker and Cloud Hypervisor read notes from PT_NOTE program
headers only; they never look at section headers. Xen falls back to SHT_NOTE sections when no
PT_NOTE holds a Xen note, so a kernel whose PHYS32_ENTRY sits in a section that no PT_NOTE
covers boots on Xen and nowhere else. Typical causes: a linker script with PHDRS that puts
.note.Xen in the text segment only, or a note section without the "a" flag (FreeBSD's older
ELFNOTE macro) that the linker leaves out of every segment.
What each loader does then: QEMU exits with "Error loading uncompressed kernel without PVH
ELF Note", Cloud Hypervisor fails with "Kernel lacks PVH header", Firecracker silently boots
the kernel through the 64-bit Linux protocol at e_entry.
"""
    fix = """
Make the note allocatable (.pushsection .note.Xen, "a", @note) and give it a PT_NOTE: in a
linker script with PHDRS, add `note PT_NOTE FLAGS(4);` and place `.note.Xen : { *(.note.Xen) }
:text :note`.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        hidden = _section_only(ctx.image)
        if hidden is None:
            return
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            if reading.path != "pvh" or reading.matches:
                continue
            yield Result(
                (cell,),
                f"PHYS32_ENTRY is only in section {hidden.container.name}, which no PT_NOTE "
                f"segment covers: {consequence(ctx.image, reading)}",
                Location.of_note(hidden),
                fix=unallocated_note_fix(ctx.image, hidden.container.name),
            )


def _section_only(image: Image) -> Note | None:
    """A Xen PHYS32_ENTRY note in a section whose bytes no PT_NOTE segment holds."""
    for note in image.section_notes:
        if note.type != N.PHYS32_ENTRY.number:
            continue
        if not any(
            s.is_note and s.offset <= note.offset < s.offset + s.filesz for s in image.segments
        ):
            return note
    return None


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvhNoteNotInSegment()]
