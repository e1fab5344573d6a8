"""XL006: a descriptor whose size or termination does not suit its note type, so libelf reads
something else than the kernel meant: a 0, or a string that runs on past the descriptor."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.escape import quoted
from xenlint.image.decode import words
from xenlint.image.model import Image, Note
from xenlint.replay.xen import XenParse, addresses

_SIZES = "/".join(str(s) for s in N.NUMERIC_SIZES)
_WORD = 4  # SUPPORTED_FEATURES is an array of 32-bit words
# Notes whose descriptor sizes other rules judge: PHYS32_ENTRY (XL204), PHYS32_RELOC (XL205).
# By number: tested once per note (65536 notes), where comparing NoteType records is Python.
_ELSEWHERE = frozenset({N.PHYS32_ENTRY.number, N.PHYS32_RELOC.number})
_BROKEN = "marks the ELF broken (a log line only)"


class NoteDescriptor(Rule):
    code = "XL006"
    name = "note-descriptor"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "a note descriptor whose size or termination makes Xen read 0 or the wrong string"
    explanation = f"""
libelf decodes descriptors by type, with no error for a bad size (all releases):
- numeric notes (ENTRY, VIRT_BASE, HYPERCALL_PAGE, ...) must be {_SIZES} bytes; any other
  size reads as 0 silently, and the note still counts as given. ENTRY read as 0 lies
  outside the image, so a PV boot fails with "ELF start or entries are out of bounds";
- string notes are read up to the first NUL, not bounded by descsz: without a NUL inside
  the descriptor Xen reads on into the padding and the next note. From 4.3 (and 4.1.6,
  4.2.3) a string without a NUL within {N.STRING_BOUND} bytes is skipped;
- SUPPORTED_FEATURES (from 4.2) is an array of 32-bit words: a size that is not a multiple
  of 4 makes every word read 0, so the bitmap contributes nothing, and a dom0 whose dom0
  bit came only from it is refused with "Kernel does not support Dom0 operation";
- L1_MFN_VALID is a list of mask/value pairs of the ELF's word size; no Xen code reads it.
Only releases that parse a type are judged (see XL007). PHYS32_ENTRY sizes are XL204's,
PHYS32_RELOC sizes (every word reads 0 unless descsz is a multiple of 4) XL205's.
"""
    fix = f"""
Emit numbers as .long or .quad ({_SIZES} bytes), strings with .asciz so the NUL is inside
descsz, and SUPPORTED_FEATURES as one whole 32-bit word (.long).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # One pass over the notes, not one per cell: an image may hold 65536 notes and be
        # judged in dozens of cells. A note fine for one cell is fine for all (every check
        # below starts with a size or termination test that no cell changes), so only a bad
        # note is judged per cell, and cells with the same verdict share one Result.
        parses = ctx.xen_pairs
        # Per note type, the first cell whose release parses it (most notes are fine, and
        # that one cell says so) and, for a note that is not, all of them.
        firsts: dict[int, tuple[Cell, XenParse] | None] = {}
        parsers: dict[int, list[tuple[Cell, XenParse]]] = {}
        for note in ctx.image.notes:
            kind = N.BY_NUMBER.get(note.type)
            if kind is None or note.type in _ELSEWHERE or note.truncated:  # XL204, XL205; XL003
                continue
            if note.type not in firsts:
                firsts[note.type] = next(
                    ((c, p) for c, p in parses if note.type in p.release.known_notes), None
                )
            first = firsts[note.type]
            if first is None or _judge(ctx.image, *first, kind, note) is None:
                continue
            cells = parsers.get(note.type)
            if cells is None:
                cells = [(c, p) for c, p in parses if note.type in p.release.known_notes]
                parsers[note.type] = cells
            verdicts: dict[Verdict, list[Cell]] = {}
            for cell, parse in cells:
                found = _judge(ctx.image, cell, parse, kind, note)
                if found is not None:
                    verdicts.setdefault(found, []).append(cell)
            for (message, severity, fix), judged in verdicts.items():
                yield Result(tuple(judged), message, Location.of_note(note), severity, fix)


Verdict = tuple[str, Severity, str]


def _judge(
    image: Image, cell: Cell, parse: XenParse, kind: N.NoteType, note: Note
) -> Verdict | None:
    if kind.kind is N.DescKind.NUMERIC:
        return _numeric(image, parse, kind, note)
    if kind.kind is N.DescKind.STRING:
        return _string(cell, kind, note)
    if kind.kind is N.DescKind.BITMAP:
        return _bitmap(image, cell, parse, note)
    if kind.kind is N.DescKind.PAIRS:
        return _pairs(image, note)
    return None


