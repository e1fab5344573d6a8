"""XL102: elf_xen_note_check() refuses a kernel whose XEN_VERSION does not start with "xen-3.0",
except where PHYS32_ENTRY alone is enough (xen.md §4 steps 3 and 5)."""

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
)

_VERSION_TEXT = M.XEN_VERSION


class XenVersion(Rule):
    code = "XL102"
    name = "xen-version"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "XEN_VERSION is missing or does not start with 'xen-3.0'"
    explanation = f"""
XEN_VERSION names the hypercall ABI the kernel was built for. That ABI has been "xen-3.0"
since Xen 3.0, and every libelf release (3.1 onwards) refuses an x86 kernel whose
XEN_VERSION (from the notes or the legacy __xen_guest XEN_VER item) is empty, absent or does
not start with "{N.XEN_VERSION_PREFIX}" (7 characters, so "xen-3.0.4" passes, "xen-4.0" fails):
- 3.1 to 4.3: "ERROR: {_VERSION_TEXT}";
- 4.4 and later append the value found: " (Not '<xen_ver>')".
Xen checks it after LOADER/GUEST_OS (XL101) and skips both where a PHYS32_ENTRY note is
enough: never on 4.7 to 4.10.0; PV and PVH boots on {SHORTCUT_FROM} to 4.15; only PVH boots
from {PVH_ONLY_FROM}. The stored value is cut to 15 characters. Every machine but
EM_ARM (from 4.2) is checked.
"""
    fix = f"""
Add ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "{N.XEN_VERSION_PREFIX}"): it names the ABI,
not the Xen release you run. With only the legacy __xen_guest string, add
XEN_VER={N.XEN_VERSION_PREFIX} to it.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in note_check_cells(ctx):
            version = parse.strings.get(N.XEN_VERSION.name)
            if version and version.startswith(N.XEN_VERSION_PREFIX):
                continue
            assert cell.xen is not None
            xen_text = _VERSION_TEXT
            if cell.xen.note_check_shows_values:
                xen_text += f" (Not '{version or ''}')"
            found = "there is no XEN_VERSION" if version is None else f"XEN_VERSION is {version!r}"
            if parse.source == "xen_guest":
                found += f" in {N.XEN_GUEST_SECTION}"
            yield Result(
                (cell,),
                f"{found}, but Xen requires it to start with '{N.XEN_VERSION_PREFIX}': Xen "
                f"refuses the kernel with '{xen_text}'{shortcut_hint(cell, parse)}",
                note_location(ctx.image, parse, N.XEN_VERSION),
                fix=_fix(ctx.image, cell, parse, version),
            )


def _fix(image: Image, cell: Cell, parse: XenParse, version: str | None) -> str:
    if parse.source == "xen_guest":
        return (
            f"set XEN_VER={N.XEN_VERSION_PREFIX} in the {N.XEN_GUEST_SECTION} string, or "
            "better replace it by ELF notes, e.g. "
            f'ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "{N.XEN_VERSION_PREFIX}")'
        )
    verb = "change the XEN_VERSION note to" if image.has_note(N.XEN_VERSION) else "add"
    text = f'{verb} ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "{N.XEN_VERSION_PREFIX}")'
    if version:
        text += f" (it names the hypercall ABI, {N.XEN_VERSION_PREFIX}, not a Xen release)"
    return text + pvh_upgrade_hint(cell, parse)


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [XenVersion()]
