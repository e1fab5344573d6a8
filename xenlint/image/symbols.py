"""The symbol table of an ELF image (.symtab, else .dynsym), so a fix can name the code an
address belongs to: "`pvh_start_xen` (0xffffffff810005f0) is a virtual address" instead of
an address alone.

A vmlinux has tens of thousands of symbols and a check of a good kernel needs none of them,
so the table is read only when a rule asks (`Image.symbols`), from the file again: the
image model keeps where the table is (`SymbolSource`), not its bytes. Sizes are bounded the
way the section-name table is: a hostile sh_size cannot make xenlint read gigabytes.
"""

from __future__ import annotations

import bisect
import os
import struct
from typing import NamedTuple

from xenlint.image.model import Section, open_regular
from xenlint.record import Frozen

SHT_SYMTAB, SHT_DYNSYM, SHT_STRTAB = 2, 11, 3
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
SHN_UNDEF = 0
# A debug vmlinux has ~200 000 symbols (4.8 MB of ELF64 entries, a few MB of names).
MAX_TABLE_BYTES = 64 << 20
MAX_NAME = 4096
_ENTRY = {32: struct.Struct("IIIBBH"), 64: struct.Struct("IBBHQQ")}


class Symbol(NamedTuple):
    name: str
    value: int  # st_value: an address for symbols of an executable
    size: int
    kind: int  # STT_*
    bind: int  # STB_*
    shndx: int


class SymbolSource(Frozen):
    """Where an image's symbol table is: enough to read it later without keeping it."""

    path: str  # the file on disk (not the display path)
    elf_class: int  # 32 or 64
    little_endian: bool
    table: Section
    strings: Section

    __slots__ = ("elf_class", "little_endian", "path", "strings", "table")

    def __init__(
        self, path: str, elf_class: int, little_endian: bool, table: Section, strings: Section
    ) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "elf_class", elf_class)
        set_(self, "little_endian", little_endian)
        set_(self, "table", table)
        set_(self, "strings", strings)


def find_source(
    path: str, elf_class: int, little_endian: bool, sections: tuple[Section, ...]
) -> SymbolSource | None:
    """The .symtab (the full table a linked kernel keeps unless stripped), else .dynsym,
    with the string table its sh_link names; None when there is neither."""
    for kind in (SHT_SYMTAB, SHT_DYNSYM):
        for sec in sections:
            if sec.type == kind and sec.size and 0 < sec.link < len(sections):
                strings = sections[sec.link]
                if strings.type == SHT_STRTAB:
                    return SymbolSource(path, elf_class, little_endian, sec, strings)
    return None


class SymbolTable:
    """Named symbols with an address, looked up by address."""

    def __init__(self, symbols: list[Symbol]) -> None:
        self._symbols = sorted(symbols, key=lambda s: s.value)
        self._values = [s.value for s in self._symbols]

    def __len__(self) -> int:
        return len(self._symbols)

    def at(self, address: int) -> Symbol | None:
        """The symbol a reader would name for `address`: one whose value is exactly it,
        code before data, global before weak before local, names without a leading
        underscore first; None if no symbol starts there."""
        lo = bisect.bisect_left(self._values, address)
        hi = bisect.bisect_right(self._values, address)
        candidates = self._symbols[lo:hi]
        if not candidates:
            return None
        kind_rank = {STT_FUNC: 0, STT_NOTYPE: 1, STT_OBJECT: 2}
        bind_rank = {STB_GLOBAL: 0, STB_WEAK: 1, STB_LOCAL: 2}
        return min(
            candidates,
            key=lambda s: (
                kind_rank.get(s.kind, 3),
                bind_rank.get(s.bind, 3),
                s.name.startswith("_"),
                s.name,
            ),
        )


EMPTY = SymbolTable([])


def read(source: SymbolSource) -> SymbolTable:
    """Read the table; a table that cannot be read (the file changed, sizes out of the file)
    gives what could be read, never an exception: symbols only improve a fix's wording."""
    try:
        fd = open_regular(source.path)
    except Exception:
        return EMPTY
    try:
        size = os.fstat(fd).st_size
        entry = _ENTRY[source.elf_class]
        fmt = struct.Struct(("<" if source.little_endian else ">") + entry.format)
        if source.table.entsize not in (0, fmt.size):
            return EMPTY
        table = _read(fd, source.table, size)
        strings = _read(fd, source.strings, size)
    finally:
        os.close(fd)
    symbols = []
    usable = len(table) - len(table) % fmt.size
    for fields in fmt.iter_unpack(table[:usable]):
        if source.elf_class == 32:
            name_at, value, sym_size, info, _, shndx = fields
        else:
            name_at, info, _, shndx, value, sym_size = fields
        kind, bind = info & 0xF, info >> 4
        if shndx == SHN_UNDEF or kind in (STT_SECTION, STT_FILE) or not name_at:
            continue
        name = _name(strings, name_at)
        if name and not name.startswith(".L"):  # assembler-local labels are not names
            symbols.append(Symbol(name, value, sym_size, kind, bind, shndx))
    return SymbolTable(symbols)


def _read(fd: int, sec: Section, file_size: int) -> bytes:
    if sec.offset >= file_size:
        return b""
    return os.pread(fd, min(sec.size, MAX_TABLE_BYTES, file_size - sec.offset), sec.offset)


def _name(blob: bytes, offset: int) -> str:
    if offset >= len(blob):
        return ""
    nul = blob.find(b"\0", offset, offset + MAX_NAME)
    raw = blob[offset : offset + MAX_NAME if nul < 0 else nul]
    return raw.decode("utf-8", "replace")
