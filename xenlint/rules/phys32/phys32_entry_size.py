"""XL204: libelf reads PHYS32_ENTRY as a 1, 2, 4 or 8-byte number; any other descsz (or a
descriptor cut off by the end of the file) reads as 0 without a message (xen.md §5.4)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Result, Rule, Severity
from xenlint.image.decode import words
from xenlint.image.model import Image, Note
from xenlint.rules.phys32.helpers import (
    entry_location,
    paddr_bounds,
    phys32_cells,
)

_OUT_OF_BOUNDS = M.OUT_OF_BOUNDS
# the numeric sizes that can hold any 32-bit physical address
_WIDE = tuple(size for size in N.NUMERIC_SIZES if 1 << 8 * size > N.PHYS32_UNSET)


class Phys32EntrySize(Rule):
    code = "XL204"
    name = "phys32-entry-size"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "PHYS32_ENTRY's descriptor is not a 4- or 8-byte number"
    explanation = f"""
elf_note_numeric() reads a descriptor of 1, 2, 4 or 8 bytes in the ELF's byte order. For
PHYS32_ENTRY (4.7 and later, used by PVH boots):
- descsz 4 or 8: fine (8-byte values above 4 GiB are XL201);
- descsz 1 or 2: read correctly, but such a note can only express entries below 256 bytes or
  64 KiB: warning;
- any other descsz (0, 3, 5, 16, ...), or a descriptor that runs past the end of the file,
  reads as 0, silently. The note still counts as present, so Xen takes entry 0: 4.16 and
  later refuse the kernel ("{_OUT_OF_BOUNDS}") unless 0 lies in its p_paddr range, and
  4.7 to 4.15 start the vCPU at physical address 0: error.
"""
    fix = """
Emit PHYS32_ENTRY as a 4-byte number: ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long <entry>).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        notes = image.notes_of(N.PHYS32_ENTRY)
        if not notes:
            return
        note = notes[-1]  # the last one wins
        if note.descsz in _WIDE and not note.truncated:
            return
        for cell, parse in phys32_cells(ctx, any_machine=True):
            if parse.raw_phys32 is not None:
                yield _result(image, cell, note, parse.raw_phys32)


def _result(image: Image, cell: Cell, note: Note, value: int) -> Result:
    """A narrow but readable number is a warning; anything Xen reads as 0 is an error."""
    if note.descsz in N.NUMERIC_SIZES and not note.truncated:
        return Result(
            (cell,),
            f"PHYS32_ENTRY is a {note.descsz}-byte number ({value:#x}): Xen reads it, but "
            f"{note.descsz} bytes only reach addresses below {1 << 8 * note.descsz:#x}",
            entry_location(image),
            Severity.WARNING,
            f"write it as a 4-byte number: ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long "
            f"{value:#x})",
        )
    if note.truncated:
        why = (
            f"PHYS32_ENTRY's {note.descsz}-byte descriptor runs past the end of the file "
            f"({len(note.desc) if note.desc_present is None else note.desc_present} bytes "
            "present)"
        )
    else:
        sizes = ", ".join(str(s) for s in N.NUMERIC_SIZES)
        why = f"PHYS32_ENTRY has descsz {note.descsz}, which Xen's number reader ({sizes}) rejects"
    assert cell.xen is not None
    pstart, pend = paddr_bounds(image)
    if cell.xen.pvh_entry_bounds_checked and not pstart <= 0 <= pend:
        outcome = f"and refuses the kernel with '{_OUT_OF_BOUNDS}'"
    else:
        outcome = "and starts the vCPU at physical address 0"
    fix = "write PHYS32_ENTRY as a 4-byte number: ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long "
    first = words(image, note.desc[:4], 4)
    fix += f"<entry>) (its first 4 bytes now read {first[0]:#x})" if first else "<entry>)"
    return Result(
        (cell,),
        f"{why}: Xen silently reads entry 0 {outcome}",
        entry_location(image),
        Severity.ERROR,
        fix,
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Phys32EntrySize()]
