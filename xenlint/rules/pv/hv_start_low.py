"""XL306: a 32-bit PV dom0 may not ask for the hypervisor hole to start above the compat
hypervisor area, nor reach into it (xen.md §8)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import COMPAT_HV_START, HV_START_ROUND
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.xen import addresses

_TOO_HIGH = M.HV_START_TOO_HIGH
_OVERLAP = M.OVERLAPS_XEN


class HvStartLow(Rule):
    code = "XL306"
    name = "hv-start-low"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a 32-bit PV dom0 whose HV_START_LOW or image end is above the compat Xen area"
    explanation = f"""
A 32-bit PV guest shares its 4 GiB address space with Xen, which sits at the top, from
{COMPAT_HV_START:#x} (__HYPERVISOR_COMPAT_VIRT_START) up. HV_START_LOW tells a 32-bit PV
dom0 builder the lowest address the kernel lets Xen start at (NetBSD and the old XenLinux
use it). Xen rounds it up to {HV_START_ROUND >> 20} MiB and refuses a value above
{COMPAT_HV_START:#x}:
    "{_TOO_HIGH}" (a panic in 4.0, -ERANGE later).
A kernel image reaching above the area's start cannot be mapped either:
    "{_OVERLAP}"
Only 32-bit PV dom0 reads the note; the domU toolstack and 64-bit kernels ignore it.
"""
    fix = f"""
Set HV_START_LOW to at most {COMPAT_HV_START:#x} (NetBSD uses 0xF5800000 for PAE), and link
the kernel below it.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        if ctx.image.elf_class != 32:
            return
        for cell, parse in ctx.parsed_cells():
            if cell.mode is not Mode.PV_DOM0:
                continue
            notes = ctx.image.notes_of(N.HV_START_LOW)
            where = Location.of_note(notes[-1]) if notes else None
            low = parse.given(N.HV_START_LOW)
            if low is not None:
                rounded = -(-low // HV_START_ROUND) * HV_START_ROUND
                if rounded > COMPAT_HV_START:
                    yield Result(
                        (cell,),
                        f"HV_START_LOW {low:#x} (rounded up to {rounded:#x}) is above the "
                        f"compat hypervisor start {COMPAT_HV_START:#x}: Xen refuses dom0 with "
                        f"'{_TOO_HIGH}'",
                        where,
                    )
                    continue
            calc = addresses(ctx.image, parse)
            if calc.out_of_bounds is None and calc.kend > COMPAT_HV_START:
                yield Result(
                    (cell,),
                    f"the kernel ends at {calc.kend:#x}, inside Xen's area from "
                    f"{COMPAT_HV_START:#x}: Xen refuses dom0 with '{_OVERLAP}'",
                    where,
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [HvStartLow()]
