"""XL301: libelf's last address check, "ELF start or entries are out of bounds": the entry must
lie in the kernel's virtual range, derived from the p_paddr range, VIRT_BASE and PADDR_OFFSET
(xen.md §6.1)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.xen import Addresses, XenParse, addresses

OUT_OF_BOUNDS = M.OUT_OF_BOUNDS


class PvEntryOutOfBounds(Rule):
    code = "XL301"
    name = "pv-entry-out-of-bounds"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the entry point is outside the kernel's virtual range, or the range is empty"
    explanation = f"""
After reading the notes, every libelf release computes where the kernel lives in the guest's
virtual address space, from the physical extent [pstart, pend] of the loadable PT_LOADs
(p_paddr, not p_vaddr):
    virt_kstart = pstart + VIRT_BASE - PADDR_OFFSET, virt_kend = pend + VIRT_BASE - PADDR_OFFSET
VIRT_BASE defaults to 0; PADDR_OFFSET to 0 with ELF notes but to VIRT_BASE with the legacy
__xen_guest string. The entry is the ENTRY note (VIRT_ENTRY in __xen_guest), else e_entry.
A note holding all-ones (0xffffffffffffffff, libelf's "unset" marker) counts as absent.
Xen refuses the kernel with "ERROR: {OUT_OF_BOUNDS}" when
- the range is empty (no loadable segment), or
- the entry is below virt_kstart or above virt_kend (the end itself is allowed), or
- VIRT_BASE is above virt_kstart.
This binds PV domU and PV dom0 on every release, and PVH boots parsed without the hvm flag
(before 4.16). From 4.16 a PVH parse forces VIRT_BASE and PADDR_OFFSET to 0 and checks
PHYS32_ENTRY instead (XL202), or e_entry when there is none. The check has no machine
test: a non-x86 image meets it even without Xen notes. The usual cause is a kernel linked
high whose p_paddr is physical but which has no VIRT_BASE note, or an ENTRY given as a
physical address.
"""
    fix = """
Give VIRT_BASE (the virtual address the kernel's physical address 0 maps to, e.g.
0xffffffff80000000 for Linux) and make ENTRY a virtual address inside the loaded image; or
link with p_paddr equal to p_vaddr and omit VIRT_BASE.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            calc = addresses(ctx.image, parse)
            problem = calc.out_of_bounds
            if problem is None or (parse.hvm and calc.entry_from == "PHYS32_ENTRY"):
                continue  # a PVH entry from PHYS32_ENTRY is XL202's
            yield Result(
                (cell,),
                f"{_describe(calc, problem)}: Xen refuses the kernel with '{OUT_OF_BOUNDS}'",
                _location(ctx, parse, problem),
            )


def _describe(calc: Addresses, problem: str) -> str:
    span = f"[{calc.kstart:#x}, {calc.kend:#x}]"
    if problem.startswith("the kernel's address range is empty"):
        return "the kernel has no loadable PT_LOAD segment (flags R, W or X), so its range is empty"
    if problem.startswith("VIRT_BASE"):
        return f"VIRT_BASE {calc.virt_base:#x} is above the kernel's virtual start {calc.kstart:#x}"
    return (
        f"the entry {calc.entry:#x} (from {calc.entry_from}) is outside the kernel's virtual "
        f"range {span} (p_paddr {calc.pstart:#x}-{calc.pend:#x} + VIRT_BASE "
        f"{calc.virt_base:#x} - PADDR_OFFSET {calc.paddr_offset:#x})"
    )


def _location(ctx: Context, parse: XenParse, problem: str) -> Location | None:
    if parse.source == "xen_guest":
        return ctx.location(None)
    kind = N.VIRT_BASE if problem.startswith("VIRT_BASE") else N.ENTRY
    notes = ctx.image.notes_of(kind)
    return Location.of_note(notes[-1]) if notes else None


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvEntryOutOfBounds()]
