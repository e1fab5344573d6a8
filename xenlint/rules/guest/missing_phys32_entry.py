"""XL103: a PVH boot needs a usable PHYS32_ENTRY note on a release that has PVH at all."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.abi.xen import FIRST_PVH, FIRST_PVH_DOM0
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.replay.reach import xen_misses
from xenlint.replay.toolchain import missing_pvh_note_fix


class MissingPhys32Entry(Rule):
    code = "XL103"
    name = "missing-phys32-entry"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a PVH mode is targeted but the release has no PVH boot or the kernel no entry"
    explanation = f"""
A PVH guest is started in 32-bit protected mode, paging off, at the physical address in the
PHYS32_ENTRY note (type {N.PHYS32_ENTRY.number}). Without a usable one:
- releases before {FIRST_PVH} cannot boot PVH guests at all (PVH dom0: before {FIRST_PVH_DOM0});
- the note is missing, or holds 0xffffffff, which libelf stores as "unset";
- the only notes are in the legacy __xen_guest string, which 4.16+ ignores for PVH.
What happens then: the toolstack of 4.10 and later refuses ("image not capable of booting
inside a HVM container"), 4.7-4.9 silently build a PV guest instead, and a PVH dom0 fails
with "Unable to find XEN_ELFNOTE_PHYS32_ENTRY address".
A 32-bit kernel whose notes fail the PVH parse (e.g. a virtual e_entry, now checked against
the physical range) is taken instead by the toolstack's "HVM-generic" firmware loader
(4.7+): the build succeeds, but the kernel is entered at e_entry with paging off, not as PVH.
"""
    fix = """
Add ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long <physical address of the 32-bit entry>)
to the kernel, or drop the PVH mode / releases before 4.7 from the project's targets.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.xen_cells:
            if cell.mode.is_pvh:
                problem = _problem(ctx, cell)
                if problem:
                    fix = None
                    if problem[0].startswith("no PHYS32_ENTRY note"):
                        fix = missing_pvh_note_fix(ctx.image)
                    yield Result((cell,), *problem, fix=fix)


def _problem(ctx: Context, cell: Cell) -> tuple[str, Location | None] | None:
    """What keeps this cell from a PVH boot, and where to look; None when nothing does."""
    if cell.mode not in cell.profile.modes:
        first = FIRST_PVH_DOM0 if cell.mode.is_dom0 else FIRST_PVH
        return (
            f"this release cannot boot any kernel in {cell.mode} mode "
            f"({cell.mode} needs Xen {first} or later)",
            None,
        )
    parse = ctx.xen(cell)
    if parse.phys32_entry is not None:
        return None
    notes = ctx.image.notes_of(N.PHYS32_ENTRY)
    if parse.raw_phys32 is not None and notes:
        return (
            f"PHYS32_ENTRY is {N.PHYS32_UNSET:#x}, which Xen reads as 'no entry point': "
            "no PVH boot",
            Location.of_note(notes[-1]),
        )
    guest = ctx.image.xen_guest
    if parse.source is None and guest is not None:
        return (
            "the kernel's only Xen notes are in __xen_guest, which Xen ignores for PVH",
            Location.of_xen_guest(guest),
        )
    if any(t == N.PHYS32_ENTRY.number for m in xen_misses(ctx.image) for _, t in m.missed):
        return None  # the note is there; XL008 says where Xen's walk lost it
    return "no PHYS32_ENTRY note: Xen has no 32-bit entry point for a PVH boot", None


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [MissingPhys32Entry()]
