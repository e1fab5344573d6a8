"""Read the Xen notes a NASM source (`.asm`, `.nasm`) writes, without assembling it.

What NASM does with a section it is given (NASM 2.16.01, output/outelf.c's section table;
checked with the real `nasm -f elf64` by tests/test_source.py): `SECTION .note` is SHT_NOTE
without SHF_ALLOC, aligned to 4; any other name it does not know, `.note.Xen` included, is
SHT_PROGBITS with SHF_ALLOC. Only the `note` keyword makes a `.note.*` section SHT_NOTE and
`alloc` allocates it: `SECTION .note.Xen note alloc noexec nowrite align=4`.
Handled: `%define`, single-line `%macro`/`%endmacro` bodies with `%1`...`%9`, labels (local
`.name` too), `db`/`dw`/`dd`/`dq` with strings and expressions, `align N[, db 0]`,
`times N db 0`, `$`. `align` without a fill pads with NOPs (0x90), as NASM does.
"""

from __future__ import annotations

import re

from xenlint.source.asm import _split_args
from xenlint.source.expr import Linear, evaluate
from xenlint.source.model import Expr, Invocation, Item, NoteSection, Origin, SourceFile

WIDTHS = {"db": 1, "dw": 2, "dd": 4, "dq": 8}
_LABEL = re.compile(r"^\s*([A-Za-z_.?$][\w.?$@#~]*)\s*:")
_KNOWN_NOTE = ".note"  # the one note section name NASM knows (SHT_NOTE, no SHF_ALLOC)


def _strip_comment(line: str) -> str:
    out, quote = [], ""
    for c in line:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'`":
            quote = c
        elif c == ";":
            break
        out.append(c)
    return "".join(out)


def _nasm_string(text: str) -> bytes | None:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        return text[1:-1].encode("utf-8", "replace")
    return None


def read_nasm(path: str, text: str) -> SourceFile:
    """The note sections of a NASM source."""
    raw_lines = text.split("\n")
    defines: dict[str, str] = {}
    macros: dict[str, tuple[int, list[tuple[str, int]]]] = {}
    # Expand %define and %macro first, keeping each statement's source line.
    stmts: list[tuple[str, Origin]] = []
    in_macro: tuple[str, int, list[tuple[str, int]]] | None = None
    for number, raw in enumerate(raw_lines, 1):
        line = _strip_comment(raw).strip()
        low = line.lower()
        if in_macro is not None:
            if low.startswith("%endmacro"):
                macros[in_macro[0]] = (in_macro[1], in_macro[2])
                in_macro = None
            else:
                in_macro[2].append((line, number))
            continue
        if low.startswith("%macro"):
            parts = line.split()
            if len(parts) >= 3 and parts[2].split("-")[0].isdigit():
                in_macro = (parts[1], int(parts[2].split("-")[0]), [])
            continue
        if low.startswith(("%define", "%xdefine")):
            parts = line.split(None, 2)
            if len(parts) >= 2:
                defines[parts[1]] = parts[2] if len(parts) > 2 else ""
            continue
        if low.startswith("%"):
            continue
        word = line.split(None, 1)[0] if line else ""
        if word in macros:
            count, body = macros[word]
            args = _split_args(line[len(word) :]) if count else []
            for body_line, _ in body:
                expanded = re.sub(
                    r"%(\d)",
                    lambda m, a=args: a[int(m.group(1)) - 1] if int(m.group(1)) <= len(a) else "",
                    body_line,
                )
                stmts.append((expanded, Origin(path, number, raw.find(word) + 1)))
            continue
        stmts.append((line, Origin(path, number, len(raw) - len(raw.lstrip()) + 1)))

    def expand(text: str) -> str:
        for _ in range(16):
            new = re.sub(r"[A-Za-z_][\w]*", lambda m: defines.get(m.group(0), m.group(0)), text)
            if new == text:
                break
            text = new
        return text

    sections: dict[str, NoteSection] = {}
    labels: dict[str, tuple[str, int]] = {}

    def run(emit: bool) -> None:
        current: str | None = None
        last_global = ""
        for sec in sections.values():
            sec.data = bytearray()
            sec.items = []
            sec.invocations = {}
        for text, origin in stmts:
            m = _LABEL.match(text)
            if m:
                name = m.group(1)
                full = (
                    last_global + name
                    if name.startswith(".") and not name.startswith("..")
                    else name
                )
                if not name.startswith("."):
                    last_global = name
                if current in sections and not emit:
                    labels[full] = (current, len(sections[current].data))
                text = text[m.end() :].strip()
            if not text:
                continue
            word, _, rest = text.partition(" ")
            low = word.lower()
            if low in ("section", "segment", "[section", "[segment"):
                parts = rest.strip().rstrip("]").split()
                name = parts[0] if parts else ""
                attrs = [a.lower() for a in parts[1:]]
                if name.startswith(".note") and name not in sections:
                    is_note = "note" in attrs or (name == _KNOWN_NOTE and "progbits" not in attrs)
                    alloc = "alloc" in attrs or (name != _KNOWN_NOTE and "noalloc" not in attrs)
                    align = 4 if name == _KNOWN_NOTE else 1
                    for a in attrs:
                        if a.startswith("align=") and a[6:].isdigit():
                            align = int(a[6:])
                    col = raw_lines[origin.line - 1].lower().find(low) + 1
                    sections[name] = NoteSection(
                        name,
                        Origin(path, origin.line, max(col, 1)),
                        alloc,
                        is_note,
                        align,
                        flags_text=" ".join(parts[1:]),
                    )
                current = name
                continue
            if current not in sections:
                continue
            sec = sections[current]
            start = len(sec.data)
            if low == "align":
                args = _split_args(rest)
                n = evaluate(expand(args[0]), lambda _n: None) if args and args[0] else 1
                fill = b"\0" if len(args) > 1 else b"\x90"
                if isinstance(n, int) and n > 0:
                    sec.data.extend(fill * ((-len(sec.data)) % n))
                if emit and len(sec.data) > start:
                    sec.items.append(Item(start, len(sec.data), origin, directive="align"))
                continue
            if low == "times":
                count_text, _, body = rest.strip().partition(" ")
                n = evaluate(expand(count_text), lambda _n: None)
                w = WIDTHS.get(body.strip().split(" ")[0].lower(), 1)
                if isinstance(n, int) and 0 <= n < 1 << 16:
                    sec.data.extend(b"\0" * (n * w))
                continue
            width = WIDTHS.get(low)
            if width is None:
                continue
            for arg in _split_args(rest):
                at = len(sec.data)
                string = _nasm_string(arg)
                if string is not None:
                    sec.data.extend(string + b"\0" * ((-len(string)) % width))
                    if emit:
                        sec.items.append(
                            Item(at, len(sec.data), _col(origin, raw_lines, arg), directive=low)
                        )
                    continue
                value: int | Expr = 0
                if emit:
                    # `.local` labels are not identifiers to the evaluator; `$` is here.
                    prepared = re.sub(r"(?<![\w.])\.([A-Za-z_]\w*)", r"__loc_\1", expand(arg))
                    prepared = prepared.replace("$", f"__here_{len(sec.data)}")
                    value = evaluate(
                        prepared,
                        lambda n, cur=current, lg=last_global: _lookup(
                            n, labels, sections, cur, lg
                        ),
                    )
                sec.emit_value(value, width, low, _col(origin, raw_lines, arg) if emit else None)
        for sec in sections.values():
            if emit:
                _mark_notes(sec)

    run(False)
    run(True)
    return SourceFile(path, "nasm", list(sections.values()), raw_lines)


