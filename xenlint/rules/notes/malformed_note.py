"""XL003: note streams whose sizes do not add up, and what each Xen release makes of them:
the XSA-55 hardening (4.3, backported to 4.1.6 and 4.2.3) bounds every read by the file."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.abi.xen import XenRelease
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity, group_cells
from xenlint.image.model import Note, NoteProblem

_BROKEN = "marks the ELF broken (a log line only)"
_UNBOUNDED = "whatever memory follows the image, which is undefined and may crash the loader"


class MalformedNote(Rule):
    code = "XL003"
    name = "malformed-note"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "a note whose sizes run past its segment, section or the file, or a bad name"
    explanation = f"""
Xen walks a note region from its start while the current note begins before the region's
end: the next note is at header + round_up(namesz, 4) + round_up(descsz, 4). It never
checks that a note fits its region, so a note straddling the end is read from the bytes
that follow, and only the file bounds what is read:
- 4.3 and later, and the backports in 4.1.6 and 4.2.3 (XSA-55): reads stay inside the
  file. A value running past the end of the file reads as 0, a name or string without a
  NUL before the end of the file (or within {N.STRING_BOUND} bytes) makes Xen skip the note,
  notes after the {N.MAX_NOTES}th are ignored, and each of these marks the ELF "broken",
  which is only logged.
- Earlier releases (3.1 to 4.2.2 except 4.1.6) read past the end of the image into
  whatever memory follows: undefined, from garbage values to a crash of the loader.
A descriptor cut off by the end of the file (as some boot-loader tools produce) therefore
still boots on a hardened release as long as what Xen needs is inside the file.
Xen matches the owner name as a C string and ignores namesz, so "Xen" with namesz 3 or 8
is still a Xen note to it; other loaders (the rust-vmm linux-loader behind Firecracker and
Cloud Hypervisor) require namesz 4 and skip such a PHYS32_ENTRY note.
"""
    fix = """
Let the assembler lay out the notes (ELFNOTE(Xen, type, value) from Linux's or Xen's
elfnote.h): namesz 4 for "Xen\\0", descsz the real descriptor size, each part padded to
4 bytes, and the whole note inside its PT_NOTE segment / SHT_NOTE section and the file.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        notes_at: dict[int, Note] = {}  # an index, not a scan per problem (65535 of each)
        for n in ctx.image.notes:
            notes_at.setdefault(n.offset, n)
        # The message depends on a cell only through XSA-55 (bounded reads): the cells are
        # split once, not once per problem (an image may have 65535 problems, 100 cells).
        groups = group_cells((cell, _release(cell).bounded_reads) for cell in ctx.xen_cells)
        every = tuple(ctx.xen_cells)
        for problem in ctx.image.problems:
            note = notes_at.get(problem.offset)
            location = Location(_note_name(problem), problem.container.describe(), problem.offset)
            severity = _severity(problem)
            messages = {bounded: _message(problem, note, bounded) for bounded in groups}
            if len(set(messages.values())) == 1:
                verdicts = {next(iter(messages.values())): every}
            else:
                verdicts = {messages[bounded]: cells for bounded, cells in groups.items()}
            for message, cells in verdicts.items():
                yield Result(cells, message, location, severity, _fix(problem))


def _note_name(problem: NoteProblem) -> str | None:
    if problem.note_type is None or not problem.xen:
        return None
    return N.type_name(problem.note_type)


def _severity(problem: NoteProblem) -> Severity:
    """A namesz only other loaders care about is worth a warning where one of them needs the
    note (the PVH entry), and is information otherwise; everything else is a warning."""
    if problem.kind == "name-size":
        pvh_entry = problem.note_type == N.PHYS32_ENTRY.number
        return Severity.WARNING if pvh_entry else Severity.INFO
    return Severity.WARNING


def _message(problem: NoteProblem, note: Note | None, bounded: bool) -> str:
    return f"{problem.detail}: {_consequence(problem, note, bounded)}"


def _consequence(problem: NoteProblem, note: Note | None, bounded: bool) -> str:
    """What Xen does about the problem, in the releases with (bounded) or without XSA-55."""
    kind = problem.kind
    if kind == "name-size":
        return (
            "Xen still matches the name, but loaders that require namesz 4 ('Xen' and its "
            "NUL), such as the rust-vmm linux-loader in Firecracker and Cloud Hypervisor, "
            "skip the note"
        )
    if kind == "header-past-container":
        return "Xen still reads this note, from the bytes after the region, and stops there"
    if kind == "past-container":
        return "Xen reads the rest of the descriptor from the bytes after the region"
    if kind == "too-many":
        if bounded:
            return f"Xen ignores every later note and {_BROKEN}"
        return "this release has no limit and reads them all"
    if kind == "name-unterminated":
        if bounded:
            return f"Xen skips the note and {_BROKEN}"
        return f"this release reads on until some NUL, past the end of the file into {_UNBOUNDED}"
    if kind == "container-past-file":
        if bounded:
            return f"Xen reads the notes up to the end of the file, ignores the rest and {_BROKEN}"
        return f"this release reads on past the end of the file into {_UNBOUNDED}"
    return _past_file(note, bounded)


def _past_file(note: Note | None, bounded: bool) -> str:
    """A note cut off by the end of the file: what Xen reads depends on the descriptor kind."""
    known = N.BY_NUMBER.get(note.type) if note is not None else None
    if note is None or known is None:
        if bounded:
            return f"Xen ignores what is cut off and {_BROKEN}"
        return f"this release reads the missing bytes from {_UNBOUNDED}"
    if known.kind is N.DescKind.STRING and note.string_terminated:
        return "Xen reads the string up to its NUL, which is inside the file, and boots"
    if known.kind is N.DescKind.STRING:
        if bounded:
            return f"no NUL before the end of the file: Xen skips the note and {_BROKEN}"
        return f"no NUL before the end of the file: this release reads on into {_UNBOUNDED}"
    if bounded and known.kind is N.DescKind.NUMERIC:
        return f"Xen reads the value as 0 and {_BROKEN}"
    if bounded:
        return f"Xen reads the words past the end of the file as 0 and {_BROKEN}"
    return f"this release reads the missing bytes from {_UNBOUNDED}"


def _fix(problem: NoteProblem) -> str:
    if problem.kind == "name-size":
        return "set namesz to 4 and write the name as 'Xen\\0' (as ELFNOTE(Xen, ...) does)"
    if problem.kind == "name-unterminated":
        return "end the note name with a NUL counted in namesz ('Xen\\0', namesz 4)"
    if problem.kind == "too-many":
        return f"remove the surplus notes: Xen reads at most {N.MAX_NOTES} notes in all"
    if problem.kind == "container-past-file":
        return "make p_filesz / sh_size match the bytes the note region really has in the file"
    return (
        "fix namesz/descsz so the note, padded to 4 bytes, ends inside its region and the "
        "file, or restore the bytes that were cut off"
    )


def _release(cell: Cell) -> XenRelease:
    assert cell.xen is not None  # ctx.xen_cells are Xen cells
    return cell.xen


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [MalformedNote()]
