"""Read the Xen notes a GNU as source writes (`.S` through cpp, `.s`), without building it.

The reader does what cpp and as would do to the note sections and nothing more:
- cpp: comments, `\\` continuations, `#define` (object- and function-like, `#` and `##`),
  `#undef` and conditionals. A condition on a macro the file does not define (a `CONFIG_*`
  option, an include guard) takes its first branch, so each note is read once; headers are not
  read (a commit hook sees one file, not a configured tree).
- The note macros real trees use when their definition is in a header: Linux's and Xen's
  3-argument `ELFNOTE(name, type, desc)` (include/linux/elfnote.h, xen/include/xen/elfnote.h)
  and FreeBSD's and NetBSD's 4-argument `ELFNOTE(name, type, desctype, descdata...)`
  (sys/x86/include/asmacros.h, sys/arch/*/include/asm.h); every one of them pushes
  `.note.<name>` with flags "a" and @note and pads name and descriptor to 4 bytes. A file that
  defines ELFNOTE itself is expanded with its own definition. `_ASM_PTR` is Linux's pointer
  directive (arch/x86/include/asm/asm.h), `.quad` on x86-64.
- as: the section stack (`.pushsection`, `.section`, `.popsection`, `.previous`, `.text`...),
  the data directives and alignment inside note sections, labels (numeric local labels with
  `f`/`b` too), and constant expressions. A `.note*` section opened without flags is SHT_NOTE
  without SHF_ALLOC (GNU as 2.40, checked by tests/test_source.py with the real `as`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from xenlint.source.expr import Linear, evaluate
from xenlint.source.model import Expr, Invocation, Item, NoteSection, Origin, SourceFile

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CPP = re.compile(
    r"^\s*#\s*(define|undef|ifdef|ifndef|if|elif|else|endif|include|error|warning)\b(.*)$", re.S
)
_LABEL = re.compile(r"^\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")
# Data directives and the bytes per value (x86: .word is 2 bytes, .int and .long 4).
WIDTHS = {
    ".byte": 1,
    ".2byte": 2,
    ".short": 2,
    ".word": 2,
    ".hword": 2,
    ".value": 2,
    ".4byte": 4,
    ".long": 4,
    ".int": 4,
    ".8byte": 8,
    ".quad": 8,
}
BUILTIN_OBJECT_MACROS = {"_ASM_PTR": ".quad"}
NOTE_MACROS = ("ELFNOTE",)
MAX_EXPANSION = 64  # nested macro expansions, so a pathological #define cannot hang us
MAX_EXPANDED = 1 << 20  # characters one statement may expand to


@dataclass
class Macro:
    params: tuple[str, ...] | None  # None for an object-like macro
    body: str
    origin: Origin
    variadic: bool = False


@dataclass
class Line:
    text: str
    origin: Origin


def strip_comments(text: str, hash_comments: bool) -> str:
    """Blank out /* */ and // comments (and `#` line comments of plain `.s` files) outside
    strings, keeping every newline so line numbers stay right."""
    out: list[str] = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
            at_line_start = False
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
            continue
        if text.startswith("//", i) or (hash_comments and c == "#" and at_line_start):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        at_line_start = c == "\n" or (at_line_start and c in " \t")
        out.append(c)
        i += 1
    return "".join(out)


def _outside_strings(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, parenthesis depth after it) for each character of `text` from
    `start` that is not inside a string literal (backslash escapes the next character)."""
    depth, in_str, i = 0, False, start
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        else:
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            yield i, c, depth
        i += 1


def _split(text: str, sep: str, *, nested: bool) -> list[str]:
    """Split at `sep` outside strings; with `nested`, only outside parentheses too."""
    parts, last = [], 0
    for i, c, depth in _outside_strings(text):
        if c == sep and (depth == 0 or not nested):
            parts.append(text[last:i])
            last = i + 1
    parts.append(text[last:])
    return parts


def _split_args(text: str) -> list[str]:
    """Split macro arguments at top-level commas (parentheses and strings nest)."""
    return [a.strip() for a in _split(text, ",", nested=True)]


