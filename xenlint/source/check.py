"""Judge the notes of source files with the same rules and targets as images.

The note sections the sources write are laid out as the object files would carry them, in
one small ELF: each allocated SHT_NOTE section under a PT_NOTE of its own (what ld does for
them without a linker script saying otherwise), the others as sections only. The image loader
reads that ELF exactly as it reads a kernel, and the rules whose verdict depends only on what
the source decides (note types, strings, constant bitmaps, descriptor widths, section flags)
judge it; a finding is then moved back to the statement that wrote the bytes. Rules about the
whole kernel (a missing note, entry addresses, the load range) wait for the linked image: a
source file is one piece of it, and symbol values are known only after linking.

Two checks are the source's own, under the codes of the image rules whose verdict they
predict: a PHYS32_ENTRY written as a bare symbol in a tree that subtracts a base from its link
addresses (XL201, or XL202 for a 4-byte value), and a Xen note section the assembler does not
make SHT_NOTE at all (NASM's default for `.note.*` names; XL001: Xen finds nothing).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xenlint.abi import notes as N
from xenlint.abi.elf import ELF_MAGIC
from xenlint.abi.profile import Profile
from xenlint.engine.check import Finding, cells_for, run_rules
from xenlint.engine.rule import Cell, Location, Severity
from xenlint.image.elf import parse_elf
from xenlint.image.model import Image, ImageError
from xenlint.record import replace  # Finding is a Record, not a dataclass
from xenlint.source import fixes
from xenlint.source.model import Item, NoteSection, Origin, SourceFile

# Rules whose verdict the source alone decides; the others need the linked image.
SOURCE_RULES = (
    "XL002",  # notes only in sections: the note section is not allocated (no "a")
    "XL003",  # malformed note
    "XL004",  # a note type given twice
    "XL006",  # descriptor size and termination of strings and numbers
    "XL204",  # PHYS32_ENTRY descriptor width
    "XL401",
    "XL402",
    "XL403",
    "XL404",
    "XL406",
    "XL501",  # PHYS32_ENTRY only in a section: no PT_NOTE for the PVH loaders
    "XL503",  # note owner
)
# XL006 reports at info a string whose NUL sits in the padding (Linux's `.ascii` FEATURES):
# that is how every Linux kernel is written and the linked image reports it; at commit time
# only what breaks a target is worth a line.
QUIET_INFO = ("XL006",)

ELF_HEADER = 64
PHDR = 56
SHDR = 64


@dataclass(frozen=True)
class _Placed:
    source: SourceFile
    section: NoteSection
    offset: int  # file offset of the section's data in the synthetic ELF


@dataclass(frozen=True)
class NoteAt:
    """One note written by a source file, as the assembler lays it out."""

    source: SourceFile
    section: NoteSection
    offset: int  # section offset of the note header
    type: int
    owner: bytes
    desc_start: int
    desc_end: int

    @property
    def type_name(self) -> str:
        return N.type_name(self.type)

    @property
    def desc_items(self) -> list[Item]:
        return self.section.items_in(self.desc_start, self.desc_end)

    @property
    def origin(self) -> Origin:
        """The descriptor's first statement (where a value is written), or the note's."""
        inv = self.section.invocations.get(self.offset)
        if inv is not None and inv.desc_origin is not None:
            return inv.desc_origin
        items = [i for i in self.desc_items if i.directive not in (".balign", ".align", ".p2align")]
        if items:
            return items[0].origin
        if inv is not None and inv.origin is not None:
            return inv.origin
        head = self.section.item_at(self.offset)
        return head.origin if head else self.section.origin


def walk_notes(src: SourceFile, sec: NoteSection) -> list[NoteAt]:
    """The notes of a section as any ELF note walk finds them (4-byte padding)."""
    out, pos, data = [], 0, bytes(sec.data)
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        name_end = pos + 12 + namesz
        desc_start = pos + 12 + ((namesz + 3) & ~3)
        desc_end = desc_start + descsz
        if desc_end > len(data):
            break
        owner = data[pos + 12 : name_end].split(b"\0", 1)[0]
        out.append(NoteAt(src, sec, pos, ntype, owner, desc_start, desc_end))
        pos = (desc_end + 3) & ~3
    return out


def synthesize(sources: Sequence[SourceFile]) -> tuple[bytes, list[_Placed]]:
    """An ELF64 x86-64 file holding every note section of `sources` (see the module doc)."""
    sections = [(s, sec) for s in sources for sec in s.sections]
    phdrs = [(s, sec) for s, sec in sections if sec.alloc and sec.is_note]
    offset = ELF_HEADER + PHDR * len(phdrs)
    placed: list[_Placed] = []
    body = bytearray()
    for src, sec in sections:
        align = max(sec.align, 4)
        pad = (-(offset + len(body))) % align
        body.extend(b"\0" * pad)
        placed.append(_Placed(src, sec, offset + len(body)))
        body.extend(sec.data)
    names = bytearray(b"\0")
    name_at = []
    for _, sec in sections:
        name_at.append(len(names))
        names.extend(sec.name.encode() + b"\0")
    shstrtab_name = len(names)
    names.extend(b".shstrtab\0")
    shstr_off = offset + len(body)
    body.extend(names)
    body.extend(b"\0" * ((-(offset + len(body))) % 8))
    shoff = offset + len(body)
    shnum = len(sections) + 2
    header = ELF_MAGIC + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, ELF_HEADER if phdrs else 0, shoff, 0,
        ELF_HEADER, PHDR, len(phdrs), SHDR, shnum, shnum - 1,
    )  # fmt: skip
    ph = bytearray()
    by_sec = {id(p.section): p for p in placed}
    for _, sec in phdrs:
        p = by_sec[id(sec)]
        ph += struct.pack(
            "<IIQQQQQQ", 4, 4, p.offset, 0, 0, len(sec.data), len(sec.data), max(sec.align, 1)
        )
    sh = bytearray(b"\0" * SHDR)
    for (_, sec), at in zip(sections, name_at, strict=False):
        p = by_sec[id(sec)]
        kind = 7 if sec.is_note else 1
        flags = 2 if sec.alloc else 0
        sh += struct.pack(
            "<IIQQQQIIQQ", at, kind, flags, 0, p.offset, len(sec.data), 0, 0, max(sec.align, 1), 0
        )
    sh += struct.pack("<IIQQQQIIQQ", shstrtab_name, 3, 0, 0, shstr_off, len(names), 0, 0, 1, 0)
    return bytes(header + ph + body + sh), placed


def check_sources(
    sources: Sequence[SourceFile],
    profiles: Sequence[Profile] | Callable[[Image], Sequence[Profile]],
    modes: object,
    universe: Sequence[Profile],
    rules_for: object,
    registry_rules: dict[str, object],
    severity: dict[str, Severity],
) -> tuple[list[Finding], list[str]]:
    """Findings for the Xen notes of `sources`, each at the file:line:column that wrote it.
    `rules_for(path)` gives the rules selected for a path (per-file ignores apply)."""
    with_notes = [s for s in sources if any(walk_notes(s, sec) for sec in s.sections)]
    if not with_notes:
        return [], []
    data, _ = synthesize(with_notes)
    try:
        image = parse_elf(data, "<sources>")
    except ImageError as exc:  # pragma: no cover - the file is ours
        return [], [f"source notes could not be laid out: {exc}"]
    # The tree decides the modes (a PHYS32_ENTRY in one file makes the kernel PVH); each
    # file is judged on its own notes: two files of a tree are rarely linked into one kernel
    # (FreeBSD's amd64 and i386 locore), so a note type in both is no duplicate.
    if callable(profiles):  # the settings' default filter, applied to the tree's notes
        profiles = profiles(image)
    cells = cells_for(image, profiles, modes)  # type: ignore[arg-type]
    notes = [n for s in with_notes for sec in s.sections for n in walk_notes(s, sec)]
    findings: list[Finding] = []
    errors: list[str] = []
    for src in with_notes:
        codes = [r.code for r in rules_for(src.path) if r.code in SOURCE_RULES]  # type: ignore[attr-defined,operator]
        own_data, own_placed = synthesize([src])
        own_image = parse_elf(own_data, src.path)
        own_notes = [n for n in notes if n.source is src]
        chosen = [registry_rules[c] for c in codes]
        found, crashed = run_rules(own_image, chosen, cells, universe, severity)  # type: ignore[arg-type]
        errors.extend(crashed)
        for f in found:
            moved = _move(f, own_placed, own_notes)
            if moved is None:
                continue
            note, origin = moved
            if f.code in QUIET_INFO and f.severity is Severity.INFO:
                continue
            f = replace(
                f,
                message=_lines_for_offsets(f.message, own_placed, own_notes),
                fix=_lines_for_offsets(f.fix, own_placed, own_notes),
            )
            findings.append(_at(f, note, origin, _fix(f, note)))
    extra = own_checks(with_notes, notes, cells, rules_for, registry_rules, universe, severity)
    findings.extend(extra)
    return _dedupe(findings), errors


def _lines_for_offsets(message: str, placed: list[_Placed], notes: list[NoteAt]) -> str:
    """Offsets in the laid-out ELF mean nothing in a source: say `line N` for a note's."""
    where: dict[int, str] = {}
    for p in placed:
        for n in notes:
            if n.section is p.section:
                line = n.origin.line
                where[p.offset + n.offset] = f"line {line}" if line > 0 else f"{n.offset:#x}"

    def repl(m: re.Match[str]) -> str:
        value = int(m.group(2), 16)
        return m.group(1) + where[value] if value in where else m.group(0)

    return re.sub(r"((?:at|and) )(0x[0-9a-f]+)", repl, message)


