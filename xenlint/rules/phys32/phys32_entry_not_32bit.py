"""XL201: PHYS32_ENTRY is stored in a uint32, so a value of 4 GiB or more is silently cut to its
low 32 bits (xen.md §6.2); usually the kernel's *virtual* entry address was written there."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Result, Rule, Severity
from xenlint.image.model import Image
from xenlint.rules.phys32.helpers import (
    describe_vaddr,
    entry_fix,
    entry_location,
    paddr_bounds,
    phys32_cells,
    virtual_hit,
)

_OUT_OF_BOUNDS = M.OUT_OF_BOUNDS


class Phys32EntryNot32bit(Rule):
    code = "XL201"
    name = "phys32-entry-not-32bit"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "PHYS32_ENTRY is 4 GiB or more and Xen silently keeps only its low 32 bits"
    explanation = f"""
A PVH guest starts in 32-bit protected mode with paging off, at the physical address in
PHYS32_ENTRY. libelf (4.7 and later) reads the note as a number of 1, 2, 4 or 8 bytes but
stores it in a 32-bit field, with no range check, so an 8-byte value of 4 GiB or more loses
its high bits without a message:
- 4.7 to 4.15 start the vCPU at the truncated address;
- 4.16 and later first check it against the kernel's p_paddr range and refuse the kernel
  ("{_OUT_OF_BOUNDS}") when it lies outside (XL202);
- a value whose low 32 bits are 0xffffffff reads as "no PHYS32_ENTRY" (XL103).
The usual cause is a virtual address (e.g. 0xffffffff81000000 + offset) written with .quad:
the physical address is the value - p_vaddr + p_paddr of the segment holding it.
Only PVH boots use PHYS32_ENTRY; PV boots ignore it.
"""
    fix = """
Write the 32-bit physical address of the 32-bit entry code, e.g.
ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long startup_xen_pvh - __START_KERNEL_map).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        for cell, parse in phys32_cells(ctx):
            raw = parse.raw_phys32
            if raw is None or raw <= N.PHYS32_UNSET:
                continue
            kept = raw & N.PHYS32_UNSET
            hit = virtual_hit(image, raw)
            message = (
                f"PHYS32_ENTRY is {raw:#x}, which does not fit the 32 bits Xen stores it in: "
                f"Xen silently keeps {kept:#x}{_outcome(image, cell, kept)}"
            )
            if hit:
                message += f"; {raw:#x} is a virtual address in {describe_vaddr(hit[0])}"
            yield Result((cell,), message, entry_location(image), fix=entry_fix(image, raw, kept))


def _outcome(image: Image, cell: Cell, kept: int) -> str:
    """What this release does with the truncated value."""
    assert cell.xen is not None
    if kept == N.PHYS32_UNSET:
        return ", which it reads as 'no PHYS32_ENTRY': no PVH boot"
    pstart, pend = paddr_bounds(image)
    if cell.xen.pvh_entry_bounds_checked and not pstart <= kept <= pend:
        return f", which is outside the image, so it refuses the kernel ('{_OUT_OF_BOUNDS}')"
    return " and starts the vCPU there"


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Phys32EntryNot32bit()]
