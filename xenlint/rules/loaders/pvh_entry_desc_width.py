"""XL509: the PVH entry descriptor must be as wide as each loader reads it."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, misread_by_p_align


class PvhEntryDescWidth(Rule):
    code = "XL509"
    name = "pvh-entry-desc-width"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the PVH entry descriptor is narrower than the loader reads"
    explanation = """
The loaders ignore PHYS32_ENTRY's descsz in different ways:
- QEMU reads the value through a host size_t for an ELF64 image (8 bytes; QEMU before 6.0 also
  for ELF32): a 4-byte descriptor (`.long`, the form Xen documents) gets the next 4 bytes of
  the file as its upper half. Only the low 32 bits reach the firmware, so the boot works, but
  QEMU's "no note" test looks at all 8 bytes: a low half of 0 with non-zero bytes after it
  passes the test and jumps to address 0. A warning names the bytes when they are non-zero.
  A descriptor under 4 bytes puts bytes that are not the entry into its low half: an error.
- rust-vmm linux-loader reads 4 bytes and fails the whole load with InvalidPvhNote when descsz
  is under 4 (Firecracker and Cloud Hypervisor refuse to start).
"""
    fix = """
Write the entry as .long (4 bytes, what linux-loader reads and Xen documents) or .quad
(8 bytes, what Linux uses on x86-64 and what QEMU reads for ELF64); never narrower.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            note = reading.note
            failure = reading.failure
            if failure is not None and failure.kind == "desc-short":
                yield Result(
                    (cell,),
                    "PHYS32_ENTRY's descriptor is under 4 bytes: "
                    + consequence(ctx.image, reading),
                )
                continue
            if note is None or reading.raw is None or note.descsz >= reading.width:
                continue
            if misread_by_p_align(ctx.image, reading):
                continue  # XL502: the p_align walk reads the wrong bytes, not a short desc
            where = Location("PHYS32_ENTRY", f"PT_NOTE segment {note.segment.index}", note.offset)
            program = reading.loader.program
            read = f"{program} reads {reading.width} bytes at {note.desc_offset:#x}"
            if note.descsz < 4:
                yield Result(
                    (cell,),
                    f"PHYS32_ENTRY's descriptor has {note.descsz} bytes: {read}, so the entry "
                    f"{reading.raw:#x} includes bytes after the descriptor",
                    where,
                )
                continue
            upper = reading.raw >> (8 * note.descsz)
            if upper == 0:
                continue
            low = reading.raw & ((1 << (8 * note.descsz)) - 1)
            if low == 0:
                yield Result(
                    (cell,),
                    f"PHYS32_ENTRY is 0 in its {note.descsz}-byte descriptor but {read}: "
                    f"{reading.raw:#x} passes its 'no note' test and the kernel starts at 0",
                    where,
                )
            else:
                yield Result(
                    (cell,),
                    f"PHYS32_ENTRY has a {note.descsz}-byte descriptor; {read}, so the bytes "
                    f"after it make the value {reading.raw:#x} (only the low 32 bits, "
                    f"{low:#x}, are used)",
                    where,
                    severity=Severity.WARNING,
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvhEntryDescWidth()]