def _move(f: Finding, placed: list[_Placed], notes: list[NoteAt]) -> tuple[NoteAt, Origin] | None:
    """The note a finding's file offset falls in, and the statement to point at."""
    loc = f.location
    if loc is None or loc.offset is None:
        return None
    for p in placed:
        if p.offset <= loc.offset < p.offset + max(len(p.section.data), 1):
            rel = loc.offset - p.offset
            inside = [n for n in notes if n.section is p.section and n.offset <= rel]
            if not inside:
                return None
            note = inside[-1]
            if f.code in ("XL002", "XL501"):  # about the section: its directive's line
                return note, p.section.origin
            return note, note.origin
    return None


def _location(note: NoteAt, origin: Origin) -> Location:
    """A source line and column; in an object, the note's file offset instead."""
    if note.section.file_offset is not None or origin.line < 1:
        offset = note.section.file_offset
        return Location(
            note=note.type_name,
            container=f"section {note.section.name}",
            offset=None if offset is None else offset + note.offset,
        )
    return Location(
        note=note.type_name,
        container=f"section {note.section.name}",
        line=origin.line,
        column=origin.column,
    )


def _at(f: Finding, note: NoteAt, origin: Origin, fix: str) -> Finding:
    return replace(f, path=note.source.path, location=_location(note, origin), fix=fix)


