"""XL503: the PVH entry note's owner must be exactly "Xen\\0" with namesz 4, and no other
owner's type-18 note may come first."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, declared_entry


class PvhNoteOwner(Rule):
    code = "XL503"
    name = "pvh-note-owner"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = (
        "the PVH entry note's owner is not exactly 'Xen' (namesz 4), or another owner's comes first"
    )
    explanation = """
Loaders disagree on how they recognise the PHYS32_ENTRY note (type 18):
- rust-vmm linux-loader (0.2+, so Firecracker and Cloud Hypervisor) wants namesz == 4 and the
  four bytes "Xen\\0"; a name padded with extra NULs (namesz 8) is accepted by Xen, which
  compares C strings, but skipped by linux-loader, which then reports the entry absent;
- QEMU compares the type only: the first type-18 note of the walk wins, whatever its owner, so
  another project's type-18 note placed before the Xen one (a hobby OS's "Atmosphere!" note,
  a broken `.long ".note"` name) is read as the entry.
"""
    fix = """
Emit the note with the standard macro: .long 4 (namesz), the descriptor size, .long 18, then
.asciz "Xen" padded to 4 bytes. Remove or renumber other owners' notes of type 18, or move
them after the Xen note.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            if ctx.loader(cell).path == "pvh":
                yield from _check_cell(ctx, cell)


def _check_cell(ctx: Context, cell: Cell) -> Iterator[Result]:
    loader, reading, image = cell.loader, ctx.loader(cell), ctx.image
    assert loader is not None
    if loader.owner_checked:
        for note in image.segment_notes + image.skipped_segment_notes:
            if note.type == N.PHYS32_ENTRY.number and note.namesz != len(N.XEN_OWNER) + 1:
                yield Result(
                    (cell,),
                    f"PHYS32_ENTRY's owner has namesz {note.namesz}, not 4: "
                    f"{loader.program} skips the note"
                    + ("" if reading.found else f"; {consequence(image, reading)}"),
                    Location.of_note(note),
                    severity=Severity.WARNING if reading.found else None,
                )
        return
    walked = reading.note
    if walked is None or walked.name.split(b"\0", 1)[0] == N.XEN_OWNER:
        return
    wanted = declared_entry(image)
    same = reading.failure is None and wanted is not None and reading.entry == wanted
    theirs = "the kernel declares no Xen PHYS32_ENTRY" if wanted is None else f"Xen's {wanted:#x}"
    value = reading.entry if reading.entry is not None else reading.raw or 0
    yield Result(
        (cell,),
        f"{loader.program} ignores note owners and takes the first type-{walked.type} note of "
        f"its walk, owned by {walked.owner} (namesz {walked.namesz}): entry {value:#x}, not "
        f"{theirs}" + ("" if same else f"; {consequence(image, reading)}"),
        Location(None, f"note in PT_NOTE segment {walked.segment.index}", walked.offset),
        severity=Severity.WARNING if same else None,
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvhNoteOwner()]