def _col(origin: Origin, raw_lines: list[str], arg: str) -> Origin:
    raw = raw_lines[origin.line - 1] if 0 < origin.line <= len(raw_lines) else ""
    at = raw.find(arg.strip()[:20])
    return Origin(origin.path, origin.line, at + 1) if at >= 0 else origin


def _lookup(
    name: str,
    labels: dict[str, tuple[str, int]],
    sections: dict[str, NoteSection],
    current: str | None,
    last_global: str,
) -> Linear | int | None:
    if name.startswith("__here_") and current is not None:
        return {f"section:{current}": 1}, int(name[len("__here_") :])
    if name.startswith("__loc_"):
        name = "." + name[len("__loc_") :]
    full = last_global + name if name.startswith(".") else name
    found = labels.get(full) or labels.get(name)
    if found is None or found[0] not in sections:
        return None
    return {f"section:{found[0]}": 1}, found[1]


def _mark_notes(sec: NoteSection) -> None:
    """Each note's header statement is where the note is written (NASM has no note macro in
    its distribution, so trees write the header fields themselves)."""
    pos, data = 0, bytes(sec.data)
    while pos + 12 <= len(data):
        namesz = int.from_bytes(data[pos : pos + 4], "little")
        descsz = int.from_bytes(data[pos + 4 : pos + 8], "little")
        head = sec.item_at(pos)
        desc_at = pos + 12 + ((namesz + 3) & ~3)
        desc = sec.item_at(desc_at) if descsz else None
        if head is not None:
            sec.invocations.setdefault(
                pos,
                Invocation(
                    "nasm",
                    "",
                    "Xen",
                    origin=head.origin,
                    desc_origin=desc.origin if desc is not None else head.origin,
                ),
            )
        nxt = (desc_at + descsz + 3) & ~3
        if nxt <= pos:
            break
        pos = nxt