def _split_statements(text: str) -> list[str]:
    """Split at `;` outside strings (the x86 statement separator)."""
    return _split(text, ";", nested=False)


def _find_close(text: str, start: int) -> int:
    """Index of the `)` closing the `(` at `start`, or -1."""
    for i, c, depth in _outside_strings(text, start):
        if c == ")" and depth == 0:
            return i
    return -1


def parse_string(text: str) -> bytes | None:
    """The bytes of one as string literal ("...", C escapes), or None if it is not one."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    body, out, i = text[1:-1], bytearray(), 0
    simple = {"n": 10, "t": 9, "r": 13, "b": 8, "f": 12, "\\": 92, '"': 34, "'": 39, "0": 0}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                j = i + 1
                while j < len(body) and j < i + 4 and body[j] in "01234567":
                    j += 1
                out.append(int(body[i + 1 : j], 8) & 0xFF)
                i = j
                continue
            if nxt == "x":
                j = i + 2
                while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(int(body[i + 2 : j] or "0", 16) & 0xFF)
                i = j
                continue
            out.append(simple.get(nxt, ord(nxt) & 0xFF))
            i += 2
            continue
        out.extend(c.encode("utf-8", "replace"))
        i += 1
    return bytes(out)


class Preprocessor:
    """The part of cpp the note sections need; see the module docstring."""

    def __init__(self, path: str, text: str, hash_comments: bool) -> None:
        self.path = path
        self.raw_lines = text.split("\n")
        self.text = strip_comments(text, hash_comments)
        self.macros: dict[str, Macro] = {}
        self.undefined: set[str] = set()

    def lines(self) -> list[Line]:
        """Logical lines outside false conditionals, with their first physical line."""
        physical = self.text.split("\n")
        out: list[Line] = []
        stack: list[tuple[bool, bool]] = []  # (this branch active, some branch taken)
        i = 0
        while i < len(physical):
            start = i
            text = physical[i]
            while text.endswith("\\") and i + 1 < len(physical):
                i += 1
                text = text[:-1] + " " + physical[i]
            i += 1
            origin = Origin(self.path, start + 1, 1)
            active = all(a for a, _ in stack)
            m = _CPP.match(text)
            if m:
                self._directive(m.group(1), m.group(2).strip(), origin, stack, active)
                continue
            if text.lstrip().startswith("#"):
                continue  # `# 12 "file"` line markers, stray cpp lines
            if active:
                out.append(Line(text, origin))
        return out

    def _known(self, name: str) -> bool | None:
        if name in self.macros:
            return True
        if name in self.undefined:
            return False
        return None

    def _condition(self, kind: str, arg: str) -> bool:
        if kind in ("ifdef", "ifndef"):
            known = self._known(arg.split()[0] if arg else "")
            if known is None:
                return True  # unknown: the first branch
            return known if kind == "ifdef" else not known

        # #if / #elif: defined(X) and literals; anything unknown takes the branch.
        def repl(m: re.Match[str]) -> str:
            known = self._known(m.group(1))
            if known is None:
                raise ValueError
            return "1" if known else "0"

        try:
            expr = re.sub(r"defined\s*\(?\s*([A-Za-z_]\w*)\s*\)?", repl, arg)
            expr = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
            expr = expr.replace(" not =", "!=")
            if re.search(r"[A-Za-z_]\w*", re.sub(r"\b(and|or|not)\b", "", expr)):
                return True
            return bool(eval(expr, {"__builtins__": {}}))  # digits and and/or/not only
        except Exception:
            return True

    def _directive(
        self,
        kind: str,
        arg: str,
        origin: Origin,
        stack: list[tuple[bool, bool]],
        active: bool,
    ) -> None:
        if kind in ("ifdef", "ifndef", "if"):
            take = active and self._condition(kind, arg)
            stack.append((take, take))
        elif kind == "elif" and stack:
            _, taken = stack[-1]
            parent = all(a for a, _ in stack[:-1])
            take = parent and not taken and self._condition("if", arg)
            stack[-1] = (take, taken or take)
        elif kind == "else" and stack:
            _, taken = stack[-1]
            parent = all(a for a, _ in stack[:-1])
            stack[-1] = (parent and not taken, True)
        elif kind == "endif" and stack:
            stack.pop()
        elif kind == "define" and active:
            m = re.match(r"([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$", arg, re.S)
            if m:
                params = None
                variadic = False
                if m.group(2) is not None:
                    plist = [p.strip() for p in m.group(3).split(",") if p.strip()]
                    if plist and plist[-1].endswith("..."):
                        variadic = True
                        plist[-1] = plist[-1][:-3].strip() or "__VA_ARGS__"
                    params = tuple(plist)
                self.macros[m.group(1)] = Macro(params, m.group(4).strip(), origin, variadic)
                self.undefined.discard(m.group(1))
        elif kind == "undef" and active:
            name = arg.split()[0] if arg else ""
            self.macros.pop(name, None)
            self.undefined.add(name)

    def expand(self, text: str) -> str:
        """Expand the file's object-like and function-like macros in `text`, as cpp does: a
        macro's expansion is rescanned with that macro disabled (so a self-referential
        #define stops), arguments are expanded before they are substituted."""
        return self._expand(text, frozenset(), 0)

    def _macro(self, name: str) -> Macro | None:
        macro = self.macros.get(name)
        if macro is None and name in BUILTIN_OBJECT_MACROS and name not in self.undefined:
            macro = Macro(None, BUILTIN_OBJECT_MACROS[name], Origin(self.path, 0))
        return macro

    def _expand(self, text: str, disabled: frozenset[str], depth: int) -> str:
        if depth > MAX_EXPANSION or len(text) > MAX_EXPANDED:
            return text
        out, pos = [], 0
        # Quote parity before each offset, computed once: macros are not expanded in strings.
        quotes = [0]
        for ch in text:
            quotes.append(quotes[-1] ^ (ch == '"'))
        for m in _IDENT.finditer(text):
            if m.start() < pos:
                continue
            name = m.group(0)
            if name in disabled or quotes[m.start()]:
                continue
            macro = self._macro(name)
            if macro is None:
                continue
            if macro.params is None:
                out.append(text[pos : m.start()])
                out.append(self._expand(macro.body, disabled | {name}, depth + 1))
                pos = m.end()
                continue
            rest = text[m.end() :]
            stripped = rest.lstrip()
            if not stripped.startswith("("):
                continue
            open_at = m.end() + (len(rest) - len(stripped))
            close = _find_close(text, open_at)
            if close < 0:
                continue
            args = [
                self._expand(a, disabled, depth + 1) for a in _split_args(text[open_at + 1 : close])
            ]
            body = self._substitute(macro, args)
            out.append(text[pos : m.start()])
            out.append(self._expand(body, disabled | {name}, depth + 1))
            pos = close + 1
        out.append(text[pos:])
        return "".join(out)

    @staticmethod
    def _substitute(macro: Macro, args: list[str]) -> str:
        params = macro.params or ()
        values = dict(zip(params, args, strict=False))
        if macro.variadic and params:
            values[params[-1]] = ", ".join(args[len(params) - 1 :])
        body = re.sub(r"\s*##\s*", "\x00", macro.body)

        def stringify(m: re.Match[str]) -> str:
            return '"' + values.get(m.group(1), m.group(1)).replace('"', '\\"') + '"'

        body = re.sub(r"(?<![#\w])#\s*([A-Za-z_]\w*)", stringify, body)
        body = _IDENT.sub(lambda m: values.get(m.group(0), m.group(0)), body)
        return body.replace("\x00", "")