def _fix(f: Finding, note: NoteAt) -> str:
    return fixes.for_finding(f.code, note, f.message) or f.fix


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.path, f.code, f.message, f.location, f.targets, f.modes)
        if key not in seen:
            seen.add(key)
            out.append(f)
    out.sort(
        key=lambda f: (f.path, f.location.line if f.location and f.location.line else 0, f.code)
    )
    return out


def own_checks(
    sources: Sequence[SourceFile],
    notes: list[NoteAt],
    cells: Sequence[Cell],
    rules_for: object,
    registry_rules: dict[str, object],
    universe: Sequence[Profile],
    severity: dict[str, Severity],
) -> list[Finding]:
    """The checks only a source can make (module doc): virtual PHYS32_ENTRY, PROGBITS notes."""
    out: list[Finding] = []
    bases = [(src, use) for src in sources for use in src.base_uses]
    for note in notes:
        allowed = {r.code for r in rules_for(note.source.path)}  # type: ignore[attr-defined,operator]
        if note.type == N.PHYS32_ENTRY.number and note.owner == N.XEN_OWNER:
            values = [i for i in note.desc_items if i.width]
            expr = values[0].expr if len(values) == 1 else None
            symbol = expr.bare_symbol if expr is not None else None
            base = _base_evidence(note.source, bases, notes)
            if symbol and base is not None:
                code = "XL201" if values[0].width == 8 else "XL202"
                if code not in allowed:
                    continue
                rule = registry_rules[code]
                # The cells XL201 judges in an image: Xen releases booting the PVH mode.
                xen = tuple(
                    c
                    for c in cells
                    if c.xen is not None
                    and c.mode.is_pvh
                    and c.mode in c.xen.modes
                    and N.PHYS32_ENTRY.number in c.xen.known_notes
                )
                if not xen:
                    continue
                where, text, base_sym = base
                shown = expr.text if expr is not None else symbol
                message = (
                    f"PHYS32_ENTRY is the bare symbol '{shown}', a virtual link address in a "
                    f"tree that subtracts a base for physical ones ({text} at {where}): "
                    + (
                        "Xen keeps only its low 32 bits and jumps into nowhere"
                        if code == "XL201"
                        else "Xen jumps to it as a physical address outside the kernel"
                    )
                )
                fix = fixes.phys32_fix(note, symbol, base_sym, text)
                out.append(_finding(rule, note, note.origin, message, xen, fix, severity))
    for src in sources:
        for sec in src.sections:
            if sec.is_note or "XL001" not in {r.code for r in rules_for(src.path)}:  # type: ignore[attr-defined,operator]
                continue
            xen_notes = [n for n in walk_notes(src, sec) if n.owner == N.XEN_OWNER]
            if not xen_notes:
                continue
            rule = registry_rules["XL001"]
            message = (
                f"section {sec.name} is SHT_PROGBITS, not SHT_NOTE: the linker makes no PT_NOTE "
                "for it and Xen, which reads PT_NOTE segments and SHT_NOTE sections only, finds "
                f"none of its {len(xen_notes)} Xen note{'s' if len(xen_notes) != 1 else ''}"
            )
            fix = fixes.section_fix(src, sec)
            xen = tuple(c for c in cells if c.xen is not None) or tuple(cells)
            note = xen_notes[0]
            out.append(_finding(rule, note, sec.origin, message, xen, fix, severity))
    return out


