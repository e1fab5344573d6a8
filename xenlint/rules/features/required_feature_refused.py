"""XL406: features a kernel marks as required ('!name') that a mode refuses (xen.md §3.4)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode, format_version
from xenlint.abi.xen import RELEASES
from xenlint.engine.rule import Context, Result, Rule, Severity

_SMK = M.SUPERVISOR_MODE
_AUTO = M.PV_AUTOTRANSLATE
AUTO_FROM = format_version(min(r.version for r in RELEASES if r.pv_autotranslate_refused))


class RequiredFeatureRefused(Rule):
    code = "XL406"
    name = "required-feature-refused"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "FEATURES requires a feature the targeted mode refuses"
    explanation = f"""
A '!' before a FEATURES name marks it required. Xen never compares the required set with
what the hypervisor offers, but acts on two bits:
- '!{F.SUPERVISOR_MODE_KERNEL.name}' in a PV dom0: Xen panics at boot,
  "{_SMK}" (every release);
- '!{F.AUTO_TRANSLATED_PHYSMAP.name}' in a PV domU: the toolstack refuses to start it
  from {AUTO_FROM}: "{_AUTO}"
  (ee92c92b51); earlier releases still build auto-translated PV guests.
'!dom0' in a domU is XL405's. PVH guests are always translated, so the bits mean nothing
there.
"""
    fix = """
Drop the '!' (list the feature as supported, not required), or remove the name from
FEATURES: no kernel that runs on current Xen may require these.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            assert cell.xen is not None
            refused = None
            if cell.mode is Mode.PV_DOM0:
                refused = (F.SUPERVISOR_MODE_KERNEL, f"Xen panics at dom0 boot: '{_SMK}'")
            elif cell.mode is Mode.PV and cell.xen.pv_autotranslate_refused:
                refused = (F.AUTO_TRANSLATED_PHYSMAP, f"the toolstack refuses it: '{_AUTO}'")
            if refused is None or not parse.required >> refused[0].bit & 1:
                continue
            notes = ctx.image.notes_of(N.FEATURES) if parse.source == "notes" else ()
            yield Result(
                (cell,),
                f"FEATURES requires '{refused[0].name}' ('!{refused[0].name}') in {cell.mode} "
                f"mode: {refused[1]}",
                ctx.location(notes[-1] if notes else None),
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [RequiredFeatureRefused()]
