"""XL004: a note type given more than once. Xen has no duplicate detection: for most types the
last note silently wins, PAE_MODE and BSD_SYMTAB can only be switched on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.escape import quoted
from xenlint.image.decode import display
from xenlint.image.model import Image, Note
from xenlint.replay.xen import numeric, string_value

# Notes that only ever switch something on (xen.md §5.2): a later "no" undoes nothing.
_STICKY = (N.PAE_MODE, N.BSD_SYMTAB)
# How many of a sticky note's values a message lists.
_LISTED = 4
# Strings libelf copies into 16-byte buffers, so only their first 15 characters count.
_KEPT_SHORT = (N.LOADER, N.GUEST_OS, N.GUEST_VERSION, N.XEN_VERSION)


class DuplicateNote(Rule):
    code = "XL004"
    name = "duplicate-note"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "a Xen note type given twice: the last one wins, or the first 'yes' sticks"
    explanation = """
No Xen release detects duplicate notes (3.1 to 4.22). Each note Xen parses overwrites what
an earlier one of the same type set, so for ENTRY, HYPERCALL_PAGE, VIRT_BASE, PADDR_OFFSET,
the string notes, HV_START_LOW, INIT_P2M, MOD_START_PFN, PHYS32_ENTRY, PHYS32_RELOC and
the rest the last note wins, silently, and the kernel boots with that value: a warning for
every Xen target, naming the value Xen uses. PVH loaders pick their PHYS32_ENTRY their own
way; one that boots another entry than Xen's is an error for that loader target. Two notes
with different values are a bug in one of them; two equal ones are harmless today but the
next edit changes one and not the other.
FEATURES and SUPPORTED_FEATURES accumulate (their bits are ORed), so repeating them is fine.
PAE_MODE and BSD_SYMTAB are only ever switched on: PAE_MODE "yes" selects extended-cr3 and
any value containing "bimodal" selects bimodal, BSD_SYMTAB "yes" loads the symbol table,
and a later "no" undoes neither.
Only types the targeted release parses count; a type it does not know is ignored (XL007).
"""
    fix = """
Keep one note of each type, with the value Xen should use, and delete the others.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # Cells whose releases read notes alike share one parse (and its list of used notes):
        # each list is judged once for all of them, not once per cell (65536 notes).
        groups: dict[tuple[int, bool], list[Cell]] = {}
        used: dict[tuple[int, bool], list[Note]] = {}
        # Most images hold each note type once: then no cell sees a type twice.
        repeated = len({note.type for note in ctx.image.notes}) < len(ctx.image.notes)
        for cell, parse in ctx.xen_pairs if repeated else ():
            key = (id(parse.used), _bounded(cell))
            groups.setdefault(key, []).append(cell)
            used[key] = parse.used
        for key, group in groups.items():
            cells = tuple(group)  # one tuple for all this group's results, not one each
            by_type: dict[int, list[Note]] = {}
            # Xen takes no value from an unterminated string on hardened releases. This loop
            # runs once per note per shared parse (65,536 notes): no call per note.
            skip_unterminated = _bounded(cells[0])
            for note in used[key]:
                if skip_unterminated and note.type in _STRING_TYPES and not note.string_terminated:
                    continue
                by_type.setdefault(note.type, []).append(note)
            for number, notes in by_type.items():
                kind = N.BY_NUMBER[number]
                if len(notes) < 2:
                    continue
                if kind in N.LAST_WINS:
                    yield from _last_wins(ctx.image, cells, kind, notes)
                elif kind in _STICKY:
                    yield from _sticky(cells, kind, notes)
        yield from _loaders(ctx)


_STRING_TYPES = frozenset(k.number for k in N.NOTE_TYPES if k.kind is N.DescKind.STRING)


def _bounded(cell: Cell) -> bool:
    return cell.xen is not None and cell.xen.bounded_reads