# ---------------------------------------------------------------------------------------------


@dataclass
class _Stmt:
    text: str
    origin: Origin
    invocation: Invocation | None = None  # set on a note's first statement
    desc: bool = False  # part of a descriptor given as a macro argument


def _builtin_elfnote(args: list[str]) -> tuple[str, str, str, str] | None:
    """(owner, type, desc statement, form) for the note macros of real trees."""
    if len(args) == 3:
        return args[0], args[1], args[2], "elfnote3"
    if len(args) >= 4:
        return args[0], args[1], f"{args[2]} {', '.join(args[3:])}", "elfnote4"
    return None


def statements(pre: Preprocessor, lines: list[Line]) -> list[_Stmt]:
    """Statements after macro expansion. Note macros spanning lines are gathered first."""
    out: list[_Stmt] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        text = line.text
        m = re.search(r"\bELFNOTE\s*\(", text)
        if (m and "ELFNOTE" not in pre.macros) or (m and pre.macros["ELFNOTE"].params is not None):
            # Gather the whole invocation (its arguments may continue on the next lines).
            joined = text
            spans = [(line, len(text))]
            j = i
            while _find_close(joined, m.end() - 1) < 0 and j + 1 < len(lines) and j - i < 20:
                j += 1
                joined += " " + lines[j].text
                spans.append((lines[j], len(joined)))
            close = _find_close(joined, m.end() - 1)
            if close >= 0:
                before = joined[: m.start()]
                after = joined[close + 1 :]
                args = _split_args(joined[m.end() : close])
                origin = Origin(pre.path, line.origin.line, m.start() + 1)
                out.extend(_Stmt(s, line.origin) for s in _split_statements(pre.expand(before)))
                out.extend(_note_statements(pre, args, origin, joined, m.end()))
                out.extend(_Stmt(s, lines[j].origin) for s in _split_statements(pre.expand(after)))
                i = j + 1
                continue
        out.extend(_Stmt(s, line.origin) for s in _split_statements(pre.expand(text)))
        i += 1
    return out


