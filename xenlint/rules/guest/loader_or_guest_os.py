"""XL101: elf_xen_note_check() refuses a kernel unless LOADER starts with "generic" or GUEST_OS
with "linux", except where PHYS32_ENTRY alone is enough (xen.md §4 steps 3 and 4)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.abi.profile import format_version
from xenlint.abi.xen import RELEASES, XenRelease
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.image.model import Image
from xenlint.replay.xen import XenParse, note_check_applies

# First release where PHYS32_ENTRY stands in for these notes at all, and first where it does
# so only for PVH (hvm) parses: 4.10.1 (2dd3e22949) and 4.16 (632cbaf124).
SHORTCUT_FROM = format_version(min(r.version for r in RELEASES if r.phys32_shortcut != "none"))
PVH_ONLY_FROM = format_version(min(r.version for r in RELEASES if r.phys32_shortcut == "pvh"))
PV_SHORTCUT_UNTIL = format_version(
    max(r.version for r in RELEASES if r.phys32_shortcut == "pv+pvh")
)

_LOADER_TEXT = "Will only load images built for the generic loader or Linux images"


class LoaderOrGuestOs(Rule):
    code = "XL101"
    name = "loader-or-guest-os"
    severity = Severity.ERROR
    summary = "neither LOADER starts with 'generic' nor GUEST_OS with 'linux'"
    explanation = f"""
Every libelf release (3.1 onwards) checks the Xen notes, or the legacy __xen_guest string,
before loading an x86 kernel: LOADER must start with "{N.LOADER_PREFIX}" (7 characters) or
GUEST_OS with "{N.GUEST_OS_PREFIX}" (5 characters, case-sensitive, so "Linux" fails).
Otherwise elf_xen_note_check() fails with "ERROR: {_LOADER_TEXT}":
- 3.1 to 4.3 print just that;
- 4.4 to 4.10.0 append the values found: " (Not '<loader>' and '<guest_os>')";
- {SHORTCUT_FROM} and later append " or with PHYS32_ENTRY set".
A PHYS32_ENTRY note skips the check ("ELF: Found PVH image"), but not everywhere:
- 4.7 to 4.10.0: never, so PVH kernels need these notes too;
- {SHORTCUT_FROM} to 4.15: in PV and PVH boots alike (2dd3e22949, backported to 4.10.1);
- {PVH_ONLY_FROM} and later: only in PVH boots (632cbaf124), so a PV boot needs the notes again.
PVH dom0 on 4.9 to 4.15 is parsed like PV, with the same rules as that release's PV boots.
The stored values are cut to 15 characters. The check applies to every e_machine: only
EM_ARM (32-bit ARM) kernels skip it, and only from 4.2 (before, ARM was checked like x86).
x86 kernels without any Xen note are XL001's; another machine whose note regions hold no Xen
note is checked here, with empty values.
"""
    fix = f"""
Add ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "{N.LOADER_PREFIX}"), which works for any guest
OS (or, for Linux, GUEST_OS "{N.GUEST_OS_PREFIX}" in lower case). With only the legacy
__xen_guest string, add LOADER={N.LOADER_PREFIX} to it.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in note_check_cells(ctx):
            loader = parse.strings.get(N.LOADER.name)
            guest_os = parse.strings.get(N.GUEST_OS.name)
            if _starts(loader, N.LOADER_PREFIX) or _starts(guest_os, N.GUEST_OS_PREFIX):
                continue
            xen_text = _LOADER_TEXT
            release = _release(cell)
            if release.note_check_shows_values:
                xen_text += f" (Not '{loader or ''}' and '{guest_os or ''}')"
            if release.phys32_shortcut != "none":  # the same commit, 2dd3e22949
                xen_text += " or with PHYS32_ENTRY set"
            found = f"{_shown(N.LOADER, loader)}, {_shown(N.GUEST_OS, guest_os)}{_from(parse)}"
            if guest_os and _starts(guest_os.lower(), N.GUEST_OS_PREFIX):
                found += " (the compare is case-sensitive)"
            yield Result(
                (cell,),
                f"neither LOADER starts with '{N.LOADER_PREFIX}' nor GUEST_OS with "
                f"'{N.GUEST_OS_PREFIX}': {found}; Xen refuses the kernel with "
                f"'{xen_text}'{shortcut_hint(cell, parse)}",
                note_location(ctx.image, parse, N.LOADER, N.GUEST_OS),
                fix=_fix(ctx.image, cell, parse, guest_os),
            )


def note_check_cells(ctx: Context) -> Iterator[tuple[Cell, XenParse]]:
    """The cells whose parse reaches elf_xen_note_check's content checks: the mode boots
    on that release, the machine is checked (all but EM_ARM from 4.2), Xen has note values to
    check (none at all is XL001's), and no PHYS32_ENTRY shortcut applies."""
    for cell in ctx.xen_cells:
        if cell.mode not in cell.profile.modes:
            continue  # XL103: this release cannot boot the mode at all
        if not note_check_applies(ctx.image, _release(cell)):
            continue
        parse = ctx.xen(cell)
        # libelf checks whenever it walked a note region or read __xen_guest; an x86 image
        # with note regions but no Xen note is XL001's, any other machine's is checked here
        scanned = ctx.image.note_regions_scanned and not ctx.image.is_x86
        if (parse.source is not None or scanned) and not parse.shortcut:
            yield cell, parse


def shortcut_hint(cell: Cell, parse: XenParse) -> str:
    """Why PHYS32_ENTRY does not spare this cell the check, or that it would."""
    kind = _release(cell).phys32_shortcut
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


def _fix(image: Image, cell: Cell, parse: XenParse, guest_os: str | None) -> str:
    if parse.source == "xen_guest":
        return (
            f"set LOADER={N.LOADER_PREFIX} in the {N.XEN_GUEST_SECTION} string, or better "
            "replace it by ELF notes, e.g. "
            f'ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "{N.LOADER_PREFIX}")'
        )
    verb = "change the LOADER note to" if image.has_note(N.LOADER) else "add"
    text = f'{verb} ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "{N.LOADER_PREFIX}")'
    if guest_os and _starts(guest_os.lower(), N.GUEST_OS_PREFIX):
        text += f", or write GUEST_OS in lower case ('{guest_os.lower()}')"
    return text + pvh_upgrade_hint(cell, parse)


def _starts(value: str | None, prefix: str) -> bool:
    """strlen(value) != 0 && strncmp(value, prefix, len(prefix)) == 0."""
    return bool(value) and value.startswith(prefix)  # type: ignore[union-attr]


def _shown(kind: N.NoteType, value: str | None) -> str:
    return f"no {kind.name}" if value is None else f"{kind.name} {value!r}"


def _from(parse: XenParse) -> str:
    return f" in {N.XEN_GUEST_SECTION}" if parse.source == "xen_guest" else ""


def _release(cell: Cell) -> XenRelease:
    assert cell.xen is not None
    return cell.xen


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LoaderOrGuestOs()]
