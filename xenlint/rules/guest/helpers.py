"""What the XL1xx rules share: which cells reach elf_xen_note_check's content checks, where
PHYS32_ENTRY spares a kernel the check (xen.md §4), and where the checked note sits."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint.abi import notes as N
from xenlint.abi.profile import format_version
from xenlint.abi.xen import RELEASES, XenRelease
from xenlint.engine.rule import Cell, Context, Location
from xenlint.image.model import Image
from xenlint.replay.xen import XenParse, note_check_applies

# First release where PHYS32_ENTRY stands in for these notes at all, and first where it does
# so only for PVH (hvm) parses: 4.10.1 (2dd3e22949) and 4.16 (632cbaf124).
SHORTCUT_FROM = format_version(min(r.version for r in RELEASES if r.phys32_shortcut != "none"))
PVH_ONLY_FROM = format_version(min(r.version for r in RELEASES if r.phys32_shortcut == "pvh"))
PV_SHORTCUT_UNTIL = format_version(
    max(r.version for r in RELEASES if r.phys32_shortcut == "pv+pvh")
)


def note_check_cells(ctx: Context) -> tuple[tuple[Cell, XenParse], ...]:
    """The cells whose parse reaches elf_xen_note_check's content checks: the mode boots
    on that release, the machine is checked (all but EM_ARM from 4.2), Xen has note values to
    check (none at all is XL001's), and no PHYS32_ENTRY shortcut applies."""
    return ctx.remember((__name__, "note_check_cells"), lambda: tuple(_note_check_cells(ctx)))


def _note_check_cells(ctx: Context) -> Iterator[tuple[Cell, XenParse]]:
    # libelf checks whenever it walked a note region or read __xen_guest; an x86 image
    # with note regions but no Xen note is XL001's, any other machine's is checked here
    image = ctx.image
    scanned = image.note_regions_scanned and not image.is_x86
    arm32 = image.is_arm32  # the one machine some releases exempt: asked once, not per cell
    for cell, parse in ctx.xen_pairs:
        if cell.mode not in cell.profile.modes:
            continue  # XL103: this release cannot boot the mode at all
        if arm32 and not note_check_applies(image, xen_release(cell)):
            continue
        if (parse.source is not None or scanned) and not parse.shortcut:
            yield cell, parse


def shortcut_hint(cell: Cell, parse: XenParse) -> str:
    """Why PHYS32_ENTRY does not spare this cell the check, or that it would."""
    kind = xen_release(cell).phys32_shortcut
    if parse.phys32_entry is not None and cell.mode.is_pvh:  # a release without the shortcut
        return (
            f"; PHYS32_ENTRY does not exempt a PVH kernel from this check before Xen "
            f"{SHORTCUT_FROM}"
        )
    if parse.phys32_entry is not None and kind == "pvh":
        return (
            f"; PHYS32_ENTRY exempts only PVH boots from Xen {PVH_ONLY_FROM} "
            f"(PV boots too on {SHORTCUT_FROM} to {PV_SHORTCUT_UNTIL})"
        )
    if parse.phys32_entry is None and cell.mode.is_pvh and kind != "none":
        return "; a usable PHYS32_ENTRY note would exempt this PVH boot from the check"
    return ""


def pvh_upgrade_hint(cell: Cell, parse: XenParse) -> str:
    """For a PVH boot with PHYS32_ENTRY on a release without the shortcut: the other way out."""
    if cell.mode.is_pvh and parse.phys32_entry is not None:
        return f"; or target Xen {SHORTCUT_FROM} or later, where PHYS32_ENTRY alone suffices"
    return ""


def note_location(image: Image, parse: XenParse, *kinds: N.NoteType) -> Location | None:
    """The last note of the first kind present (the one Xen keeps), else where Xen read."""
    if parse.source == "xen_guest":
        assert image.xen_guest is not None
        return Location.of_xen_guest(image.xen_guest)
    for kind in kinds:
        notes = image.notes_of(kind)
        if notes:
            return Location.of_note(notes[-1])
    return Location.of_container(image.notes[0].container) if image.notes else None


def xen_release(cell: Cell) -> XenRelease:
    """The Xen release a Xen cell judges."""
    assert cell.xen is not None
    return cell.xen