def _find_origin(pre: Preprocessor, origin: Origin, needle: str) -> Origin:
    """Where `needle` (an argument) is written: the first line from `origin` that has it."""
    needle = needle.strip()[:24]
    for line in range(origin.line, min(origin.line + 20, len(pre.raw_lines)) + 1):
        raw = pre.raw_lines[line - 1]
        at = raw.find(needle, origin.column if line == origin.line else 0) if needle else -1
        if at >= 0:
            return Origin(pre.path, line, at + 1)
    return origin


def _note_statements(
    pre: Preprocessor,
    args: list[str],
    origin: Origin,
    joined: str,
    args_at: int,
) -> list[_Stmt]:
    raw_args = _split_args(joined[args_at : _find_close(joined, args_at - 1)])
    # The descriptor's data: the third argument, or the fourth in the 4-argument form.
    data_arg = raw_args[3] if len(raw_args) > 3 else raw_args[2] if len(raw_args) > 2 else ""
    desc_origin = _find_origin(pre, origin, data_arg)
    macro = pre.macros.get("ELFNOTE")
    if macro is not None and macro.params is not None:
        # The file's own definition: expand it, keep the note's origin on its statements.
        body = pre.expand(Preprocessor._substitute(macro, raw_args))
        form = "elfnote4" if len(macro.params) >= 4 else "elfnote3"
        inv = Invocation(
            form,
            "ELFNOTE",
            raw_args[0] if raw_args else "",
            *_type_desc(raw_args, form),
            origin,
            desc_origin,
        )  # type: ignore[arg-type]
        stmts = [_Stmt(s, origin) for s in _split_statements(body)]
        for s in stmts:
            if s.text.strip():
                s.invocation = inv
                break
        return stmts
    built = _builtin_elfnote(raw_args)
    if built is None:
        return [_Stmt("", origin)]
    owner, ntype, desc, form = built
    inv = Invocation(form, "ELFNOTE", owner, *_type_desc(raw_args, form), origin, desc_origin)  # type: ignore[arg-type]
    head = [
        f'.pushsection .note.{owner}, "a", @note',
        ".balign 4",
        ".long 2f - 1f",
        ".long 4484f - 3f",
        f".long {pre.expand(ntype)}",
        f'1: .asciz "{owner}"',
        "2: .balign 4",
        "3:",
    ]
    stmts = [_Stmt(s, origin) for s in head]
    stmts[0].invocation = inv
    stmts.extend(_Stmt(s, desc_origin, desc=True) for s in _split_statements(pre.expand(desc)))
    stmts.extend(_Stmt(s, origin) for s in ("4484: .balign 4", ".popsection"))
    return stmts


