"""XL303: HYPERCALL_PAGE must name a page of the loaded kernel: a PV dom0 refuses one outside
its initial mapping, and the domU toolstack fills whatever page it names (xen.md §6.3)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import PAGE_SIZE
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.xen import addresses

_DOM0_ERROR = M.BAD_HYPERCALL_PAGE


class HypercallPageOutOfBounds(Rule):
    code = "XL303"
    name = "hypercall-page-out-of-bounds"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "HYPERCALL_PAGE is not a page of the loaded kernel"
    explanation = f"""
HYPERCALL_PAGE is the virtual address of the page Xen fills with hypercall stubs before the
kernel runs; the kernel calls into it from its first instructions. libelf never checks it:
- a PV dom0 (every release) refuses an address below VIRT_BASE or past the end of its
  initial mapping: "{_DOM0_ERROR}";
  an address past the kernel image but inside the mapping is accepted, and the stubs
  overwrite whatever Xen placed there (initrd, P2M table, start info);
- a PV domU's toolstack has Xen write the stubs to page (HYPERCALL_PAGE - VIRT_BASE) >> 12
  of the guest at boot (XEN_DOMCTL_hypercall_init): outside the kernel's pages they land
  on a page the kernel did not reserve for them (the start info, the P2M table, page
  tables), or beyond the guest's memory, where "HYPERCALL_INIT failed".
PVH boots discard the note. In the legacy __xen_guest string HYPERCALL_PAGE is a page
number, to which VIRT_BASE is added (see XL005).
"""
    fix = """
Point HYPERCALL_PAGE at a page-aligned, page-sized area inside the kernel image, e.g.
ELFNOTE(Xen, XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page) with hypercall_page in .text.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            page = parse.given(N.HYPERCALL_PAGE)
            if cell.mode.is_pvh or page is None:
                continue
            calc = addresses(ctx.image, parse)
            if calc.out_of_bounds is not None:
                continue  # refused earlier: XL301
            end = -(-calc.kend // PAGE_SIZE) * PAGE_SIZE  # the kernel's last page, inclusive
            if calc.kstart <= page < end:
                continue
            span = f"[{calc.kstart:#x}, {end:#x})"
            if cell.mode is Mode.PV_DOM0 and page < calc.virt_base:
                outcome = (
                    f"below VIRT_BASE {calc.virt_base:#x}: Xen refuses dom0 with '{_DOM0_ERROR}'"
                )
            elif cell.mode is Mode.PV_DOM0:
                outcome = (
                    f"past the kernel {span}: Xen refuses dom0 with '{_DOM0_ERROR}' beyond its "
                    "initial mapping, and overwrites what it placed there otherwise"
                )
            else:
                outcome = (
                    f"outside the kernel's pages {span}: at boot Xen writes the hypercall stubs "
                    "over a page the kernel did not reserve for them"
                )
            notes = ctx.image.notes_of(N.HYPERCALL_PAGE)
            where = ctx.location(notes[-1] if notes and parse.source == "notes" else None)
            yield Result((cell,), f"HYPERCALL_PAGE {page:#x} is {outcome}", where)


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [HypercallPageOutOfBounds()]
