"""A small ELF writer for byte-exact, often deliberately broken test images.

pyelftools only reads ELF; the rule tests need hundreds of tiny images whose every field is
under control (lying note sizes, forced offsets, tables outside the file), so we write them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

PT_LOAD, PT_NOTE = 1, 4
SHT_PROGBITS, SHT_STRTAB, SHT_NOTE = 1, 3, 7
EM_386, EM_X86_64 = 3, 62


@dataclass
class Note:
    type: int
    desc: bytes = b""
    name: bytes = b"Xen\0"  # raw name bytes as written (include the NUL yourself)
    namesz: int | None = None  # None = len(name); set to lie about the size
    descsz: int | None = None  # None = len(desc); set to lie about the size


def u32(v: int, big_endian: bool = False) -> bytes:
    return struct.pack(">I" if big_endian else "<I", v & 0xFFFFFFFF)


def u64(v: int, big_endian: bool = False) -> bytes:
    return struct.pack(">Q" if big_endian else "<Q", v & 0xFFFFFFFFFFFFFFFF)


def _pad(data: bytes, align: int) -> bytes:
    return data + b"\0" * (-len(data) % align)


def note_bytes(notes: Sequence[Note], big_endian: bool = False, align: int = 4) -> bytes:
    """Header of three 32-bit words (both classes), name and desc padded to `align`."""
    out = b""
    for n in notes:
        namesz = len(n.name) if n.namesz is None else n.namesz
        descsz = len(n.desc) if n.descsz is None else n.descsz
        out += struct.pack(">III" if big_endian else "<III", namesz, descsz, n.type)
        out += _pad(n.name, align) + _pad(n.desc, align)
    return out


@dataclass
class Segment:
    type: int = PT_LOAD
    flags: int = 5  # R+X
    vaddr: int = 0x100000
    paddr: int | None = None  # None = vaddr
    data: bytes = b""
    memsz: int | None = None  # None = len(data)
    align: int | None = None  # None = 0x1000 for PT_LOAD, 4 otherwise
    offset: int | None = None  # force p_offset (e.g. 0)
    filesz: int | None = None  # None = len(data)
    section: str | None = None  # also emit a section header covering the same bytes
    section_type: int | None = None  # None = SHT_NOTE for PT_NOTE, SHT_PROGBITS otherwise


@dataclass
class Section:
    """A section not backed by any segment."""

    name: str
    data: bytes = b""
    type: int = SHT_NOTE
    flags: int = 0
    addr: int = 0
    addralign: int = 4


def build_elf(
    segments: Sequence[Segment] = (),
    sections: Sequence[Section] = (),
    *,
    bits: int = 64,
    big_endian: bool = False,
    machine: int | None = None,
    entry: int = 0x100000,
    etype: int = 2,
    flags: int = 0,
    with_section_headers: bool = True,
    phoff: int | None = None,
    shoff: int | None = None,
    phnum: int | None = None,
    shnum: int | None = None,
) -> bytes:
    e = ">" if big_endian else "<"
    wide = bits == 64
    ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
    if machine is None:
        machine = EM_X86_64 if wide else EM_386
    buf = bytearray(ehsize + phentsize * len(segments))
    real_phoff = ehsize

    def put(offset: int, data: bytes) -> None:
        if len(buf) < offset + len(data):
            buf.extend(b"\0" * (offset + len(data) - len(buf)))
        buf[offset : offset + len(data)] = data

    placed: list[int] = []
    for seg in segments:
        if seg.offset is not None:
            off = seg.offset
        else:
            off = len(buf) + (-len(buf) % min(seg.align or 16, 16))
        if seg.data:
            put(off, seg.data)
        placed.append(off)
    section_specs: list[
        tuple[str, int, int, int, int, int, int]
    ] = []  # name,type,flags,off,size,addr,align
    for seg, off in zip(segments, placed, strict=True):
        if seg.section:
            kind = seg.section_type or (SHT_NOTE if seg.type == PT_NOTE else SHT_PROGBITS)
            flags_ = 2 | (4 if seg.flags & 1 else 0)  # SHF_ALLOC (+ SHF_EXECINSTR)
            section_specs.append(
                (seg.section, kind, flags_, off, len(seg.data), seg.vaddr, seg.align or 4)
            )
    for sec in sections:
        off = len(buf) + (-len(buf) % 4)
        put(off, sec.data)
        section_specs.append(
            (sec.name, sec.type, sec.flags, off, len(sec.data), sec.addr, sec.addralign)
        )
    real_shoff = 0
    real_shnum = 0
    shstrndx = 0
    if with_section_headers:
        names = b"\0"
        name_offsets = []
        for spec in section_specs:
            name_offsets.append(len(names))
            names += spec[0].encode() + b"\0"
        shstr_name = len(names)
        names += b".shstrtab\0"
        shstr_off = len(buf)
        put(shstr_off, names)
        real_shoff = len(buf) + (-len(buf) % 8)
        headers = [bytes(shentsize)]
        for (_, kind, fl, off, size, addr, align), name_off in zip(
            section_specs, name_offsets, strict=True
        ):
            headers.append(_shdr(e, wide, name_off, kind, fl, addr, off, size, align))
        headers.append(_shdr(e, wide, shstr_name, SHT_STRTAB, 0, 0, shstr_off, len(names), 1))
        shstrndx = len(headers) - 1
        real_shnum = len(headers)
        put(real_shoff, b"".join(headers))
    for i, (seg, off) in enumerate(zip(segments, placed, strict=True)):
        paddr = seg.vaddr if seg.paddr is None else seg.paddr
        filesz = len(seg.data) if seg.filesz is None else seg.filesz
        memsz = len(seg.data) if seg.memsz is None else seg.memsz
        align = seg.align if seg.align is not None else (0x1000 if seg.type == PT_LOAD else 4)
        if wide:
            ph = struct.pack(
                e + "IIQQQQQQ", seg.type, seg.flags, off, seg.vaddr, paddr, filesz, memsz, align
            )
        else:
            ph = struct.pack(
                e + "IIIIIIII", seg.type, off, seg.vaddr, paddr, filesz, memsz, seg.flags, align
            )
        buf[real_phoff + i * phentsize : real_phoff + (i + 1) * phentsize] = ph
    ident = b"\x7fELF" + bytes([2 if wide else 1, 2 if big_endian else 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        e + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"),
        etype,
        machine,
        1,
        entry,
        real_phoff if phoff is None else phoff,
        real_shoff if shoff is None else shoff,
        flags,
        ehsize,
        phentsize,
        len(segments) if phnum is None else phnum,
        shentsize,
        real_shnum if shnum is None else shnum,
        shstrndx,
    )
    buf[:ehsize] = header
    return bytes(buf)


def _shdr(
    e: str, wide: bool, name: int, kind: int, flags: int, addr: int, off: int, size: int, align: int
) -> bytes:
    if wide:
        return struct.pack(e + "IIQQQQIIQQ", name, kind, flags, addr, off, size, 0, 0, align, 0)
    return struct.pack(e + "IIIIIIIIII", name, kind, flags, addr, off, size, 0, 0, align, 0)


def xen_kernel(
    notes: Sequence[Note],
    *,
    bits: int = 64,
    big_endian: bool = False,
    text_size: int = 0x100,
    load_addr: int = 0x100000,
    vaddr: int | None = None,
    note_align: int = 4,
    note_section: str | None = ".note.Xen",
    entry: int | None = None,
    sections: Sequence[Section] = (),
    **kw: object,
) -> bytes:
    """A minimal kernel: one R+X PT_LOAD of `text_size` bytes at paddr `load_addr` (vaddr
    `vaddr` or the same), and one PT_NOTE with `notes` (outside the PT_LOAD), also covered by
    an SHT_NOTE section `note_section` unless it is None."""
    virt = load_addr if vaddr is None else vaddr
    segs = [
        Segment(PT_LOAD, 5, virt, load_addr, b"\x90" * text_size, section=".text"),
        Segment(
            PT_NOTE,
            4,
            0,
            0,
            note_bytes(notes, big_endian, note_align),
            align=note_align,
            section=note_section,
        ),
    ]
    return build_elf(
        segs,
        sections,
        bits=bits,
        big_endian=big_endian,
        entry=virt if entry is None else entry,
        **kw,  # type: ignore[arg-type]
    )
