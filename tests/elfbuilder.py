"""A small ELF writer for byte-exact, often deliberately broken test images.

pyelftools only reads ELF; the rule tests need many tiny images whose every field is under
control (lying note sizes, forced offsets, tables outside the file), so we write them here.

Layout of `build_elf`: ELF header, program header table, each segment's data in order, extra
sections' data, `.shstrtab`, section header table.  Blobs are written in that order, so a
forced `Segment.offset` that overlaps earlier bytes (even the headers) overwrites them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
SHT_NULL, SHT_PROGBITS, SHT_STRTAB, SHT_NOTE = 0, 1, 3, 7
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
ET_EXEC = 2
EM_386, EM_X86_64 = 3, 62

# (e_ehsize, e_phentsize, e_shentsize) per ELF class; the readers check these exactly.
_SIZES = {32: (52, 32, 40), 64: (64, 56, 64)}


@dataclass
class Note:
    """One ELF note; `namesz`/`descsz` may lie about the bytes actually written."""

    type: int
    desc: bytes = b""
    name: bytes = b"Xen\0"  # raw name bytes as written (include the NUL yourself)
    namesz: int | None = None  # None = len(name); set to lie about the size
    descsz: int | None = None  # None = len(desc); set to lie about the size


def u32(v: int, big_endian: bool = False) -> bytes:
    """A 32-bit word; masked so tests can write e.g. -1 as all ones."""
    return struct.pack(">I" if big_endian else "<I", v & 0xFFFFFFFF)


def u64(v: int, big_endian: bool = False) -> bytes:
    """A 64-bit word; masked so tests can write e.g. -1 as all ones."""
    return struct.pack(">Q" if big_endian else "<Q", v & 0xFFFFFFFFFFFFFFFF)


def _pad(data: bytes, align: int) -> bytes:
    return data + b"\0" * (-len(data) % max(align, 1))


def note_bytes(notes: Sequence[Note], big_endian: bool = False, align: int = 4) -> bytes:
    """Encode notes: 3 x u32 header (namesz, descsz, type) in the ELF's byte order for BOTH
    classes, name padded to `align`, desc padded to `align`.

    Padding follows the bytes actually written, not the (possibly lying) size fields, so a
    test knows exactly where every byte lands."""
    out = bytearray()
    for n in notes:
        namesz = len(n.name) if n.namesz is None else n.namesz
        descsz = len(n.desc) if n.descsz is None else n.descsz
        out += u32(namesz, big_endian) + u32(descsz, big_endian) + u32(n.type, big_endian)
        out += _pad(n.name, align) + _pad(n.desc, align)
    return bytes(out)


@dataclass
class Segment:
    """A program header plus the file bytes it describes."""

    type: int = PT_LOAD
    flags: int = PF_R | PF_X
    vaddr: int = 0x100000
    paddr: int | None = None  # None = same as vaddr
    data: bytes = b""  # file contents of the segment
    memsz: int | None = None  # None = len(data)
    align: int | None = None  # None = 0x1000 for PT_LOAD, 4 otherwise
    offset: int | None = None  # None = place automatically; set to force p_offset (e.g. 0)
    filesz: int | None = None  # None = len(data); set to lie
    section: str | None = None  # also emit a section header with this name over the same bytes
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


@dataclass
class _Shdr:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    addralign: int


def _p_align(seg: Segment) -> int:
    """The p_align written; also drives file placement (capped at 16 to keep files tiny)."""
    if seg.align is not None:
        return seg.align
    return 0x1000 if seg.type == PT_LOAD else 4


def _file_align(align: int) -> int:
    """Placement alignment: the requested one, but at most 16 and at least 1."""
    return max(1, min(align, 16))


class _Layout:
    """Blobs in file order; applied in that order, so later blobs overwrite earlier ones."""

    def __init__(self) -> None:
        self.blobs: list[tuple[int, bytes]] = []
        self.end = 0

    def put(self, offset: int, data: bytes) -> int:
        self.blobs.append((offset, data))
        self.end = max(self.end, offset + len(data))
        return offset

    def append(self, data: bytes, align: int) -> int:
        return self.put(self.end + (-self.end % _file_align(align)), data)

    def render(self) -> bytes:
        buf = bytearray(self.end)
        for offset, data in self.blobs:
            buf[offset : offset + len(data)] = data
        return bytes(buf)


def _pack(fmt: str, *values: int) -> bytes:
    """struct.pack with an error that names the format, so an ELF32 overflow is obvious."""
    try:
        return struct.pack(fmt, *values)
    except struct.error as exc:
        raise ValueError(f"value does not fit ELF field layout {fmt!r}: {values}") from exc


def _phdr(e: str, bits: int, seg: Segment, offset: int) -> bytes:
    paddr = seg.vaddr if seg.paddr is None else seg.paddr
    filesz = len(seg.data) if seg.filesz is None else seg.filesz
    memsz = len(seg.data) if seg.memsz is None else seg.memsz
    if bits == 64:
        return _pack(
            e + "IIQQQQQQ",
            seg.type,
            seg.flags,
            offset,
            seg.vaddr,
            paddr,
            filesz,
            memsz,
            _p_align(seg),
        )
    # ELF32 moves p_flags after p_memsz.
    return _pack(
        e + "IIIIIIII", seg.type, offset, seg.vaddr, paddr, filesz, memsz, seg.flags, _p_align(seg)
    )


def _shdr(e: str, bits: int, name_offset: int, sh: _Shdr) -> bytes:
    fmt = e + ("IIQQQQIIQQ" if bits == 64 else "IIIIIIIIII")
    # sh_link, sh_info and sh_entsize are always 0: no section here needs them.
    return _pack(
        fmt, name_offset, sh.type, sh.flags, sh.addr, sh.offset, sh.size, 0, 0, sh.addralign, 0
    )


def _segment_section(seg: Segment, offset: int) -> _Shdr:
    assert seg.section is not None
    kind = seg.section_type
    if kind is None:
        kind = SHT_NOTE if seg.type == PT_NOTE else SHT_PROGBITS
    flags = SHF_ALLOC
    if seg.flags & PF_X:
        flags |= SHF_EXECINSTR
    if seg.flags & PF_W:
        flags |= SHF_WRITE
    # readelf -n picks the 4- or 8-byte note format from sh_addralign, so mirror the segment.
    align = _file_align(_p_align(seg))
    return _Shdr(seg.section, kind, flags, seg.vaddr, offset, len(seg.data), align)


def build_elf(
    segments: Sequence[Segment] = (),
    sections: Sequence[Section] = (),
    *,
    bits: int = 64,
    big_endian: bool = False,
    machine: int | None = None,
    entry: int = 0x100000,
    etype: int = ET_EXEC,
    flags: int = 0,
    with_section_headers: bool = True,
    phoff: int | None = None,
    shoff: int | None = None,
    phnum: int | None = None,
    shnum: int | None = None,
) -> bytes:
    """Write an ELF image; every header field can be overridden to build broken files."""
    if bits not in _SIZES:
        raise ValueError(f"bits must be 32 or 64, not {bits!r}")
    e = ">" if big_endian else "<"
    ehsize, phentsize, shentsize = _SIZES[bits]
    if machine is None:
        machine = EM_X86_64 if bits == 64 else EM_386

    layout = _Layout()
    layout.put(0, bytes(ehsize))  # blob 0: ELF header, filled in once offsets are known
    real_phoff = layout.put(ehsize, bytes(phentsize * len(segments)))  # blob 1: phdrs

    offsets = [
        layout.append(seg.data, _p_align(seg))
        if seg.offset is None
        else layout.put(seg.offset, seg.data)
        for seg in segments
    ]
    phdrs = b"".join(_phdr(e, bits, seg, off) for seg, off in zip(segments, offsets, strict=True))
    layout.blobs[1] = (real_phoff, phdrs)

    shdrs = [
        _segment_section(s, off) for s, off in zip(segments, offsets, strict=True) if s.section
    ]
    for sec in sections:
        off = layout.append(sec.data, sec.addralign)
        shdrs.append(
            _Shdr(sec.name, sec.type, sec.flags, sec.addr, off, len(sec.data), sec.addralign)
        )

    real_shoff = real_shnum = shstrndx = 0
    if with_section_headers:
        shdrs.append(_Shdr(".shstrtab", SHT_STRTAB, 0, 0, 0, 0, 1))
        names = bytearray(b"\0")
        name_offsets: list[int] = []
        for sh in shdrs:
            name_offsets.append(len(names))
            names += sh.name.encode() + b"\0"
        shdrs[-1].offset = layout.append(bytes(names), 1)
        shdrs[-1].size = len(names)
        table = bytes(shentsize)  # index 0: SHT_NULL
        table += b"".join(_shdr(e, bits, n, sh) for n, sh in zip(name_offsets, shdrs, strict=True))
        real_shoff = layout.append(table, bits // 8)
        real_shnum = len(shdrs) + 1
        shstrndx = real_shnum - 1

    ident = b"\x7fELF" + bytes([bits // 32, 2 if big_endian else 1, 1, 0]) + bytes(8)
    header = ident + _pack(
        e + ("HHIQQQIHHHHHH" if bits == 64 else "HHIIIIIHHHHHH"),
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
    layout.blobs[0] = (0, header)
    return layout.render()


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
    **kw: Any,
) -> bytes:
    """A minimal kernel, the common case for rule tests.

    One R+X PT_LOAD (`text_size` bytes of 0x90 at paddr `load_addr`, vaddr `vaddr` or
    `load_addr`, covered by a `.text` section), one PT_NOTE holding `notes` (encoded with
    `note_align`) that lies in the file after the PT_LOAD, and, unless `note_section` is None, an
    SHT_NOTE section over the PT_NOTE bytes.  `entry` defaults to the vaddr; `**kw` go to
    `build_elf` (e.g. `sections=`, `phoff=`)."""
    virt = load_addr if vaddr is None else vaddr
    text = Segment(PT_LOAD, PF_R | PF_X, virt, load_addr, b"\x90" * text_size, section=".text")
    note = Segment(
        PT_NOTE,
        PF_R,
        vaddr=0,
        paddr=0,
        data=note_bytes(notes, big_endian, note_align),
        align=note_align,
        section=note_section,
    )
    return build_elf(
        [text, note],
        bits=bits,
        big_endian=big_endian,
        entry=virt if entry is None else entry,
        **kw,
    )
