"""The test ELF writer must produce what it claims, or every rule test built on it lies.

Well-formed images are checked against independent readers (binutils readelf, pyelftools);
deliberately broken ones are checked byte by byte, since no reader can vouch for them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elfbuilder import (
    Note,
    Section,
    Segment,
    build_elf,
    note_bytes,
    u32,
    u64,
    xen_kernel,
)

PT_LOAD, PT_NOTE = 1, 4
SHT_PROGBITS, SHT_STRTAB, SHT_NOTE = 1, 3, 7

CLASSES = [(32, False), (32, True), (64, False), (64, True)]
CLASS_IDS = ["elf32-le", "elf32-be", "elf64-le", "elf64-be"]

# Offsets of e_phoff/e_shoff/... inside the ELF header, per class.
EHDR_FMT = {32: "16sHHIIIIIHHHHHH", 64: "16sHHIQQQIHHHHHH"}
PHDR_FMT = {32: "IIIIIIII", 64: "IIQQQQQQ"}
SHDR_FMT = {32: "IIIIIIIIII", 64: "IIQQQQIIQQ"}


def sample_notes(big_endian: bool) -> list[Note]:
    """Notes whose desc sizes need different amounts of padding (6, 8, 4, 0, 13)."""
    return [
        Note(6, b"linux\0"),
        Note(1, u64(0xFFFFFFFF80000000, big_endian)),
        Note(18, u32(0x1000000, big_endian)),
        Note(10),
        Note(9, b"!writable_pt\0"),
    ]


def ehdr(data: bytes, bits: int, big_endian: bool) -> tuple[int, ...]:
    fmt = (">" if big_endian else "<") + EHDR_FMT[bits]
    return struct.unpack_from(fmt, data, 0)


def phdrs(data: bytes, bits: int, big_endian: bool) -> list[dict[str, int]]:
    """Program headers as dicts with class-independent keys."""
    h = ehdr(data, bits, big_endian)
    phoff, phentsize, phnum = h[5], h[9], h[10]
    fmt = (">" if big_endian else "<") + PHDR_FMT[bits]
    keys = (
        ["type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align"]
        if bits == 64
        else ["type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align"]
    )
    return [
        dict(zip(keys, struct.unpack_from(fmt, data, phoff + i * phentsize), strict=True))
        for i in range(phnum)
    ]


# --- readelf ---------------------------------------------------------------------------------


def readelf(path: Path, *args: str) -> str:
    exe = shutil.which("readelf") or shutil.which("/usr/bin/readelf")
    if exe is None:
        pytest.skip("binutils readelf not installed")
    proc = subprocess.run(
        [exe, *args, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    # readelf reports most problems as "Warning:" lines on stderr with exit status 0.
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def readelf_notes(text: str) -> list[tuple[str, int]]:
    """(owner, descsz) for every note readelf -n lists."""
    return [
        (m[1], int(m[2], 16))
        for m in re.finditer(r"^\s+(\S+)\s+0x([0-9a-f]{8})\s", text, re.MULTILINE)
    ]


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_readelf_accepts_xen_kernel(tmp_path: Path, bits: int, big: bool) -> None:
    path = tmp_path / "kernel.elf"
    path.write_bytes(xen_kernel(sample_notes(big), bits=bits, big_endian=big, entry=0x100040))
    out = readelf(path, "-h", "-l", "-S", "-n", "--wide")

    assert re.search(rf"Class:\s+ELF{bits}\n", out)
    assert re.search(rf"Data:\s+2's complement, {'big' if big else 'little'} endian", out)
    machine = "Advanced Micro Devices X86-64" if bits == 64 else "Intel 80386"
    assert re.search(rf"Machine:\s+{machine}\n", out)
    assert re.search(r"Entry point address:\s+0x100040\n", out)
    assert re.search(r"Type:\s+EXEC ", out)
    assert re.search(r"^\s+LOAD\s+0x\w+\s+0x0*100000\s+0x0*100000\s", out, re.MULTILINE)
    assert re.search(r"^\s+NOTE\s", out, re.MULTILINE)
    assert re.search(r"\]\s+\.note\.Xen\s+NOTE\s", out)
    assert re.search(r"\]\s+\.text\s+PROGBITS\s", out)
    assert re.search(r"\]\s+\.shstrtab\s+STRTAB\s", out)
    # The note section and the PT_NOTE segment are the same bytes.
    assert re.search(r"^\s+01\s+\.note\.Xen\s*$", out, re.MULTILINE)
    assert readelf_notes(out) == [("Xen", 6), ("Xen", 8), ("Xen", 4), ("Xen", 0), ("Xen", 13)]


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_readelf_reads_notes_from_the_segment_without_sections(
    tmp_path: Path, bits: int, big: bool
) -> None:
    path = tmp_path / "kernel.elf"
    path.write_bytes(
        xen_kernel(sample_notes(big), bits=bits, big_endian=big, with_section_headers=False)
    )
    out = readelf(path, "-h", "-l", "-S", "-n", "--wide")
    assert "There are no sections in this file." in out
    assert "Displaying notes found at file offset" in out
    assert readelf_notes(out) == [("Xen", 6), ("Xen", 8), ("Xen", 4), ("Xen", 0), ("Xen", 13)]


def test_readelf_accepts_extra_sections_and_several_segments(tmp_path: Path) -> None:
    path = tmp_path / "kernel.elf"
    other = note_bytes([Note(3, b"gnu!", name=b"GNU\0")])
    path.write_bytes(
        build_elf(
            [
                Segment(data=b"\x90" * 40, section=".text"),
                Segment(flags=6, vaddr=0x200000, data=b"\1" * 8, memsz=64, section=".data"),
                Segment(type=PT_NOTE, flags=4, vaddr=0, data=note_bytes([Note(6, b"x\0")])),
            ],
            [Section(".note.other", other), Section(".comment", b"hi\0", type=SHT_PROGBITS)],
        )
    )
    out = readelf(path, "-h", "-l", "-S", "-n", "--wide")
    assert re.search(r"\]\s+\.data\s+PROGBITS\s+0+200000\s.*\sWA\s", out)
    assert re.search(r"\]\s+\.text\s+PROGBITS\s+0+100000\s.*\sAX\s", out)
    assert re.search(r"\]\s+\.note\.other\s+NOTE\s", out)
    assert re.search(r"\[ 5\]\s+\.shstrtab\s", out)
    assert readelf_notes(out) == [("GNU", 4)]  # with sections, readelf reads only sections


# --- pyelftools ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_pyelftools_round_trips_headers(bits: int, big: bool) -> None:
    elffile = pytest.importorskip("elftools.elf.elffile", reason="pyelftools not installed")
    segments = [
        Segment(data=b"\x90" * 33, vaddr=0xC0100000, paddr=0x100000, section=".text"),
        Segment(flags=6, vaddr=0x200000, data=b"\1" * 8, memsz=0x1000, align=0x200000),
        Segment(type=PT_NOTE, flags=4, vaddr=0, data=note_bytes(sample_notes(big), big), align=4),
        Segment(type=PT_NOTE, flags=4, vaddr=0, data=note_bytes([Note(5, b"xen-3.0\0")], big)),
    ]
    segments[3].section = "__xen_notes"
    sections = [Section(".note.other", b"\0" * 12, flags=2, addr=0x3000, addralign=8)]
    data = build_elf(segments, sections, bits=bits, big_endian=big, entry=0xC0100000)
    elf = elffile.ELFFile(io.BytesIO(data))

    assert elf.elfclass == bits
    assert elf.little_endian is not big
    assert elf["e_entry"] == 0xC0100000
    assert elf["e_machine"] == ("EM_X86_64" if bits == 64 else "EM_386")
    assert elf.num_segments() == len(segments)
    for seg, got in zip(segments, elf.iter_segments(), strict=True):
        assert got["p_type"] == {PT_LOAD: "PT_LOAD", PT_NOTE: "PT_NOTE"}[seg.type]
        assert got["p_flags"] == seg.flags
        assert got["p_vaddr"] == seg.vaddr
        assert got["p_paddr"] == (seg.vaddr if seg.paddr is None else seg.paddr)
        assert got["p_filesz"] == len(seg.data)
        assert got["p_memsz"] == (len(seg.data) if seg.memsz is None else seg.memsz)
        assert got["p_align"] == (seg.align or (0x1000 if seg.type == PT_LOAD else 4))
        assert got.data() == seg.data

    names = [s.name for s in elf.iter_sections()]
    assert names == ["", ".text", "__xen_notes", ".note.other", ".shstrtab"]
    assert elf["e_shstrndx"] == len(names) - 1
    text, xen, other = (elf.get_section(i) for i in (1, 2, 3))
    assert text["sh_type"] == "SHT_PROGBITS"
    assert text["sh_flags"] == 2 | 4  # SHF_ALLOC | SHF_EXECINSTR
    assert text["sh_addr"] == 0xC0100000
    assert text["sh_offset"] == elf.get_segment(0)["p_offset"]
    assert text.data() == segments[0].data
    assert xen["sh_type"] == "SHT_NOTE"
    assert xen["sh_offset"] == elf.get_segment(3)["p_offset"]
    # pyelftools names note types after GNU ones, so compare owner, size and payload only.
    assert [(n["n_name"], n["n_descsz"], n["n_desc"]) for n in xen.iter_notes()] == [
        ("Xen", 8, b"xen-3.0\0")
    ]
    assert other["sh_flags"] == 2
    assert other["sh_addr"] == 0x3000
    assert other["sh_addralign"] == 8
    assert other["sh_offset"] % 8 == 0
    assert other.data() == sections[0].data
    notes = list(elf.get_segment(2).iter_notes())
    assert [(n["n_name"], n["n_descsz"]) for n in notes] == [
        ("Xen", 6),
        ("Xen", 8),
        ("Xen", 4),
        ("Xen", 0),
        ("Xen", 13),
    ]
    assert notes[0]["n_desc"] == b"linux\0"


# --- exact bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize("big", [False, True])
def test_note_bytes_layout(big: bool) -> None:
    e = ">" if big else "<"
    data = note_bytes([Note(6, b"linux\0"), Note(0x12345678, b"", name=b"Xen")], big)
    assert data == (
        struct.pack(e + "III", 4, 6, 6)
        + b"Xen\0"
        + b"linux\0\0\0"
        + struct.pack(e + "III", 3, 0, 0x12345678)
        + b"Xen\0"
    )
    assert u32(-1, big) == b"\xff" * 4
    assert u64(0x0102030405060708, big) == (bytes(range(1, 9)) if big else bytes(range(8, 0, -1)))


def test_note_bytes_pads_each_field_to_align() -> None:
    data = note_bytes([Note(6, b"linux\0"), Note(5, b"xen\0")], align=8)
    # header (12) + name padded to 8 + desc padded to 8, whatever the file offset
    assert data == (u32(4) + u32(6) + u32(6) + b"Xen\0" + bytes(4) + b"linux\0" + bytes(2)) + (
        u32(4) + u32(4) + u32(5) + b"Xen\0" + bytes(4) + b"xen\0" + bytes(4)
    )
    assert note_bytes([Note(1, b"abc")], align=1) == u32(4) + u32(3) + u32(1) + b"Xen\0abc"


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_lying_note_sizes_are_written_verbatim(bits: int, big: bool) -> None:
    e = ">" if big else "<"
    notes = [
        Note(6, b"linux\0", namesz=3, descsz=0x1000),
        Note(5, b"xen-3.0\0", name=b"Xenon\0", namesz=0),
        Note(7, b"", descsz=0xFFFFFFFF),
    ]
    data = xen_kernel(notes, bits=bits, big_endian=big)
    note = phdrs(data, bits, big)[1]
    assert note["type"] == PT_NOTE
    off = note["offset"]
    assert struct.unpack_from(e + "III", data, off) == (3, 0x1000, 6)
    assert data[off + 12 : off + 24] == b"Xen\0linux\0\0\0"
    assert struct.unpack_from(e + "III", data, off + 24) == (0, 8, 5)
    assert data[off + 36 : off + 52] == b"Xenon\0\0\0xen-3.0\0"
    assert struct.unpack_from(e + "III", data, off + 52) == (4, 0xFFFFFFFF, 7)
    assert data[off + 64 : off + 68] == b"Xen\0"
    # The program header tells the truth about the bytes, not about the lies.
    assert note["filesz"] == 68 == len(note_bytes(notes, big))


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_forced_offsets_and_sizes(bits: int, big: bool) -> None:
    e = ">" if big else "<"
    data = build_elf(
        [
            Segment(data=b"\x90" * 8),
            Segment(type=PT_NOTE, flags=4, data=b"", offset=0, filesz=0),
            Segment(type=PT_NOTE, flags=4, data=b"NOTE", offset=0x400, filesz=0x100, memsz=3),
            Segment(data=b"\xcc" * 4),  # auto-placed after the forced blob
        ],
        bits=bits,
        big_endian=big,
        with_section_headers=False,
    )
    ph = phdrs(data, bits, big)
    assert (ph[1]["offset"], ph[1]["filesz"], ph[1]["memsz"]) == (0, 0, 0)
    assert (ph[2]["offset"], ph[2]["filesz"], ph[2]["memsz"]) == (0x400, 0x100, 3)
    assert data[0x400:0x404] == b"NOTE"
    assert ph[3]["offset"] == 0x410
    assert data[0x410:] == b"\xcc" * 4
    # Nothing was placed over the headers: the forced empty segment writes no bytes.
    assert data[:4] == b"\x7fELF"
    assert ehdr(data, bits, big)[10] == 4
    ehsize, phentsize = (64, 56) if bits == 64 else (52, 32)
    assert ph[0]["offset"] == ehsize + 4 * phentsize + (-(ehsize + 4 * phentsize) % 16)
    assert struct.unpack_from(e + "H", data, 16)[0] == 2  # e_type untouched


def test_forced_data_overwrites_earlier_bytes_including_headers() -> None:
    first = 64 + 3 * 56 + 8  # ELF64 header + 3 program headers, rounded up to 16
    data = build_elf(
        [
            Segment(data=b"A" * 32),
            Segment(data=b"B" * 8, offset=first + 4),  # inside the first segment's bytes
            Segment(data=b"ZZ", offset=32),  # over e_phoff: blobs are written in file order
        ],
        with_section_headers=False,
    )
    assert data[first : first + 32] == b"A" * 4 + b"B" * 8 + b"A" * 20
    assert data[32:40] == b"ZZ" + bytes(6)  # e_phoff was 64; its low bytes are clobbered
    table = [struct.unpack_from("<IIQQQQQQ", data, 64 + i * 56) for i in range(3)]
    assert [row[2] for row in table] == [first, first + 4, 32]
    assert [row[5] for row in table] == [32, 8, 2]


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_header_fields_and_overrides(bits: int, big: bool) -> None:
    sizes = (64, 56, 64) if bits == 64 else (52, 32, 40)
    data = build_elf(
        [Segment(data=b"\x90")],
        bits=bits,
        big_endian=big,
        machine=40,
        entry=0x1234,
        etype=3,
        flags=0x5000002,
        phoff=0x7FFF0000,
        shoff=0x10,
        phnum=9,
        shnum=0xFFFF,
    )
    ident, etype, machine, version, entry, phoff, shoff, flags, *rest = ehdr(data, bits, big)
    assert ident == b"\x7fELF" + bytes([bits // 32, 2 if big else 1, 1, 0]) + bytes(8)
    assert (etype, machine, version, entry) == (3, 40, 1, 0x1234)
    assert (phoff, shoff, flags) == (0x7FFF0000, 0x10, 0x5000002)
    ehsize, phentsize, phnum, shentsize, shnum, shstrndx = rest
    assert (ehsize, phentsize, shentsize) == sizes
    assert (phnum, shnum) == (9, 0xFFFF)
    assert shstrndx == 1  # [NULL, .shstrtab]: still written even though e_shnum lies

    plain = build_elf([], bits=bits, big_endian=big, with_section_headers=False)
    assert len(plain) == sizes[0]
    *_, shoff, _, _, _, phnum, _, shnum, shstrndx = ehdr(plain, bits, big)
    assert (shoff, phnum, shnum, shstrndx) == (0, 0, 0, 0)


@pytest.mark.parametrize(("bits", "big"), CLASSES, ids=CLASS_IDS)
def test_section_table_layout(bits: int, big: bool) -> None:
    e = (">" if big else "<") + SHDR_FMT[bits]
    data = build_elf(
        [Segment(type=PT_NOTE, flags=4, vaddr=0x5000, data=b"n" * 5, section="notes")],
        [Section(".extra", b"x" * 3, type=SHT_PROGBITS, flags=3, addr=0x9000, addralign=32)],
        bits=bits,
        big_endian=big,
    )
    h = ehdr(data, bits, big)
    shoff, shentsize, shnum, shstrndx = h[6], h[11], h[12], h[13]
    assert shoff % (bits // 8) == 0
    assert shnum == 4 and shstrndx == 3
    assert shoff + shnum * shentsize == len(data)  # the table ends the file
    rows = [struct.unpack_from(e, data, shoff + i * shentsize) for i in range(shnum)]
    assert rows[0] == (0,) * 10
    strtab = rows[3]
    assert strtab[1] == SHT_STRTAB
    names = data[strtab[4] : strtab[4] + strtab[5]]
    assert names == b"\0notes\0.extra\0.shstrtab\0"
    # name, type, flags, addr, offset, size, link, info, addralign, entsize
    note_off = phdrs(data, bits, big)[0]["offset"]
    assert rows[1] == (1, SHT_NOTE, 2, 0x5000, note_off, 5, 0, 0, 4, 0)
    extra = rows[2]
    assert extra[:4] == (7, SHT_PROGBITS, 3, 0x9000)
    assert extra[4] % 16 == 0  # placement alignment is capped at 16
    assert extra[5:] == (3, 0, 0, 32, 0)
    assert data[extra[4] : extra[4] + 3] == b"xxx"


def test_section_type_override_and_auto_alignment() -> None:
    data = build_elf(
        [
            Segment(data=b"\x90" * 3, align=1, section=".a"),
            Segment(type=PT_NOTE, data=b"\1" * 5, section=".b", section_type=SHT_PROGBITS),
            Segment(data=b"\2", align=0),
            Segment(data=b"\3", align=8),
        ]
    )
    ph = phdrs(data, 64, False)
    base = 64 + 4 * 56  # 288, already 16-aligned
    assert [p["offset"] for p in ph] == [base, base + 4, base + 9, base + 16]
    assert [p["align"] for p in ph] == [1, 4, 0, 8]


@pytest.mark.parametrize("bits", [32, 64])
def test_xen_kernel_shape(bits: int) -> None:
    notes = [Note(6, b"linux\0")]
    data = xen_kernel(
        notes, bits=bits, text_size=0x30, load_addr=0x200000, vaddr=0xC0200000, note_align=8
    )
    load, note = phdrs(data, bits, False)
    assert (load["type"], load["flags"]) == (PT_LOAD, 5)
    assert (load["vaddr"], load["paddr"], load["filesz"]) == (0xC0200000, 0x200000, 0x30)
    assert data[load["offset"] : load["offset"] + 0x30] == b"\x90" * 0x30
    assert (note["type"], note["flags"], note["align"]) == (PT_NOTE, 4, 8)
    assert note["offset"] >= load["offset"] + load["filesz"]  # in the file, not in the PT_LOAD
    assert data[note["offset"] : note["offset"] + note["filesz"]] == note_bytes(notes, align=8)
    assert ehdr(data, bits, False)[4] == 0xC0200000  # entry defaults to the vaddr
    assert ehdr(xen_kernel(notes, bits=bits), bits, False)[4] == 0x100000

    bare = xen_kernel(notes, bits=bits, note_section=None, sections=[Section(".x", b"1")])
    assert b".note.Xen" not in bare
    assert b"\0.text\0.x\0.shstrtab\0" in bare


def test_values_that_do_not_fit_elf32_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        build_elf([Segment(vaddr=1 << 32)], bits=32)
    with pytest.raises(ValueError, match="bits"):
        build_elf(bits=16)
