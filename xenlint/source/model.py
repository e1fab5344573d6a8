"""What xenlint knows about Xen notes from the files that write them, before anything is linked.

A source reader (`asm` for GNU as and cpp-style `.S`, `nasm` for NASM, `relobj` for ET_REL
objects) assembles the note sections it finds into bytes, the way the assembler would, and
remembers which statement wrote each byte. Values the assembler cannot know (symbols, constants
from headers that are not read) are kept as expressions and zero-filled in the bytes: they are
link-time values, checked in the linked image by the post-link step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Syntax = Literal["gas", "nasm", "object", "lds"]


@dataclass(frozen=True)
class Origin:
    """A place in a source file: 1-based line and column, as compilers print them."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Expr:
    """A value the assembler leaves to the linker: its text and what it is made of.

    `terms` maps each symbol to its coefficient (`pvh_start_xen - __START_KERNEL_map` is
    {pvh_start_xen: 1, __START_KERNEL_map: -1}); `opaque` is set when the expression is not a
    sum of symbols (a macro this reader cannot expand, a product of symbols), so its form says
    nothing about whether a base is subtracted."""

    text: str
    terms: tuple[tuple[str, int], ...] = ()
    constant: int = 0
    opaque: bool = False

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.terms)

    @property
    def bare_symbol(self) -> str | None:
        """The symbol when the value is one symbol plus a small offset, with nothing
        subtracted: a virtual address when the kernel is linked at a virtual base."""
        if self.opaque or len(self.terms) != 1 or self.terms[0][1] != 1:
            return None
        return self.terms[0][0] if abs(self.constant) < (1 << 20) else None

    @property
    def subtracts(self) -> tuple[str, ...]:
        return tuple(s for s, c in self.terms if c < 0)


@dataclass
class Item:
    """Bytes [start, end) of a note section written by one statement."""

    start: int
    end: int
    origin: Origin
    width: int = 0  # the directive's unit width (4 for .long); 0 for strings and padding
    directive: str = ""
    value: int | None = None
    expr: Expr | None = None  # set when the value is left to the linker


@dataclass
class Invocation:
    """How a note was written, so a fix can be given in the file's own syntax."""

    form: Literal["elfnote3", "elfnote4", "raw", "nasm", "object"]
    macro: str = "ELFNOTE"
    owner: str = "Xen"
    type_text: str = ""  # "XEN_ELFNOTE_FEATURES"
    desc_text: str = ""  # ".asciz \"...\"" / ".asciz, \"...\"" / "dd 0x1234"
    origin: Origin | None = None  # where the invocation (or the note's first statement) is
    desc_origin: Origin | None = None  # where its descriptor is written


@dataclass
class NoteSection:
    """One note section as the assembler emits it into an object file."""

    name: str
    origin: Origin  # the directive that opened it
    alloc: bool  # SHF_ALLOC: only allocated note sections end up in a PT_NOTE
    is_note: bool  # SHT_NOTE (not SHT_PROGBITS)
    align: int = 1
    data: bytearray = field(default_factory=bytearray)
    items: list[Item] = field(default_factory=list)
    # Invocations by the section offset of the note header they wrote.
    invocations: dict[int, Invocation] = field(default_factory=dict)
    flags_text: str = ""  # the flags as written ('"a"', '', 'note alloc')
    file_offset: int | None = None  # in an object file: where the section's bytes are

    def emit_value(
        self, value: int | Expr, width: int, directive: str, origin: Origin | None
    ) -> None:
        """Append a data directive's `width`-byte little-endian value (0 for a link-time
        `Expr`, which the linker fills in) and, when `origin` is given, record it as an Item."""
        at = len(self.data)
        number = value if isinstance(value, int) else 0
        self.data.extend((number & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))
        if origin is not None:
            self.items.append(
                Item(
                    at,
                    at + width,
                    origin,
                    width,
                    directive,
                    value if isinstance(value, int) else None,
                    value if isinstance(value, Expr) else None,
                )
            )

    def item_at(self, offset: int) -> Item | None:
        for item in self.items:
            if item.start <= offset < item.end:
                return item
        return None

    def items_in(self, start: int, end: int) -> list[Item]:
        return [i for i in self.items if i.start < end and i.end > start and i.end > i.start]


@dataclass
class SourceFile:
    """The note sections of one source file, and what else it says about addresses."""

    path: str
    syntax: Syntax
    sections: list[NoteSection]
    lines: list[str]
    # Macros or expressions in this file that turn a link (virtual) address into a physical
    # one by subtracting a base: (origin, text, base symbol).
    base_uses: list[tuple[Origin, str, str]] = field(default_factory=list)
    # Function-like macros of the file that subtract a base: name -> base symbol.
    base_macros: dict[str, str] = field(default_factory=dict)
    elf_class: int = 64

    def column_of(self, line: int, needle: str) -> int:
        """1-based column of `needle` in the file's line, or of its first non-blank."""
        if not 1 <= line <= len(self.lines):
            return 1
        text = self.lines[line - 1]
        at = text.find(needle) if needle else -1
        if at < 0:
            at = len(text) - len(text.lstrip())
        return at + 1
