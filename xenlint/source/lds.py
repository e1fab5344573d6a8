"""Linker scripts: whether the Xen notes end up under a PT_NOTE, and in one that stays 4-aligned.

What GNU ld does (ld manual, "PHDRS Command", "Output Section Phdr", "Input Section Basics"):
- without PHDRS, ld makes a PT_NOTE for the allocated SHT_NOTE output sections itself;
- with PHDRS, ld makes exactly the program headers listed: a script whose PHDRS has no
  PT_NOTE gives the kernel none, and the Xen notes are only in section headers (XL002; PVH
  loaders never see them, XL501);
- an output section is in the segments named by its `:phdr` list, and a section without one
  is in the segments of the last section that had one (that is why Linux ends its NOTES with
  `__restore_ph : { ... } :text`);
- an input section goes to the first output statement in the script whose pattern matches it,
  `/DISCARD/` included: `.note.gnu.property` (8-aligned, emitted for x86-64 objects by
  binutils 2.36+ and by -fcf-protection) collected by the Xen notes' output section raises
  its alignment, and the PT_NOTE's p_align, to 8 (XL502 for loaders that step by p_align).
A `.lds.S` is read through the same cpp subset as assembly (xenlint.source.asm), and the
`#include`d headers it names are read for their `#define`s when they are found in the tree
(an `include/` directory above the script, as Linux's `<asm-generic/vmlinux.lds.h>`).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from xenlint.abi.profile import Mode
from xenlint.engine.check import Finding
from xenlint.engine.rule import Cell, Location, Severity
from xenlint.source.asm import Preprocessor, strip_comments
from xenlint.source.model import Origin, SourceFile

PROPERTY = ".note.gnu.property"
DEFAULT_XEN_SECTIONS = (".note.Xen",)
MAX_INCLUDES = 16


@dataclass
class OutputSection:
    name: str
    origin: Origin
    patterns: list[str]  # input section name patterns, in order
    phdrs: list[str]  # the `:phdr` names written after it
    explicit_property: bool = False  # `.note.gnu.property` named, not only matched by a wildcard


@dataclass
class Script:
    path: str
    phdrs: list[tuple[str, str, Origin]] | None  # (name, type, origin); None: no PHDRS command
    phdrs_origin: Origin | None
    sections: list[OutputSection] = field(default_factory=list)
    mentions_notes: bool = False  # "note" appears in SECTIONS (a NOTES macro not expanded)


def _resolve_include(path: str, name: str) -> str | None:
    """A header the script includes, looked up in the script's directory and in every
    `include/` and `arch/*/include/` directory above it (a kernel tree's layout)."""
    here = os.path.dirname(os.path.abspath(path))
    candidates = [os.path.join(here, name)]
    d = here
    for _ in range(8):
        candidates.append(os.path.join(d, "include", name))
        arch = os.path.join(d, "arch")
        if os.path.isdir(arch):
            for sub in sorted(os.listdir(arch))[:64]:
                candidates.append(os.path.join(arch, sub, "include", name))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return next((c for c in candidates if os.path.isfile(c)), None)


def preprocess(path: str, text: str) -> tuple[str, list[int]]:
    """The script after the cpp subset, one output line per physical line kept, with the
    source line of each (so findings point into the script)."""
    pre = Preprocessor(path, text, hash_comments=False)
    if path.endswith(".S") or "#include" in text or "#define" in text:
        # Headers first: their #defines feed the script's own. Read only in a tree.
        for m in re.finditer(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', text, re.M):
            header = _resolve_include(path, m.group(1))
            if header is None or len(pre.macros) > 10000:
                continue
            try:
                with open(header, encoding="utf-8", errors="replace") as fh:
                    hdr = Preprocessor(header, fh.read(), hash_comments=False)
            except OSError:
                continue
            hdr.macros.update(pre.macros)  # what the script defined before the include
            before = dict(hdr.macros)
            _ = hdr.lines()
            for name, macro in hdr.macros.items():
                if name not in before or before[name] is not macro:
                    pre.macros.setdefault(name, macro)
    lines = pre.lines()
    out_lines = [pre.expand(line.text) for line in lines]
    return "\n".join(out_lines), [line.origin.line for line in lines]


def parse(path: str, text: str) -> Script:
    """PHDRS and the output sections of SECTIONS (name, input patterns, phdr list)."""
    body, line_of = preprocess(path, text)
    body = strip_comments(body, hash_comments=False)
    offsets = [0]
    for part in body.split("\n"):
        offsets.append(offsets[-1] + len(part) + 1)

    def origin(at: int) -> Origin:
        idx = max(0, min(len(line_of) - 1, _bisect(offsets, at) - 1))
        return Origin(path, line_of[idx] if line_of else 1, 1)

    script = Script(path, None, None)
    m = re.search(r"\bPHDRS\s*\{", body)
    if m:
        end = body.find("}", m.end())
        script.phdrs = []
        script.phdrs_origin = origin(m.start())
        for entry in re.finditer(r"([A-Za-z_][\w.]*)\s+(PT_\w+|\d+)", body[m.end() : end]):
            script.phdrs.append((entry.group(1), entry.group(2), origin(m.end() + entry.start())))
    for sm in re.finditer(r"\bSECTIONS\s*\{", body):
        _sections(body, sm.end(), script, origin)
        script.mentions_notes = script.mentions_notes or "note" in body[sm.end() :].lower()
    return script


def _bisect(offsets: list[int], at: int) -> int:
    lo, hi = 0, len(offsets)
    while lo < hi:
        mid = (lo + hi) // 2
        if offsets[mid] <= at:
            lo = mid + 1
        else:
            hi = mid
    return lo


_TAIL = re.compile(r"(?:\s*(?:>\s*\w+|AT\s*>\s*\w+|:\s*[A-Za-z_]\w*|=\s*(?:0[xX])?[0-9a-fA-F]+))*")


def _sections(body: str, start: int, script: Script, origin: object) -> None:
    """Walk one SECTIONS block: each `header { inputs } tail` at its top level whose header
    has a `:` (outside parentheses) is an output section; `;` ends other statements."""
    pos, header_at, depth = start, start, 0
    while pos < len(body):
        c = body[pos]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0:
            header_at = pos + 1
        elif c == "}" and depth == 0:
            return  # the end of SECTIONS
        elif c == "{" and depth == 0:
            end = _match_brace(body, pos)
            if end < 0:
                return
            header = body[header_at:pos]
            flat = re.sub(r"\([^()]*\)", "", header)
            if ":" in flat:
                name = flat.split(":", 1)[0].split()
                tail = _TAIL.match(body, end + 1)
                tail_text = tail.group(0) if tail else ""
                phdrs = re.findall(r":\s*([A-Za-z_]\w*)", tail_text)
                patterns = _patterns(body[pos + 1 : end])
                at = header_at + len(header) - len(header.lstrip())
                sec = OutputSection(name[0] if name else "?", origin(at), patterns, phdrs)  # type: ignore[operator]
                sec.explicit_property = PROPERTY in patterns
                script.sections.append(sec)
                pos = end + 1 + len(tail_text)
            else:
                pos = end + 1
            header_at = pos
            continue
        pos += 1


def _match_brace(text: str, at: int) -> int:
    depth = 0
    for i in range(at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _patterns(inside: str) -> list[str]:
    """Input section name patterns: the words of the innermost parentheses of each input
    statement (`*(.note.*)`, `KEEP(*(.note.Xen))`, `*(SORT(.init_array.*))`) that name
    sections, not files or numbers."""
    out: list[str] = []
    for m in re.finditer(r"\(([^()]*)\)", inside):
        for word in m.group(1).split():
            if word.startswith((".", "__")) or ("*" in word and word != "*" and "/" not in word):
                out.append(word)
    return out


def first_match(script: Script, name: str) -> OutputSection | None:
    """The output statement an input section of this name goes to (the first that matches)."""
    for sec in script.sections:
        if any(fnmatch.fnmatchcase(name, p) for p in sec.patterns):
            return sec
    return None


def in_note_segment(script: Script, target: OutputSection) -> bool | None:
    """Whether `target` is in a PT_NOTE: None when the script has no PHDRS (ld decides)."""
    if script.phdrs is None:
        return None
    note_names = {n for n, t, _ in script.phdrs if t in ("PT_NOTE", "4")}
    current: list[str] = []
    for sec in script.sections:
        if sec.name == "/DISCARD/":
            continue
        if sec.phdrs:
            current = sec.phdrs
        if sec is target:
            return bool(set(current) & note_names)
    return False


@dataclass(frozen=True)
class Problem:
    code: str
    origin: Origin
    message: str
    fix: str
    loader_only: bool = False
    p_align_only: bool = False
    severity: Severity | None = None
    where: str = ""  # "PHDRS", "output section .notes"


def problems(script: Script, xen_sections: Sequence[str]) -> list[Problem]:
    """What the script does to the Xen notes; see the module doc for the ld facts."""
    out = []
    for p in _problems(script, xen_sections):
        m = re.search(r"output section (\S+)", p.message)
        where = (
            "PHDRS"
            if p.message.startswith("PHDRS")
            else f"output section {m.group(1)}"
            if m
            else ""
        )
        out.append(replace(p, where=where))
    return out


def _problems(script: Script, xen_sections: Sequence[str]) -> list[Problem]:
    out: list[Problem] = []
    target = None
    for name in xen_sections:
        target = first_match(script, name)
        if target is not None:
            break
    no_note_phdr = script.phdrs is not None and not any(
        t in ("PT_NOTE", "4") for _, t, _ in script.phdrs
    )
    if target is None and no_note_phdr and script.mentions_notes:
        origin = script.phdrs_origin or Origin(script.path, 1)
        fix = (
            "add `note PT_NOTE FLAGS(4);` to PHDRS and `:text :note` after the notes' output "
            "section"
        )
        out.append(
            Problem(
                "XL002",
                origin,
                "PHDRS lists no PT_NOTE, so ld makes none: the Xen notes are only in section "
                "headers",
                fix,
            )
        )
        out.append(
            Problem(
                "XL501",
                origin,
                "PHDRS lists no PT_NOTE: the PVH loaders, which read program headers only, find "
                "no PHYS32_ENTRY note",
                fix,
                loader_only=True,
            )
        )
        return out
    if target is None or target.name == "/DISCARD/":
        if target is not None:
            out.append(
                Problem(
                    "XL001",
                    target.origin,
                    f"/DISCARD/ collects {xen_sections[0]}: the kernel is linked without its "
                    "Xen notes",
                    f"remove the pattern matching {xen_sections[0]} from /DISCARD/",
                )
            )
        return out
    note_fix = (
        "add `note PT_NOTE FLAGS(4);` to PHDRS and put the notes' output section in it: "
        f"{target.name} : {{ *({xen_sections[0]}) }} :text :note (then give the next output "
        "section its own `:text` so it leaves the note segment)"
    )
    if script.phdrs is not None and not any(t in ("PT_NOTE", "4") for _, t, _ in script.phdrs):
        origin = script.phdrs_origin or target.origin
        out.append(
            Problem(
                "XL002",
                origin,
                "PHDRS lists no PT_NOTE, so ld makes none: the Xen notes in "
                f"{target.name} are only in section headers",
                note_fix,
            )
        )
        out.append(
            Problem(
                "XL501",
                origin,
                "PHDRS lists no PT_NOTE: the PVH loaders, which read program headers only, "
                "find no PHYS32_ENTRY note",
                note_fix,
                loader_only=True,
            )
        )
    elif in_note_segment(script, target) is False:
        out.append(
            Problem(
                "XL002",
                target.origin,
                f"output section {target.name}, which collects the Xen notes, is in no PT_NOTE "
                "segment (its :phdr list, or the one it inherits, names none): the notes are "
                "only in section headers",
                note_fix,
            )
        )
        out.append(
            Problem(
                "XL501",
                target.origin,
                f"output section {target.name} is in no PT_NOTE segment: the PVH loaders find "
                "no PHYS32_ENTRY note",
                note_fix,
                loader_only=True,
            )
        )
    prop = first_match(script, PROPERTY)
    if prop is target:
        discard_fix = (
            f"/DISCARD/ : {{ *({PROPERTY}) }} before {target.name}, or name only the Xen "
            f"notes in it: {target.name} : {{ *({xen_sections[0]}) }}"
        )
        if target.explicit_property:
            msg = (
                f"output section {target.name} collects {PROPERTY} (8-aligned) with the Xen "
                "notes: the PT_NOTE's p_align becomes 8 and loaders stepping by p_align read "
                "the wrong bytes as the PVH entry"
            )
            out.append(Problem("XL502", target.origin, msg, discard_fix, True, True))
        else:
            pattern = next(p for p in target.patterns if fnmatch.fnmatchcase(PROPERTY, p))
            msg = (
                f"output section {target.name} would collect {PROPERTY} through '{pattern}' "
                "(no /DISCARD/ before it takes that section): if an input object carries one "
                "(gcc -fcf-protection, an as built with --enable-x86-used-note), the PT_NOTE's "
                "p_align becomes 8 for loaders stepping by p_align; the linked image tells"
            )
            out.append(Problem("XL502", target.origin, msg, discard_fix, True, True, Severity.INFO))
    return out


def check_scripts(
    paths: Sequence[str],
    sources: Sequence[SourceFile],
    cells: Sequence[Cell],
    rules_for: object,
    registry_rules: dict[str, object],
    severity: dict[str, Severity],
    read_text: object,
) -> list[Finding]:
    """Findings for each linker script; the Xen note section names come from the sources
    checked with it (`.note.Xen` when none says otherwise)."""
    names = [sec.name for s in sources for sec in s.sections if sec.is_note] or list(
        DEFAULT_XEN_SECTIONS
    )
    names = list(dict.fromkeys(names))
    out: list[Finding] = []
    for path in paths:
        text = read_text(path)  # type: ignore[operator]
        script = parse(path, text)
        allowed = {r.code for r in rules_for(path)}  # type: ignore[attr-defined,operator]
        for prob in problems(script, names):
            if prob.code not in allowed or prob.code not in registry_rules:
                continue
            chosen = [
                c
                for c in cells
                if (c.loader is not None) == prob.loader_only
                and (not prob.p_align_only or (c.loader is not None and c.loader.walks_p_align))
            ]
            if not chosen:
                continue
            rule = registry_rules[prob.code]
            default = prob.severity if prob.severity is not None else rule.severity  # type: ignore[attr-defined]
            sev = severity.get(prob.code, default)
            profiles = list({c.profile.name: c.profile for c in chosen}.values())
            col = _column(text, prob.origin.line)
            out.append(
                Finding(
                    path=path,
                    code=prob.code,
                    name=rule.name,  # type: ignore[attr-defined]
                    severity=sev,
                    message=prob.message,
                    targets=tuple(p.name for p in profiles),
                    modes=tuple(dict.fromkeys(c.mode.value for c in chosen)),
                    location=Location(container=prob.where, line=prob.origin.line, column=col),
                    fix=prob.fix,
                    cells=tuple(chosen),
                )
            )
    return out


def _column(text: str, line: int) -> int:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return 1
    raw = lines[line - 1]
    return len(raw) - len(raw.lstrip()) + 1


def default_cells(profiles: Sequence[object], modes: Sequence[Mode] | None) -> list[Cell]:
    """Cells for a script checked without sources: the named modes, or PV and PVH."""
    wanted = tuple(modes) if modes else (Mode.PV, Mode.PVH)
    cells = []
    for p in profiles:
        for m in wanted:
            if m in p.modes:  # type: ignore[attr-defined]
                cells.append(Cell(p, m))  # type: ignore[arg-type]
        if p.fixed_modes and not modes:  # type: ignore[attr-defined]
            cells.extend(Cell(p, m) for m in p.modes if m not in wanted)  # type: ignore[arg-type,attr-defined]
    return cells