def _numeric(image: Image, parse: XenParse, kind: N.NoteType, note: Note) -> Verdict | None:
    if note.descsz in N.NUMERIC_SIZES:
        return None
    directive = ".quad" if image.elf_class == 64 else ".long"
    message = (
        f"{kind.name} has a {note.descsz}-byte descriptor: Xen reads only {_SIZES}-byte "
        f"numbers and silently takes {kind.name} as 0"
    )
    fix = (
        f"emit {kind.name} as a {directive}: ELFNOTE(Xen, XEN_ELFNOTE_{kind.name}, {directive} ...)"
    )
    last = image.notes_of(kind)[-1] is note  # the ENTRY Xen keeps
    if kind is N.ENTRY and not parse.hvm and last:
        # entry 0 fails only where libelf's bounds check (inclusive) really excludes it
        if addresses(image, parse).out_of_bounds is not None:
            message += (
                f", an entry point outside the kernel: Xen refuses it with '{M.OUT_OF_BOUNDS}'"
            )
            return message, Severity.ERROR, fix
        message += " (the kernel's virtual range contains 0, so Xen accepts it and enters there)"
    return message, Severity.WARNING, fix


def _string(cell: Cell, kind: N.NoteType, note: Note) -> Verdict | None:
    fix = f"write {kind.name} with .asciz so its NUL is inside descsz"
    if not note.string_terminated:
        assert cell.xen is not None
        if cell.xen.bounded_reads:
            what = f"Xen skips the note and {_BROKEN}"
        else:
            what = "this release reads on until some NUL, far past the note"
        message = (
            f"{kind.name} has no NUL within {N.STRING_BOUND} bytes or before the end of the "
            f"file: {what}"
        )
        return message, Severity.WARNING, fix
    # The string starts at the descriptor, so its length says where the NUL is: inside the
    # descriptor, or right after it. (Not `note.desc`, which keeps only a descriptor's first
    # bytes once an image's kept descriptors pass their budget.)
    if len(note.string) < note.descsz:
        return None
    seen = note.string.decode("latin-1")
    if len(note.string) == note.descsz:
        # Linux's own FEATURES note is written with .ascii this way: every Xen reads it right,
        # so it is worth knowing, not worth a warning on every distribution kernel.
        message = (
            f"{kind.name} has no NUL inside its {note.descsz}-byte descriptor: Xen reads on "
            f"and finds one in the padding, so it gets {quoted(seen)} as meant, but tools that "
            "trust descsz need not"
        )
        return message, Severity.INFO, fix
    message = (
        f"{kind.name} has no NUL inside its {note.descsz}-byte descriptor: Xen reads on "
        f"past it (into the padding and the next note) and gets {quoted(seen)}"
    )
    return message, Severity.WARNING, fix


def _bitmap(image: Image, cell: Cell, parse: XenParse, note: Note) -> Verdict | None:
    if note.descsz and note.descsz % _WORD == 0:
        return None
    size = "is empty" if not note.descsz else f"has {note.descsz} bytes, not whole 32-bit words"
    message = (
        f"SUPPORTED_FEATURES {size}: libelf's array read gives 0, so the bitmap contributes "
        "no feature"
    )
    fix = "make SUPPORTED_FEATURES exactly one 32-bit word: .long <feature mask>"
    release = cell.xen
    assert release is not None
    checked = (cell.mode is Mode.PV_DOM0 and release.dom0_bit_check_pv) or (
        cell.mode is Mode.PVH_DOM0 and release.dom0_bit_check_pvh
    )
    meant = words(image, note.desc, _WORD)
    lost_dom0 = bool(meant) and meant[0] >> F.DOM0.bit & 1
    if checked and lost_dom0 and not parse.supported >> F.DOM0.bit & 1:
        message += (
            ", not even the dom0 bit it means to set, and its presence makes Xen refuse the "
            f"dom0: '{M.NO_DOM0}'"
        )
        fix = f"make SUPPORTED_FEATURES the one 32-bit word it means: .long {meant[0]:#x}"
        return message, Severity.ERROR, fix
    return message, Severity.WARNING, fix


def _pairs(image: Image, note: Note) -> Verdict | None:
    word = image.elf_class // 8
    if note.descsz and note.descsz % (2 * word) == 0:
        return None
    message = (
        f"L1_MFN_VALID has {note.descsz} bytes, not whole {word}-byte mask/value pairs; no Xen "
        "code reads it, but note dumpers (readnotes) show nothing for it"
    )
    fix = f"give L1_MFN_VALID whole pairs of {word}-byte words (mask, value)"
    return message, Severity.INFO, fix


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NoteDescriptor()]
