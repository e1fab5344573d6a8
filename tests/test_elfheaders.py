"""The struct-based header reader agrees with pyelftools on real as/ld kernels and on
builder-made images of both classes and byte orders."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from elfbuilder import Note, xen_kernel
from elftools.elf.elffile import ELFFile

from xenlint.image.elf import parse_elf
from xenlint.image.elfheaders import read_header, read_sections, read_segments
from xenlint.image.model import ImageError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _images() -> list[tuple[str, bytes]]:
    out = [(p.name, p.read_bytes()) for p in sorted(EXAMPLES.glob("*.elf"))]
    for bits in (32, 64):
        for big in (False, True):
            data = xen_kernel([Note(6, b"linux\0")], bits=bits, big_endian=big)
            out.append((f"built{bits}{'be' if big else 'le'}", data))
    return out


@pytest.mark.parametrize(("name", "data"), _images())
def test_headers_match_pyelftools(name: str, data: bytes) -> None:
    elf = ELFFile(io.BytesIO(data))
    h = read_header(data)
    assert (h.entry, h.phnum, h.shnum) == (
        elf.header["e_entry"],
        elf.num_segments(),
        elf.num_sections(),
    )
    for mine, seg in zip(read_segments(data, h), elf.iter_segments(), strict=True):
        theirs = seg.header
        assert (mine.offset, mine.vaddr, mine.paddr, mine.filesz, mine.memsz) == (
            theirs["p_offset"],
            theirs["p_vaddr"],
            theirs["p_paddr"],
            theirs["p_filesz"],
            theirs["p_memsz"],
        )
        assert (mine.flags, mine.align) == (theirs["p_flags"], theirs["p_align"])
    for mine, sec in zip(read_sections(data, h), elf.iter_sections(), strict=True):
        assert mine.name == sec.name
        assert (mine.offset, mine.size, mine.addr) == (
            sec["sh_offset"],
            sec["sh_size"],
            sec["sh_addr"],
        )


def test_prefix_parse_reads_notes_but_no_sections() -> None:
    data = (EXAMPLES / "linux-pv-pvh.elf").read_bytes()
    full = parse_elf(data, "k")
    end = max(s.offset + s.filesz for s in full.segments if s.is_note)
    prefix = parse_elf(data[:end], "k", prefix_of=len(data))
    assert [(n.offset, n.type, n.desc) for n in prefix.notes] == [
        (n.offset, n.type, n.desc) for n in full.notes
    ]
    assert prefix.sections == () and not prefix.sections_read and prefix.size == len(data)


def test_section_table_past_the_end_is_refused() -> None:
    data = (EXAMPLES / "linux-pv-pvh.elf").read_bytes()
    with pytest.raises(ImageError, match="section header table"):
        parse_elf(data[: len(data) - 8], "k")