def _loaders(ctx: Context) -> Iterator[Result]:
    """PVH loaders read PHYS32_ENTRY their own way (QEMU the last match, linux-loader the
    first note of the last PT_NOTE, ...): with two different entries, a loader that boots
    another one than Xen's (the last note) really fails where Xen does not, an error."""
    entries = [n for n in ctx.image.notes if n.type == N.PHYS32_ENTRY.number]
    values = {numeric(ctx.image, n) & N.PHYS32_UNSET for n in entries}
    if len(entries) < 2 or len(values) < 2:
        return
    xen = numeric(ctx.image, entries[-1]) & N.PHYS32_UNSET
    for cell in ctx.loader_cells:
        reading = ctx.loader(cell)
        if reading.path != "pvh" or reading.entry is None or reading.entry == xen:
            continue
        note = reading.note
        where = (
            Location("PHYS32_ENTRY", f"PT_NOTE segment {note.segment.index}", note.offset)
            if note is not None
            else None
        )
        yield Result(
            (cell,),
            f"PHYS32_ENTRY given {len(entries)} times with different values: this loader boots "
            f"{reading.entry:#x}, while Xen keeps the last note, {xen:#x}",
            where,
            Severity.ERROR,
            "keep one PHYS32_ENTRY note with the intended entry and delete the others",
        )


def _last_wins(
    image: Image, cells: tuple[Cell, ...], kind: N.NoteType, notes: list[Note]
) -> Iterator[Result]:
    for earlier, later in itertools.pairwise(notes):
        old, new = display(image, earlier), display(image, later)
        head = f"{kind.name} given twice"
        fix = (
            f"delete one of the two {kind.name} notes "
            f"(at {earlier.offset:#x} and {later.offset:#x})"
        )
        if _kept(image, kind, earlier) == _kept(image, kind, later):
            message = (
                f"{head} with the same value {new} (at {earlier.offset:#x} and "
                f"{later.offset:#x}): harmless now, but Xen uses only the later one, so an "
                "edit of the earlier one would have no effect"
            )
            yield Result(cells, message, Location.of_note(later), Severity.WARNING, fix)
        else:
            message = (
                f"{head} with different values: {old} at {earlier.offset:#x}, then {new} at "
                f"{later.offset:#x}; Xen silently keeps the later one, {new}"
            )
            fix = (
                f"keep one {kind.name} note with the intended value and delete the other "
                f"({old} at {earlier.offset:#x} or {new} at {later.offset:#x})"
            )
            # Xen boots with the later value (libelf keeps the last note of a type and never
            # refuses a duplicate), so this is a warning: the target does not fail
            yield Result(cells, message, Location.of_note(later), Severity.WARNING, fix)


def _kept(image: Image, kind: N.NoteType, note: Note) -> object:
    """The value Xen keeps from the note: the number, the (truncated) string, the words."""
    if kind.kind is N.DescKind.NUMERIC:
        return numeric(image, note)
    if kind.kind is N.DescKind.STRING:
        text = string_value(note)
        return text[: N.STRING_KEEP] if kind in _KEPT_SHORT else text
    return (note.descsz, note.desc)


def _sticky(cells: tuple[Cell, ...], kind: N.NoteType, notes: list[Note]) -> Iterator[Result]:
    values = [string_value(n) for n in notes]
    later = notes[-1]
    # A few values, not all of them: a hostile image repeats a note 65,536 times.
    listing = ", then ".join(
        f"{quoted(v)} at {n.offset:#x}" for v, n in zip(values[:_LISTED], notes, strict=False)
    )
    if len(notes) > _LISTED:
        listing += f", and {len(notes) - _LISTED} more"
    fix = f"keep one {kind.name} note with the intended value and delete the others"
    times = "twice" if len(notes) == 2 else f"{len(notes)} times"
    if len(set(values)) == 1:
        message = (
            f"{kind.name} given {times} with the same value {quoted(values[0])}: "
            "harmless now, but editing only one of them may have no effect"
        )
        yield Result(cells, message, Location.of_note(later), Severity.WARNING, fix)
        return
    message = (
        f"{kind.name} given {times} with different values ({listing}): Xen only "
        f"ever switches it on, so the result is {_sticky_result(kind, values)}, not "
        "simply the last value"
    )
    yield Result(cells, message, Location.of_note(later), Severity.WARNING, fix)


def _sticky_result(kind: N.NoteType, values: list[str]) -> str:
    """Replay libelf: PAE_MODE 'yes' sets extended-cr3, '*bimodal*' sets bimodal; BSD_SYMTAB
    'yes' sets it; nothing resets either."""
    if kind is N.BSD_SYMTAB:
        return "the symbol table loaded" if "yes" in values else "no symbol table"
    state = "no PAE"
    for value in values:
        if value == "yes":
            state = "PAE with extended-cr3 ('yes')"
        if "bimodal" in value:
            state = "bimodal PAE"
    return state


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [DuplicateNote()]
