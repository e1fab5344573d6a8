"""XL101: elf_xen_note_check() refuses a kernel unless LOADER starts with "generic" or GUEST_OS
with "linux", except where PHYS32_ENTRY alone is enough (xen.md §4 steps 3 and 4)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Result, Rule, Severity
from xenlint.image.model import Image
from xenlint.replay.xen import XenParse
from xenlint.rules.guest.helpers import (
    PVH_ONLY_FROM,
    SHORTCUT_FROM,
    note_check_cells,
    note_location,
    pvh_upgrade_hint,
    shortcut_hint,
    xen_release,
)

_LOADER_TEXT = M.LOADER_OR_GUEST_OS


class LoaderOrGuestOs(Rule):
    code = "XL101"
    name = "loader-or-guest-os"
    judges_behaviour = True
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
        # Whether LOADER or GUEST_OS passes depends only on the strings the parse kept, and
        # cells sharing a parse share them: a strings dict that passes is remembered, so the
        # other cells sharing it cost one lookup.
        passes: dict[int, bool] = {}
        for cell, parse in note_check_cells(ctx):
            if passes.get(id(parse.strings)):
                continue
            loader = parse.strings.get(N.LOADER.name)
            guest_os = parse.strings.get(N.GUEST_OS.name)
            if _starts(loader, N.LOADER_PREFIX) or _starts(guest_os, N.GUEST_OS_PREFIX):
                passes[id(parse.strings)] = True
                continue
            xen_text = _LOADER_TEXT
            release = xen_release(cell)
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


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LoaderOrGuestOs()]
