"""XL511: the entry a loader reads must be code the loader loads."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, entry_in_load
from xenlint.rules.phys32.helpers import virtual_entry_fix


class PvhEntryNotLoaded(Rule):
    code = "XL511"
    name = "pvh-entry-not-loaded"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the entry a PVH loader reads is 0 or outside the bytes it loads"
    explanation = """
QEMU and linux-loader copy each PT_LOAD's file bytes to its p_paddr and jump to the PVH entry
exactly as they read it: neither checks it against the image (Xen does). An entry given as a
virtual address (truncated to 32 bits), an entry in BSS or past the image, or an entry read
from the wrong bytes (see XL502, XL503) starts the guest in memory that holds no kernel code:
it hangs or triple-faults with no message. QEMU treats a value of 0 as "no note" and exits
with "Error loading uncompressed kernel without PVH ELF Note"; linux-loader jumps to 0.
"""
    fix = """
Store the physical address of the 32-bit entry code: `.long pvh_start - KERNEL_VIRT_BASE` (or
`.quad`) for a kernel linked at virtual addresses, `.long pvh_start` for one linked at its
physical load address; keep the entry inside a PT_LOAD's file bytes.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            note = reading.note
            if reading.path != "pvh" or note is None:
                continue
            where = Location("PHYS32_ENTRY", f"PT_NOTE segment {note.segment.index}", note.offset)
            if reading.failure is not None:
                if reading.failure.kind == "absent":
                    yield Result(
                        (cell,),
                        f"PHYS32_ENTRY reads as 0: {consequence(image, reading)}",
                        where,
                    )
                continue
            assert reading.entry is not None
            if entry_in_load(image, reading.entry) is None:
                yield Result(
                    (cell,),
                    f"{consequence(image, reading)}, which is not inside the file bytes of any "
                    "PT_LOAD segment (loaded at p_paddr): the guest runs whatever is there",
                    where,
                    fix=virtual_entry_fix(image, reading.entry),
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvhEntryNotLoaded()]