def _type_desc(args: list[str], form: str) -> tuple[str, str]:
    if len(args) < 3:
        return (args[1] if len(args) > 1 else "", "")
    return args[1], ", ".join(args[2:])


# ---------------------------------------------------------------------------------------------


@dataclass
class _Label:
    section: str
    offset: int
    index: int  # statement index


class Assembler:
    """Two passes over the statements: sizes and labels, then values."""

    def __init__(self, pre: Preprocessor, stmts: list[_Stmt]) -> None:
        self.pre = pre
        self.stmts = stmts
        self.sections: dict[str, NoteSection] = {}
        self.labels: dict[str, _Label] = {}
        self.locals: dict[str, list[_Label]] = {}

    def run(self) -> list[NoteSection]:
        self._pass(False)
        for sec in self.sections.values():
            sec.data = bytearray()
            sec.items = []
            sec.invocations = {}
        self._pass(True)
        return list(self.sections.values())

    def _pass(self, emit: bool) -> None:
        current: str | None = None
        previous: str | None = None
        stack: list[str | None] = []
        for index, st in enumerate(self.stmts):
            text = st.text.strip()
            while True:
                m = _LABEL.match(text)
                if not m:
                    break
                name = m.group(1)
                if not emit:
                    lab = _Label(current or "", self._size(current), index)
                    if name.isdigit():
                        self.locals.setdefault(name, []).append(lab)
                    else:
                        self.labels[name] = lab
                text = text[m.end() :].strip()
            if not text:
                continue
            word = text.split(None, 1)[0].rstrip(",")
            rest = text[len(word) :].strip()
            if word in (".pushsection", ".section"):
                if word == ".pushsection":
                    stack.append(current)
                previous = current
                current = self._open(rest, st.origin)
            elif word == ".popsection":
                current = stack.pop() if stack else None
            elif word == ".previous":
                current, previous = previous, current
            elif word in (".text", ".data", ".bss", ".rodata"):
                previous, current = current, word
            elif current is not None and current in self.sections:
                self._data(self.sections[current], word, rest, st, index, emit)
            if emit and st.invocation is not None and current in self.sections:
                self._mark(current, st)

    def _mark(self, name: str, st: _Stmt) -> None:
        sec = self.sections[name]
        at = len(sec.data)
        if st.invocation is not None:
            pad = (-at) % 4  # the macro's first `.balign 4`
            sec.invocations.setdefault(at + pad, st.invocation)

    def _size(self, name: str | None) -> int:
        return len(self.sections[name].data) if name in self.sections else 0

    def _open(self, rest: str, origin: Origin) -> str:
        parts = _split_args(rest)
        name = parts[0].strip('"') if parts else ""
        if not name.startswith(".note"):
            return name
        flags = parts[1].strip() if len(parts) > 1 else None
        kind = parts[2].strip() if len(parts) > 2 else ""
        if name not in self.sections:
            alloc = flags is not None and "a" in flags.strip('"')
            is_note = kind in ("", "@note", "%note", "note") or kind.endswith("note")
            self.sections[name] = NoteSection(
                name,
                self._directive_origin(origin, name),
                alloc,
                is_note,
                flags_text=flags or "",
            )
        return name

    def _directive_origin(self, origin: Origin, name: str) -> Origin:
        """Where the section directive is written: the statement's line, or inside the
        file's own ELFNOTE definition when the statement came from expanding it."""
        raw = self.pre.raw_lines
        if 0 < origin.line <= len(raw) and "section" in raw[origin.line - 1]:
            return Origin(origin.path, origin.line, self.pre_column(origin.line, "section") - 1)
        macro = self.pre.macros.get("ELFNOTE")
        if macro is not None:
            for line in range(macro.origin.line, min(macro.origin.line + 30, len(raw)) + 1):
                at = raw[line - 1].find(".pushsection")
                if at < 0:
                    at = raw[line - 1].find(".section")
                if at >= 0:
                    return Origin(origin.path, line, at + 1)
        return origin

    def pre_column(self, line: int, needle: str) -> int:
        raw = self.pre.raw_lines[line - 1] if 0 < line <= len(self.pre.raw_lines) else ""
        at = raw.find(needle)
        return at + 1 if at >= 0 else len(raw) - len(raw.lstrip()) + 1

    def _data(
        self, sec: NoteSection, word: str, rest: str, st: _Stmt, index: int, emit: bool
    ) -> None:
        start = len(sec.data)
        if word in (".balign", ".align", ".p2align"):
            args = _split_args(rest)
            value = evaluate(args[0], lambda _n: None) if args and args[0] else 1
            n = value if isinstance(value, int) else 1
            if word == ".p2align":
                n = 1 << n if 0 <= n < 16 else 1
            if n > 0:
                sec.align = max(sec.align, n)
                sec.data.extend(b"\0" * ((-len(sec.data)) % n))
            if emit and len(sec.data) > start:
                sec.items.append(Item(start, len(sec.data), st.origin, directive=word))
            return
        if word in (".ascii", ".asciz", ".string"):
            for arg in _split_args(rest):
                raw = parse_string(arg) or b""
                if word != ".ascii":
                    raw += b"\0"
                at = len(sec.data)
                sec.data.extend(raw)
                if emit:
                    origin = self._origin_of(st, arg)
                    sec.items.append(Item(at, len(sec.data), origin, directive=word))
            return
        if word in (".skip", ".space", ".zero"):
            args = _split_args(rest)
            n = evaluate(args[0], lambda _n: None) if args and args[0] else 0
            sec.data.extend(b"\0" * (n if isinstance(n, int) and 0 <= n < 1 << 16 else 0))
            return
        width = WIDTHS.get(word)
        if width is None:
            return
        for arg in _split_args(rest):
            value: int | Expr = 0
            if emit:
                value = evaluate(arg, self._lookup, lambda n, d: self._local(n, d, index))
            sec.emit_value(value, width, word, self._origin_of(st, arg) if emit else None)

    def _origin_of(self, st: _Stmt, arg: str) -> Origin:
        """The statement's line, and the argument's column when it is written there."""
        if not st.desc:
            return st.origin
        raw = (
            self.pre.raw_lines[st.origin.line - 1]
            if st.origin.line <= len(self.pre.raw_lines)
            else ""
        )
        at = raw.find(arg.strip()[:20])
        return Origin(st.origin.path, st.origin.line, at + 1) if at >= 0 else st.origin

    def _lookup(self, name: str) -> Linear | int | None:
        lab = self.labels.get(name)
        if lab is None or lab.section not in self.sections:
            return None  # a symbol the linker places: kept by name
        return {f"section:{lab.section}": 1}, lab.offset

    def _local(self, number: str, direction: str, index: int) -> Linear | None:
        labs = self.locals.get(number, [])
        if direction == "f":
            lab = next((lb for lb in labs if lb.index > index), None)
        else:
            lab = next((lb for lb in reversed(labs) if lb.index <= index), None)
        if lab is None:
            return None
        return {f"section:{lab.section}": 1}, lab.offset


def read_gas(path: str, text: str) -> SourceFile:
    """The note sections of a GNU as source (`.S` or `.s`) and its base-subtracting macros."""
    pre = Preprocessor(path, text, hash_comments=path.endswith(".s"))
    lines = pre.lines()
    stmts = statements(pre, lines)
    sections = Assembler(pre, stmts).run()
    src = SourceFile(path, "gas", sections, pre.raw_lines)
    for name, macro in pre.macros.items():
        m = re.fullmatch(
            r"\(*\s*\(?\s*(\w+)\s*\)?\s*-\s*\(?\s*([A-Za-z_]\w*)\s*\)?\s*\)*", macro.body
        )
        if macro.params and m and m.group(1) in macro.params:
            src.base_macros[name] = m.group(2)
            src.base_uses.append((macro.origin, f"{name}(x)", m.group(2)))
    return src