def _base_evidence(
    src: SourceFile,
    bases: list[tuple[SourceFile, tuple[Origin, str, str]]],
    notes: list[NoteAt],
) -> tuple[str, str, str] | None:
    """(where, what, base symbol) showing the tree subtracts a base from link addresses: a
    base-subtracting macro, or another note whose value subtracts a symbol."""
    own = [b for s, b in bases if s is src]
    for origin, text, base in own + [b for s, b in bases if s is not src]:
        return f"{_short(origin)}", text, base
    for other in notes:
        for item in other.desc_items:
            if item.expr is None or item.expr.opaque:
                continue
            if item.expr.subtracts and not item.expr.subtracts[0].startswith("section:"):
                return _short(item.origin), item.expr.text, item.expr.subtracts[0]
            # In an object a constant base is folded into the addend: `sym - 0xffff...`.
            if item.expr.constant <= -(1 << 20):
                return _short(item.origin), item.expr.text, f"{-item.expr.constant:#x}"
    # A VIRT_BASE the tree sets to a non-zero constant: link addresses are virtual.
    for other in notes:
        if other.type_name == "VIRT_BASE" and other.owner == N.XEN_OWNER:
            items = [i for i in other.desc_items if i.width]
            value = items[0].value if len(items) == 1 else None
            raw = bytes(other.section.data[other.desc_start : other.desc_end])
            if not items and len(raw) in (4, 8):  # an object: constants are plain bytes
                value = int.from_bytes(raw, "little")
            if value:
                where = _short(items[0].origin) if items else _short(other.origin)
                return where, f"VIRT_BASE {value:#x}", f"{value:#x}"
    return None


def _short(origin: Origin) -> str:
    name = origin.path.rsplit("/", 1)[-1]
    return f"{name}:{origin.line}" if origin.line > 0 else name


def _finding(
    rule: object,
    note: NoteAt,
    origin: Origin,
    message: str,
    cells: Sequence[Cell],
    fix: str,
    severity: dict[str, Severity],
) -> Finding:
    code = rule.code  # type: ignore[attr-defined]
    profiles = list({c.profile.name: c.profile for c in cells}.values())
    modes = tuple(dict.fromkeys(c.mode.value for c in cells))
    return Finding(
        path=note.source.path,
        code=code,
        name=rule.name,  # type: ignore[attr-defined]
        severity=severity.get(code, rule.severity),  # type: ignore[attr-defined]
        message=message,
        targets=tuple(p.name for p in profiles),
        modes=modes,
        location=_location(note, origin),
        fix=fix,
        cells=tuple(cells),
    )
