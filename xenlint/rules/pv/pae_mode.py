"""XL305: a 32-bit PV kernel boots only with PAE, and only where the hypervisor still runs
32-bit PV guests (xen.md §8)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.elf import EM_386
from xenlint.abi.profile import format_version
from xenlint.abi.xen import RELEASES
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.escape import quoted

# The first release whose default build leaves out 32-bit PV (CONFIG_PV32, 1a0f2fe229).
PV32_OFF_FROM = format_version(min(r.version for r in RELEASES if not r.pv32_default))


class PaeMode(Rule):
    code = "XL305"
    name = "pae-mode"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a 32-bit PV kernel without PAE, or 32-bit PV on releases built without it"
    explanation = f"""
A 32-bit (EM_386) PV kernel declares its paging mode in PAE_MODE: exactly "yes" means PAE
with extended-cr3, any string containing "bimodal" bimodal, anything else (including "no",
"YES" or no note) non-PAE. In __xen_guest, PAE=yes[extended-cr3] or PAE=yes... select PAE
and "bimodal" is not understood. Every Xen 4.x hypervisor runs 32-bit PV guests only with
PAE (it never advertises "xen-3.0-x86_32"), so a non-PAE kernel is refused:
- PV domU: "guest type xen-3.0-x86_32 not supported by xen kernel, sorry";
- PV dom0: "Mismatch between Xen and DOM0 kernel".
From {PV32_OFF_FROM} a default hypervisor build has no 32-bit PV at all (CONFIG_PV32 defaults
to off; 4.14 and 4.15 had the option on by default): a PAE kernel then boots only on a
hypervisor built with CONFIG_PV32 and not started with pv=no-32, else the toolstack finds no
"xen-3.0-x86_32p" capability and a dom0 fails with "Found 32-bit PV kernel, but CONFIG_PV32
missing". That is reported as a warning. PVH boots do not use PAE_MODE.
"""
    fix = """
Build the 32-bit kernel with PAE and add ELFNOTE(Xen, XEN_ELFNOTE_PAE_MODE, .asciz "yes")
(or "bimodal"); on Xen 4.16 and later prefer a 64-bit or PVH kernel, or enable CONFIG_PV32.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        if ctx.image.machine != EM_386:
            return
        for cell, parse in ctx.parsed_cells():
            if cell.mode.is_pvh:
                continue
            assert cell.xen is not None
            notes = ctx.image.notes_of(N.PAE_MODE)
            where = ctx.location(notes[-1] if notes and parse.source == "notes" else None)
            if parse.pae == "no" and not cell.xen.non_pae_pv32:
                given = parse.strings.get(N.PAE_MODE.name)
                found = "no PAE_MODE" if given is None else f"PAE_MODE {quoted(given)}"
                refusal = (
                    M.DOM0_MISMATCH
                    if cell.mode.is_dom0
                    else M.GUEST_TYPE_UNSUPPORTED.format(guest_type="xen-3.0-x86_32")
                )
                yield Result(
                    (cell,),
                    f"32-bit PV kernel with {found} (non-PAE): Xen runs 32-bit PV guests only "
                    f"with PAE and refuses it with '{refusal}'",
                    where,
                )
            elif not cell.xen.pv32_default:
                yield Result(
                    (cell,),
                    "32-bit PV kernel: this release's default build has no 32-bit PV "
                    f"support (CONFIG_PV32 is off by default from {PV32_OFF_FROM}), so it boots "
                    "only on a hypervisor built with CONFIG_PV32",
                    where,
                    severity=Severity.WARNING,
                    fix="build a 64-bit kernel or a PVH kernel, or run a hypervisor built "
                    "with CONFIG_PV32=y",
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PaeMode()]
