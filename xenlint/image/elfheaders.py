"""ELF file header, program headers and section headers, read with `struct` as libelf reads
them.

Why not pyelftools here: importing it and building its construct-based header objects costs
more than a whole xenlint run on a small kernel, and its section walk is eager and per-entry
slow on images with thousands of sections. libelf also reads the counts differently: it takes
e_phnum and e_shnum as they are (no PN_XNUM / SHN_UNDEF extended numbering) and refuses a
table that does not fit in the image ("ELF: phdr overflow", "ELF: shdr overflow";
shared/abi/xen.md §11). Only the bytes of the tables are touched, never the rest of the file.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from typing import NamedTuple

from xenlint.abi.elf import ELF_MAGIC, PT_NOTE, SHT_NOBITS
from xenlint.image.model import ImageError, Section, Segment

Buffer = mmap.mmap | bytes | bytearray | memoryview

# (header format after e_ident, phdr format, phdr minimum size, shdr format, shdr minimum size)
_LAYOUT = {
    1: ("HHIIIIIHHHHHH", "IIIIIIII", 32, "IIIIIIIIII", 40),
    2: ("HHIQQQIHHHHHH", "IIQQQQQQ", 56, "IIQQQQIIQQ", 64),
}
NAME_BOUND = 4096  # section names are read as C strings up to this many bytes


class Header(NamedTuple):  # a NamedTuple: a dataclass costs a millisecond of start-up
    elf_class: int  # 1 = ELF32, 2 = ELF64 (e_ident[EI_CLASS])
    little_endian: bool
    etype: int
    machine: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int

    @property
    def phdr_end(self) -> int:
        return self.phoff + self.phnum * self.phentsize if self.phnum else 0


def read_header(data: Buffer) -> Header:
    """The ELF file header; ImageError when it is not a readable ELF header."""
    size = len(data)
    if size < 4 or bytes(data[:4]) != ELF_MAGIC:
        raise ImageError("not an ELF file (no \\x7fELF magic)")
    if size < 52:
        raise ImageError(f"truncated ELF header ({size} bytes)")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2):
        raise ImageError(f"unknown ELF class {ei_class} in e_ident")
    if ei_data not in (1, 2):
        raise ImageError(f"unknown ELF data encoding {ei_data} in e_ident")
    if ei_class == 2 and size < 64:
        raise ImageError(f"truncated ELF64 header ({size} bytes)")
    order = "<" if ei_data == 1 else ">"
    fields = struct.unpack_from(order + _LAYOUT[ei_class][0], data, 16)
    etype, machine, _version, entry, phoff, shoff, flags = fields[:7]
    _ehsize, phentsize, phnum, shentsize, shnum, shstrndx = fields[7:]
    return Header(
        ei_class,
        ei_data == 1,
        etype,
        machine,
        entry,
        phoff,
        shoff,
        flags,
        phentsize,
        phnum,
        shentsize,
        shnum,
        shstrndx,
    )


def check_phdr_table(h: Header, size: int) -> None:
    """The program header table must lie inside the file (libelf: "phdr overflow")."""
    if not h.phnum:
        return
    want = _LAYOUT[h.elf_class][2]
    if h.phentsize < want:
        raise ImageError(f"e_phentsize {h.phentsize} is smaller than {want}")
    if h.phdr_end > size:
        raise ImageError(
            f"program header table ({h.phnum} entries at offset {h.phoff:#x}) "
            f"ends at {h.phdr_end:#x}, past the end of the file ({size:#x} bytes)"
        )


def check_shdr_table(h: Header, size: int) -> None:
    """The section header table must lie inside the file (libelf: "shdr overflow")."""
    if not h.shoff or not h.shnum:
        return
    want = _LAYOUT[h.elf_class][4]
    if h.shentsize < want:
        raise ImageError(f"e_shentsize {h.shentsize} is smaller than {want}")
    end = h.shoff + h.shnum * h.shentsize
    if end > size:
        raise ImageError(
            f"section header table ({h.shnum} entries at offset {h.shoff:#x}) "
            f"ends at {end:#x}, past the end of the file ({size:#x} bytes)"
        )


def read_segments(data: Buffer, h: Header) -> tuple[Segment, ...]:
    """Every program header, in table order (raises nothing: check_phdr_table comes first)."""
    if h.elf_class == 1:
        return tuple(
            [
                Segment(i, ptype, flags, offset, vaddr, paddr, filesz, memsz, align)
                for i, (ptype, offset, vaddr, paddr, filesz, memsz, flags, align) in enumerate(
                    _phdr_fields(data, h)
                )
            ]
        )
    return tuple(
        [
            Segment(i, ptype, flags, offset, vaddr, paddr, filesz, memsz, align)
            for i, (ptype, flags, offset, vaddr, paddr, filesz, memsz, align) in enumerate(
                _phdr_fields(data, h)
            )
        ]
    )


def note_spans(data: Buffer, h: Header) -> list[tuple[int, int]]:
    """(p_offset, p_filesz) of each PT_NOTE program header, in table order, without building
    a Segment for every header (the decompression spool asks before the real parse)."""
    offset, filesz = (1, 4) if h.elf_class == 1 else (2, 5)
    return [(f[offset], f[filesz]) for f in _phdr_fields(data, h) if f[0] == PT_NOTE]


def _phdr_fields(data: Buffer, h: Header) -> Iterator[tuple[int, ...]]:
    """The raw fields of each program header. With the usual e_phentsize the table (at most
    65535 entries, 3.7 MB) is unpacked by one C loop; an unusual one is read entry by entry,
    since a hostile e_phentsize can make the table gigabytes long and it is never copied."""
    order = "<" if h.little_endian else ">"
    fmt = struct.Struct(order + _LAYOUT[h.elf_class][1])
    if h.phentsize == fmt.size:
        return fmt.iter_unpack(bytes(data[h.phoff : h.phoff + h.phnum * fmt.size]))
    return (fmt.unpack_from(data, h.phoff + i * h.phentsize) for i in range(h.phnum))


def read_sections(data: Buffer, h: Header) -> tuple[Section, ...]:
    if not h.shoff or not h.shnum:
        return ()
    order = "<" if h.little_endian else ">"
    fmt = struct.Struct(order + _LAYOUT[h.elf_class][3])
    if h.shentsize == fmt.size:  # the usual case: one C loop over the whole table
        table = bytes(data[h.shoff : h.shoff + h.shnum * fmt.size])
        raw = list(fmt.iter_unpack(table))
    else:
        raw = [fmt.unpack_from(data, h.shoff + i * h.shentsize) for i in range(h.shnum)]
    strtab = raw[h.shstrndx] if h.shstrndx < len(raw) else None
    blob = _strtab(data, strtab)
    # (name, type, flags, addr, offset, size, link, info, addralign, entsize)
    return tuple(
        [
            Section(i, _name(blob, r[0], i), r[1], r[2], r[4], r[3], r[5], r[8], r[6], r[9])
            for i, r in enumerate(raw)
        ]
    )


STRTAB_BOUND = 16 << 20  # names past this many bytes of the string table read as "[index]"


def _strtab(data: Buffer, strtab: tuple[int, ...] | None) -> bytes:
    """The section-name string table's bytes (one copy, not one read per name)."""
    if strtab is None or strtab[1] == SHT_NOBITS:
        return b""
    start = strtab[4]
    return bytes(data[start : start + min(strtab[5], STRTAB_BOUND)])


def _name(blob: bytes, offset: int, index: int) -> str:
    """The name at `offset` in the string table, or `[index]` when it runs outside it."""
    if offset >= len(blob):
        return f"[{index}]"
    nul = blob.find(b"\0", offset, offset + NAME_BOUND)
    try:
        return blob[offset : offset + NAME_BOUND if nul < 0 else nul].decode()
    except UnicodeDecodeError:
        return f"[{index}]"
