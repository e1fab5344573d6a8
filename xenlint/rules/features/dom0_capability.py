"""XL405: the dom0 feature bit: a dom0 must declare it where Xen checks, a domU must not
require it (xen.md §3.4)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode, format_version
from xenlint.abi.xen import RELEASES, XenRelease
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.image.model import Note
from xenlint.replay.xen import XenParse

_DOM0 = M.NO_DOM0
_DOMU = M.NO_DOMU
PV_FROM = format_version(min(r.version for r in RELEASES if r.dom0_bit_check_pv))
PVH_FROM = ", ".join(
    format_version(r.version)
    for r in RELEASES
    if r.dom0_bit_check_pvh
    and not any(
        o.dom0_bit_check_pvh and o.version < r.version and o.version[:2] == r.version[:2]
        for o in RELEASES
    )
)


class Dom0Capability(Rule):
    code = "XL405"
    name = "dom0-capability"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a dom0 without the dom0 feature bit, or a domU that requires it"
    explanation = f"""
Feature bit {F.DOM0.bit} ("dom0") says the kernel can run as the control domain.
- Dom0: when the kernel has a SUPPORTED_FEATURES note, Xen refuses it as dom0 unless the
  dom0 bit is in the union of SUPPORTED_FEATURES and FEATURES:
      "{_DOM0}"
  PV dom0 is checked from {PV_FROM} (ec029aaa9a, 63b9bf3017); PVH dom0 from
  {PVH_FROM} (44429b6931 and its backports; earlier PVH dom0 builders do not
  check). A kernel with only the FEATURES string is not checked. The pv-shim is exempt.
- DomU: a '!dom0' in FEATURES (required) makes the toolstack refuse the kernel:
      "{_DOMU}"
  ({PV_FROM} and later; before, 'dom0' is an unknown name and fails the parse: XL402).
  This holds for PV and PVH domUs.
"""
    fix = """
For a dom0 kernel set bit 11 in SUPPORTED_FEATURES (e.g. .long (1 << XENFEAT_dom0)) or add
"dom0" to FEATURES; a kernel meant also for domU says "dom0", never "!dom0".
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.parsed_cells():
            assert cell.xen is not None
            if cell.mode.is_dom0 and _dom0_checked(cell.xen, cell.mode):
                if parse.supported_words and not parse.supported >> F.DOM0.bit & 1:
                    note = parse.supported_words[-1][0]
                    yield Result(
                        (cell,),
                        f"SUPPORTED_FEATURES {parse.supported:#x} (with FEATURES) lacks the dom0 "
                        f"bit ({1 << F.DOM0.bit:#x}): Xen refuses it as dom0 with '{_DOM0}'",
                        ctx.location(note),
                    )
            elif _requires_dom0(cell.xen, cell.mode, parse):
                yield Result(
                    (cell,),
                    f"FEATURES requires dom0 ('!{F.DOM0.name}'): the toolstack refuses the "
                    f"kernel as an unprivileged guest with '{_DOMU}'",
                    ctx.location(_features_note(ctx, parse)),
                )


def _dom0_checked(release: XenRelease, mode: Mode) -> bool:
    return release.dom0_bit_check_pvh if mode.is_pvh else release.dom0_bit_check_pv


def _requires_dom0(release: XenRelease, mode: Mode, parse: XenParse) -> bool:
    """A domU whose toolstack refuses '!dom0', with the bit required."""
    refuses = not mode.is_dom0 and release.domu_refuses_required_dom0
    return refuses and bool(parse.required >> F.DOM0.bit & 1)


def _features_note(ctx: Context, parse: XenParse) -> Note | None:
    if parse.source != "notes":
        return None
    notes = ctx.image.notes_of(N.FEATURES)
    return notes[-1] if notes else None


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Dom0Capability()]
