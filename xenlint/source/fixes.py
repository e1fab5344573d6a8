"""Fixes written in the syntax of the file a finding points into.

A fix rewrites the note as the file writes it: the same macro and argument form (Linux's and
Xen's 3-argument ELFNOTE, FreeBSD's and NetBSD's 4-argument one), raw directives, or NASM.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xenlint.abi import features as F

if TYPE_CHECKING:
    from xenlint.source.check import NoteAt
    from xenlint.source.model import NoteSection, SourceFile

_QUOTED = re.compile(r"'(!?[A-Za-z_]\w*)'")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _note_line(note: NoteAt, type_name: str, directive: str, value: str) -> str:
    """One note in the form the file uses for `note`."""
    inv = note.section.invocations.get(note.offset)
    form = inv.form if inv is not None else ("nasm" if note.source.syntax == "nasm" else "raw")
    owner = inv.owner if inv is not None else "Xen"
    if form == "elfnote4":
        return f"ELFNOTE({owner}, XEN_ELFNOTE_{type_name}, {directive}, {value})"
    if form == "elfnote3":
        return f"ELFNOTE({owner}, XEN_ELFNOTE_{type_name}, {directive} {value})"
    if form == "nasm":
        nasm = {".long": "dd", ".quad": "dq", ".asciz": "db", ".ascii": "db"}[directive]
        text = f"{value}, 0" if directive == ".asciz" else value
        return f"{nasm} {text}    ; the XEN_ELFNOTE_{type_name} descriptor"
    return f"{directive} {value}    /* the XEN_ELFNOTE_{type_name} descriptor */"


def for_features(note: NoteAt, message: str) -> str | None:
    """FEATURES without the names the message quotes; the known ones as SUPPORTED_FEATURES
    bits."""
    inv = note.section.invocations.get(note.offset)
    text = inv.desc_text if inv is not None else ""
    m = _STRING.search(text) if text else None
    if m is None:
        data = bytes(note.section.data[note.desc_start : note.desc_end])
        current = data.split(b"\0", 1)[0].decode("utf-8", "replace")
    else:
        current = m.group(1)
    bad = {n.lstrip("!") for n in _QUOTED.findall(message)}
    if not bad:
        return None
    kept = [n for n in current.split("|") if n.lstrip("!") not in bad]
    directive = ".asciz"
    if inv is not None and inv.desc_text.lstrip().startswith(".ascii "):
        directive = ".ascii"
    lines = [_note_line(note, "FEATURES", directive, '"' + "|".join(kept) + '"')]
    bits = [n for n in sorted(bad) if n in F.BY_NAME]
    if bits:
        value = " | ".join(f"(1 << XENFEAT_{n})" for n in bits)
        if note.source.syntax == "nasm":
            value = " | ".join(f"(1 << {F.BY_NAME[n].bit})" for n in bits)
        existing = _supported_features(note)
        if existing is not None:
            old, directive = existing
            missing = [n for n in bits if n not in old]
            added = " | ".join(f"(1 << XENFEAT_{n})" for n in missing)
            value = f"{old} | {added}" if missing else old
        else:
            directive = ".long"
        lines.append(_note_line(note, "SUPPORTED_FEATURES", directive, value))
    return "\n".join(lines)


def _supported_features(note: NoteAt) -> tuple[str, str] | None:
    """(value text, directive) of the file's SUPPORTED_FEATURES note, to extend it."""
    for sec in note.source.sections:
        for inv in sec.invocations.values():
            if inv.type_text.strip() != "XEN_ELFNOTE_SUPPORTED_FEATURES":
                continue
            text = " ".join(inv.desc_text.replace("\\", " ").split())
            directive, _, value = text.partition(" ")
            return value.lstrip(", ").strip(), directive.rstrip(",")
    return None


def for_finding(code: str, note: NoteAt, message: str) -> str | None:
    """The fix for an image rule's finding on a source note, or None for the rule's own."""
    if code in ("XL401", "XL402", "XL403", "XL406") and note.type_name == "FEATURES":
        return for_features(note, message)
    if code in ("XL002", "XL501"):
        return section_fix(note.source, note.section)
    return None


def phys32_fix(note: NoteAt, symbol: str, base: str, evidence: str) -> str:
    """PHYS32_ENTRY as a physical address: the symbol minus the tree's base."""
    if note.source.syntax == "object":
        return (
            f"write PHYS32_ENTRY as the physical address ({symbol} - {base}) in the source "
            "that assembles this object"
        )
    inv = note.section.invocations.get(note.offset)
    directive = ".quad"
    if inv is not None:
        words = inv.desc_text.replace(",", " ").split()
        directive = words[0] if words else directive
    value = evidence.replace("(x)", f"({symbol})") if "(x)" in evidence else f"({symbol} - {base})"
    return _note_line(note, "PHYS32_ENTRY", directive, value)


def section_fix(src: SourceFile, sec: NoteSection) -> str:
    """The section directive that makes an allocated SHT_NOTE section."""
    if src.syntax == "nasm":
        return f"SECTION {sec.name} note alloc noexec nowrite align=4"
    return f'.pushsection {sec.name}, "a", @note    (and .popsection after the notes)'
