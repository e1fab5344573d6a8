"""XL504: for linux-loader the PT_NOTE holding the PVH entry note must be the last one."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, describe_segment


class PvhNoteNotLastSegment(Rule):
    code = "XL504"
    name = "pvh-note-not-last-segment"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a later PT_NOTE without the PVH entry note makes linux-loader forget it"
    explanation = """
rust-vmm linux-loader (every version, so Firecracker and Cloud Hypervisor) sets its PVH result
once per PT_NOTE program header, in header order: a PT_NOTE after the one holding PHYS32_ENTRY
that has no such note (a build-id or .note.gnu.property segment, a second note segment from a
custom linker script) turns the answer back into PvhEntryNotPresent. Cloud Hypervisor then
fails with "Kernel lacks PVH header" and Firecracker boots the kernel through the 64-bit Linux
protocol instead. QEMU and Xen keep the last note found, so they boot the same image.
"""
    fix = """
Put the Xen notes in the last PT_NOTE: list the note segment last in PHDRS, merge all notes
into one PT_NOTE, or drop the other note segments (--build-id=none, discard
.note.gnu.property).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            if reading.reset_by is None or not reading.matches:
                continue
            held = reading.matches[-1].segment
            later = reading.reset_by
            yield Result(
                (cell,),
                f"{describe_segment(ctx.image, later)} comes after "
                f"{describe_segment(ctx.image, held)}, which holds PHYS32_ENTRY, and has no "
                f"such note: {consequence(ctx.image, reading)}",
                Location(None, describe_segment(ctx.image, later), later.offset),
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvhNoteNotLastSegment()]
