"""Read the Xen notes of a relocatable object (ET_REL `.o`, e.g. Linux's `xen-head.o`).

An object holds its note sections as the assembler wrote them, and a relocation for each
value the linker fills in: a note's descriptor is then either known (its bytes) or tied to
a named symbol plus an addend (`pvh_start_xen - 0xffffffff80000000` is R_X86_64_64 against
`pvh_start_xen` with addend -0xffffffff80000000 once the base is an absolute constant). ELF
layout from the System V gABI (section headers, SHT_REL/SHT_RELA with sh_info naming the
section they patch, ELF64_R_SYM/ELF32_R_SYM). The file's own bytes are read, nothing is run.
"""

from __future__ import annotations

import struct

from xenlint.abi.elf import ELF_MAGIC, SHT_NOBITS
from xenlint.source import SourceError, read_bytes
from xenlint.source.model import Expr, Item, NoteSection, Origin, SourceFile

SHT_SYMTAB, SHT_RELA, SHT_NOTE, SHT_REL = 2, 4, 7, 9
SHF_ALLOC = 2
# Relocation types whose width is the field the linker writes (x86-64 and i386 psABIs).
WIDTH_X86_64 = {1: 8, 10: 4, 11: 4, 2: 4, 24: 8}  # R_X86_64_64, _32, _32S, _PC32, _PC64
WIDTH_386 = {1: 4, 2: 4}  # R_386_32, R_386_PC32


def _cstr(table: bytes, at: int) -> str:
    end = table.find(b"\0", at)
    return table[at : end if end >= 0 else len(table)].decode("utf-8", "replace")


def read_object(path: str) -> SourceFile:
    """The note sections of an ET_REL object, with each relocated value named."""
    data = read_bytes(path, "object larger than {limit}")
    if len(data) < 52 or data[:4] != ELF_MAGIC or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise SourceError("not an ELF object")
    is64, end = data[4] == 2, "<" if data[5] == 1 else ">"
    try:
        if is64:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(end + "Q", data, 40)[0],
                *struct.unpack_from(end + "HHH", data, 58),
            )
            machine = struct.unpack_from(end + "H", data, 18)[0]
        else:
            shoff = struct.unpack_from(end + "I", data, 32)[0]
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 46)
            machine = struct.unpack_from(end + "H", data, 18)[0]
        fmt = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
        if shnum > 65535 or shentsize < struct.calcsize(fmt):
            raise SourceError("bad section header table")
        shdrs = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    except struct.error:
        raise SourceError("section headers run past the end of the file") from None

    def body(i: int) -> bytes:
        sh = shdrs[i]
        return data[sh[4] : sh[4] + sh[5]] if sh[1] != SHT_NOBITS else b""

    names = body(shstrndx) if shstrndx < shnum else b""
    symbols: list[tuple[str, int, int]] = []  # (name, shndx, value)
    for i, sh in enumerate(shdrs):
        if sh[1] == SHT_SYMTAB and sh[6] < shnum:
            strtab, table = body(sh[6]), body(i)
            size = 24 if is64 else 16
            for at in range(0, len(table) - size + 1, size):
                if is64:
                    st_name, _info, _other, shndx, value, _sz = struct.unpack_from(
                        end + "IBBHQQ", table, at
                    )
                else:
                    st_name, value, _sz, _info, _other, shndx = struct.unpack_from(
                        end + "IIIBBH", table, at
                    )
                symbols.append((_cstr(strtab, st_name), shndx, value))
    sections: list[NoteSection] = []
    by_index: dict[int, NoteSection] = {}
    for i, sh in enumerate(shdrs):
        name = _cstr(names, sh[0])
        if sh[1] == SHT_NOTE or name.startswith(".note"):
            origin = Origin(path, 0, 0)
            sec = NoteSection(
                name,
                origin,
                bool(sh[2] & SHF_ALLOC),
                sh[1] == SHT_NOTE,
                max(int(sh[8]), 1),
                bytearray(body(i)),
            )
            sec.file_offset = sh[4]
            sections.append(sec)
            by_index[i] = sec
    widths = WIDTH_X86_64 if machine == 62 else WIDTH_386
    for sh in shdrs:
        if sh[1] not in (SHT_REL, SHT_RELA) or sh[7] not in by_index:
            continue
        sec = by_index[sh[7]]
        rela = sh[1] == SHT_RELA
        table = data[sh[4] : sh[4] + sh[5]]
        size = (24 if rela else 16) if is64 else (12 if rela else 8)
        for at in range(0, len(table) - size + 1, size):
            if is64:
                off, info = struct.unpack_from(end + "QQ", table, at)
                addend = struct.unpack_from(end + "q", table, at + 16)[0] if rela else 0
                sym, rtype = info >> 32, info & 0xFFFFFFFF
            else:
                off, info = struct.unpack_from(end + "II", table, at)
                addend = struct.unpack_from(end + "i", table, at + 8)[0] if rela else 0
                sym, rtype = info >> 8, info & 0xFF
            width = widths.get(rtype, 4)
            if not rela and off + width <= len(sec.data):
                addend = int.from_bytes(sec.data[off : off + width], "little", signed=True)
            name = symbols[sym][0] if sym < len(symbols) else f"symbol {sym}"
            if not name and sym < len(symbols):
                shndx = symbols[sym][1]
                name = _cstr(names, shdrs[shndx][0]) if shndx < shnum else f"symbol {sym}"
            text = name if not addend else f"{name} {'-' if addend < 0 else '+'} {abs(addend):#x}"
            sec.items.append(
                Item(
                    off,
                    off + width,
                    Origin(path, 0, 0),
                    width,
                    f"relocation type {rtype}",
                    None,
                    Expr(text, ((name, 1),), addend),
                )
            )
    return SourceFile(path, "object", sections, [], elf_class=64 if is64 else 32)
