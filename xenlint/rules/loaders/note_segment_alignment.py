"""XL502: the PT_NOTE that holds the PVH entry note must have p_align 4."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.image.model import Image, Segment
from xenlint.replay.pvh import (
    NAMES_LISTED,
    Reading,
    consequence,
    describe_segment,
    read_as_if_4,
)
from xenlint.replay.toolchain import GNU_PROPERTY_FIX, gnu_property_in

ALIGN_HIGH_FIX = """
Follow the ELF32 PT_NOTE with a PT_NULL program header (p_type 0, so the upper half QEMU
4.0-5.2 reads is 0) or make it the last program header, or require QEMU 6.0 or later.
"""


class NoteSegmentAlignment(Rule):
    code = "XL502"
    name = "note-segment-alignment"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the PT_NOTE holding the PVH entry note has p_align other than 4"
    explanation = """
Xen notes are padded to 4 bytes. QEMU and rust-vmm linux-loader up to 0.8.1 (Cloud Hypervisor
v28-v32) step from note to note by the PT_NOTE's p_align instead. When the linker merges an
8-aligned section into the same note segment (binutils 2.36+ emits .note.gnu.property for
x86-64 objects; OSv #1113, kata-containers #3135, QEMU's own PVH test), p_align becomes 8:
QEMU then reads the wrong bytes as the entry or finds none ("Error loading uncompressed kernel
without PVH ELF Note"), linux-loader 0.2-0.8.1 misses the note. p_align 0 makes QEMU divide by
zero (SIGFPE) and linux-loader 0.2-0.8.1 fail with Error::Align, as does any value that is not
a power of two. linux-loader 0.9+ (Firecracker 1.12+, Cloud Hypervisor v33+) and Xen always
pad to 4. A p_align other than 4 that happens to parse is a warning: one more note breaks it.

QEMU 4.0-5.2 also read an ELF32 PT_NOTE's p_align through a uint64_t pointer when locating the
PVH descriptor (read_pvh_start_addr, `is64` always true until QEMU 6.0): the upper half is the
next program header's p_type, so unless PT_NOTE is the last header (or a PT_NULL follows it)
the descriptor is looked for ~4 GiB past the note: garbage or a crash, whatever p_align says.
"""
    fix = """
Keep 8-aligned notes out of the Xen note segment: discard them in the linker script
(/DISCARD/ : { *(.note.gnu.property) }), strip them (objcopy --remove-section
.note.gnu.property), or give .note.Xen a PT_NOTE of its own (PHDRS { note PT_NOTE; }) with
4-byte alignment (`.balign 4`).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        """Per loader cell: the PT_NOTEs whose p_align (as this loader reads it) breaks or
        endangers the walk to the PVH entry."""
        holders: set[int] | None = None
        for cell in ctx.loader_cells:
            loader = cell.loader
            reading = ctx.loader(cell)
            if loader is None or not loader.walks_p_align or reading.path != "pvh":
                continue
            failure = reading.failure
            if failure is not None and failure.kind == "align-high" and failure.segment:
                seg = failure.segment
                yield Result(
                    (cell,),
                    f"{describe_segment(ctx.image, seg)} is not the last program header: "
                    f"{failure.message}",
                    Location(None, describe_segment(ctx.image, seg), seg.offset),
                    fix=ALIGN_HIGH_FIX,
                )
                continue
            if holders is None:  # worked out once: an image may hold 65536 notes
                holders = _holders(ctx.image)
            ideal: Reading | None = None
            for seg in _misaligned(ctx.image, reading, holders):
                ideal = ideal or read_as_if_4(ctx.image, reading)
                broken = _breaks(reading, ideal)
                yield Result(
                    (cell,),
                    _message(ctx.image, reading, ideal, seg, broken),
                    Location(None, describe_segment(ctx.image, seg), seg.offset),
                    severity=None if broken else Severity.WARNING,
                    fix=GNU_PROPERTY_FIX if gnu_property_in(ctx.image, seg) else None,
                )


def _holders(image: Image) -> set[int]:
    """PT_NOTE segments that hold a PHYS32_ENTRY note by a 4-byte walk (Xen's)."""
    return {
        n.container.index
        for n in image.segment_notes + image.skipped_segment_notes
        if n.type == N.PHYS32_ENTRY.number
    }


def _misaligned(image: Image, reading: Reading, holders: set[int]) -> list[Segment]:
    """PT_NOTEs with p_align != 4 that matter: one that kills the loader, or one of the
    `holders`."""
    failed = reading.failure.segment if reading.failure else None
    candidates = image.remember(  # once per image, not per loader cell: 65535 headers
        (__name__, "p_align"),
        lambda: [s for s in image.segments if s.is_note and s.filesz and s.align != 4],
    )
    return [s for s in candidates if s.index in holders or s == failed]


def _breaks(reading: Reading, ideal: Reading) -> bool:
    if reading.failure is not None and reading.failure.kind in ("align-crash", "align-error"):
        return True
    return (reading.entry, reading.failure) != (ideal.entry, ideal.failure)


def _message(image: Image, reading: Reading, ideal: Reading, seg: Segment, broken: bool) -> str:
    inside, _ = image.sections_in(seg.offset, seg.offset + seg.filesz, NAMES_LISTED)
    wide = [f"{s.name} ({s.addralign}-aligned)" for s in inside if s.addralign > 4]
    cause = f", raised by {', '.join(wide)}" if wide else ""
    prop = gnu_property_in(image, seg)
    if prop is not None:
        # Name the note itself, not the output section the linker merged it into.
        cause = f", raised by a .note.gnu.property note (owner GNU, type 5) at {prop.offset:#x}"
    head = (
        f"{describe_segment(image, seg)} has p_align {seg.align}{cause}, "
        "but Xen notes are padded to 4"
    )
    if not broken:
        return f"{head}: {reading.loader.program} still finds the entry by luck"
    if reading.failure is None and ideal.entry is not None:
        return (
            f"{head}: {reading.loader.program} walks by {seg.align} and reads the entry as "
            f"{reading.entry:#x} instead of {ideal.entry:#x}"
        )
    return f"{head}: {consequence(image, reading)}"


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NoteSegmentAlignment()]
