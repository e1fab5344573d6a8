"""XL202: the PVH entry must lie in the kernel's physical load range, [pstart, pend] over the
loadable PT_LOADs' p_paddr; 4.16+ check it, older releases jump wherever it points
(xen.md §6.1 step 7, §6.2)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.rules.phys32.helpers import (
    entry_fix,
    entry_location,
    paddr_bounds,
    phys32_cells,
)

_OUT_OF_BOUNDS = M.OUT_OF_BOUNDS


class Phys32EntryOutsideImage(Rule):
    code = "XL202"
    name = "phys32-entry-outside-image"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "PHYS32_ENTRY is not inside the physical range the kernel is loaded to"
    explanation = f"""
libelf computes the kernel's physical extent [pstart, pend] as the lowest p_paddr and the
highest p_paddr + p_memsz over the PT_LOAD segments with any of the R, W, X flags, and loads
the kernel there for a PVH boot. PHYS32_ENTRY (as stored: its low 32 bits) must lie inside:
- 4.16 and later (632cbaf124) use PHYS32_ENTRY as the entry of a PVH (hvm) parse and refuse
  the kernel when it is below pstart or above pend: "ERROR: {_OUT_OF_BOUNDS}". The end is
  inclusive, so an entry equal to pend passes (XL203 reports it);
- 4.7 to 4.15 do not check PHYS32_ENTRY at all: the vCPU starts at an address the kernel
  was not loaded to and the guest crashes at its first instruction.
Without any loadable segment pstart is all ones and pend 0, so no entry can be inside.
The usual cause is a virtual address, or an address from another link layout.
Only PVH boots use PHYS32_ENTRY; PV boots ignore it.
"""
    fix = """
Set PHYS32_ENTRY to the physical (p_paddr-based) address of the 32-bit entry code; for a
kernel linked at a high virtual address that is the symbol minus the virtual-to-physical
offset, e.g. .long startup_xen_pvh - __START_KERNEL_map.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        pstart, pend = paddr_bounds(image)
        for cell, parse in phys32_cells(ctx, any_machine=True):
            entry = parse.phys32_entry
            if entry is None or pstart <= entry <= pend:
                continue
            assert cell.xen is not None and parse.raw_phys32 is not None
            if pstart > pend:
                where = (
                    f"PHYS32_ENTRY {entry:#x} cannot be inside the kernel: it has no loadable "
                    "PT_LOAD segment (flags R, W or X)"
                )
            else:
                where = (
                    f"PHYS32_ENTRY {entry:#x} is outside the kernel's physical load range "
                    f"[{pstart:#x}, {pend:#x}] (the p_paddr range of its loadable segments)"
                )
            if cell.xen.pvh_entry_bounds_checked:
                outcome = f"Xen refuses the kernel with '{_OUT_OF_BOUNDS}'"
            else:
                outcome = (
                    "this release does not check it, and the vCPU starts executing memory "
                    "the kernel was not loaded to"
                )
            yield Result(
                (cell,),
                f"{where}: {outcome}",
                entry_location(image),
                fix=entry_fix(image, parse.raw_phys32, entry),
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Phys32EntryOutsideImage()]
