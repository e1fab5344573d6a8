"""XL304: INIT_P2M must not point into the kernel image (xen.md §6.1 step 8, §8)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.xen import addresses

_ERROR = M.P2M_OUT_OF_BOUNDS


class InitP2mInsideImage(Rule):
    code = "XL304"
    name = "init-p2m-inside-image"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "INIT_P2M points into the kernel image"
    explanation = f"""
INIT_P2M asks Xen to map the initial P2M table (the guest's pseudo-physical to machine
frame list) at a virtual address of the kernel's choosing instead of right after the
kernel. libelf (3.4 and later) refuses the kernel when that address falls inside the
kernel's own virtual range [virt_kstart, virt_kend): "ERROR: {_ERROR}".
The check is made in every mode, PVH included. Releases that do not know the note ignore it (XL007).
A 64-bit PV dom0 additionally panics when the table overlaps its initial mapping, and the
domU toolstack silently ignores an INIT_P2M that is not below VIRT_BASE or not page-aligned.
"""
    fix = """
Give INIT_P2M an address outside the kernel, below VIRT_BASE and page-aligned (Linux uses
0xffffea0000000000 on x86-64), or drop the note to get the default placement.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            base = parse.given(N.INIT_P2M)
            if base is None or not parse.release.p2m_bounds_checked:
                continue
            calc = addresses(ctx.image, parse)
            if calc.out_of_bounds is not None or not calc.kstart <= base < calc.kend:
                continue
            notes = ctx.image.notes_of(N.INIT_P2M)
            yield Result(
                (cell,),
                f"INIT_P2M {base:#x} is inside the kernel's virtual range "
                f"[{calc.kstart:#x}, {calc.kend:#x}): Xen refuses the kernel with '{_ERROR}'",
                Location.of_note(notes[-1]) if notes else None,
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [InitP2mInsideImage()]
