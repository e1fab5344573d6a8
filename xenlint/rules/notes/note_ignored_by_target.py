"""XL007: Xen notes the targeted release skips as "unknown": types no release parses, and
types that only later releases learnt. Skipping is by design, so this is information."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.abi.profile import format_version
from xenlint.abi.xen import FIRST_PVH, FIRST_PVH_DOM0, RELEASES
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.image.model import Note

# The first release whose libelf parses each type; types missing here no release parses.
FIRST_PARSED: dict[int, str] = {
    t.number: format_version(min(r.version for r in RELEASES if t.number in r.known_notes))
    for t in N.NOTE_TYPES
    if any(t.number in r.known_notes for r in RELEASES)
}


class NoteIgnoredByTarget(Rule):
    code = "XL007"
    name = "note-ignored-by-target"
    judges_behaviour = True
    severity = Severity.INFO
    default_enabled = False  # informational: select XL007 to see it
    summary = "a Xen note the targeted release does not parse and skips as unknown"
    explanation = f"""
libelf looks each Xen note's type up in a table; a type without an entry is logged as
"ELF: note: unknown (<type>)" and skipped, in every release since 3.1. That is how new
notes stay compatible with old hypervisors, so a skipped note is not an error, but what
it says does not reach that release. Types and the first release that parses them:
{", ".join(f"{N.BY_NUMBER[n].name} {v}" for n, v in FIRST_PARSED.items())}.
INFO (type {N.INFO.number}) is never parsed (only the readnotes dumper prints it), and types
above {max(t.number for t in N.NOTE_TYPES)} (CRASH_INFO, the dump-core notes, ...) are no
boot notes at all. A skipped note still counts as a Xen note, so Xen does not fall back to
the section headers or to __xen_guest. Cells whose release cannot boot the mode at all
(PVH before {FIRST_PVH}, PVH dom0 before {FIRST_PVH_DOM0}) are left to XL103.
"""
    fix = """
Nothing to fix if the note is meant for newer releases. Otherwise remove the note, or
drop the releases that cannot use it from the project's targets.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # A mode the release cannot boot at all is XL103's; what it skips there is moot.
        cells = tuple(c for c in ctx.xen_cells if c.mode in c.profile.modes)
        skippers: dict[int, tuple[Cell, ...]] = {}  # per type: an image may hold 65536 notes
        for note in ctx.image.notes:
            first = FIRST_PARSED.get(note.type)
            if first is None:
                if cells:
                    yield Result(cells, _never(note), Location.of_note(note), fix=_fix(note))
                continue
            skipping = skippers.get(note.type)
            if skipping is None:
                skipping = tuple(c for c in cells if c.xen and note.type not in c.xen.known_notes)
                skippers[note.type] = skipping
            if skipping:
                message = (
                    f"{note.type_name} is unknown to this release, which skips it: Xen parses "
                    f"it from {first}"
                )
                fix = (
                    f"nothing, if {note.type_name} is only meant for Xen {first} and later; "
                    f"otherwise drop the releases before {first} from the targets"
                )
                yield Result(skipping, message, Location.of_note(note), fix=fix)


def _never(note: Note) -> str:
    if note.type == N.INFO.number:
        return "INFO notes are never parsed by Xen (only the readnotes dumper prints them)"
    return f"Xen note {note.type_name} is no note type any Xen release parses: Xen skips it"


def _fix(note: Note) -> str:
    if note.type == N.INFO.number:
        return "remove the INFO note, or keep it for humans: Xen ignores it"
    return f"remove the note of type {note.type:#x}, or check its type number against elfnote.h"


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NoteIgnoredByTarget()]
