"""XL302: libelf refuses PADDR_OFFSET without VIRT_BASE (xen.md §6.1 step 1)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import format_version
from xenlint.abi.xen import RELEASES
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.xen import addresses

_ERROR = M.PADDR_OFFSET_WITHOUT_VIRT_BASE
# First release whose PVH (hvm) parse skips the check (b77ed96fce).
PVH_SKIPS_FROM = format_version(
    min(r.version for r in RELEASES if r.hvm_flag and not r.paddr_offset_check_pvh)
)


class PaddrOffsetWithoutVirtBase(Rule):
    code = "XL302"
    name = "paddr-offset-without-virt-base"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "PADDR_OFFSET is given but VIRT_BASE is not"
    explanation = f"""
PADDR_OFFSET only means something relative to VIRT_BASE, and libelf's address calculation
refuses the kernel when PADDR_OFFSET (the note, or ELF_PADDR_OFFSET in __xen_guest) is set
and VIRT_BASE is not:
    "ERROR: {_ERROR}"
That holds for PV domU and PV dom0 on every release, and for PVH boots up to the release
before {PVH_SKIPS_FROM}; from {PVH_SKIPS_FROM} a PVH parse ignores both notes (b77ed96fce).
"""
    fix = """
Add the VIRT_BASE note that PADDR_OFFSET was meant to go with, or drop PADDR_OFFSET (with
ELF notes it defaults to 0, which is right when p_paddr holds physical addresses).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            if not addresses(ctx.image, parse).paddr_offset_without_virt_base:
                continue
            offset = parse.given(N.PADDR_OFFSET)
            notes = ctx.image.notes_of(N.PADDR_OFFSET)
            where = ctx.location(notes[-1] if notes and parse.source == "notes" else None)
            yield Result(
                (cell,),
                f"PADDR_OFFSET is {offset:#x} but there is no VIRT_BASE: Xen refuses the "
                f"kernel with '{_ERROR}'",
                where,
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PaddrOffsetWithoutVirtBase()]
