"""XL008: a well-formed Xen note that a walk loses step before. The byte-level image is the
issue's case (a shipped Xen image repacked as ELF32); Xen 4.17's own parser (libxenguest, when
installed) confirms Xen never reaches the note, and tests/test_loader_qemu.py boots the same
layout assembled for real under QEMU 7.2 ("Error loading uncompressed kernel without PVH ELF
Note")."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import xenguest
from conftest import Lint, cells
from elfbuilder import PF_R, PF_X, PT_LOAD, PT_NOTE, Note, Segment, build_elf, u32, xen_kernel

from xenlint.image.elf import load_elf
from xenlint.replay import reach

# At offsets in the PT_NOTE: build-id 0x00 (36 bytes), zero padding 0x24, ELF64-layout
# .note.gnu.property 0x28 (descriptor at 0x38, 8-aligned), PHYS32_ENTRY 0x48.
BUILD_ID = struct.pack("<III", 4, 20, 3) + b"GNU\0" + bytes(range(20))
PROPERTY = struct.pack("<III", 4, 16, 5) + b"GNU\0" + struct.pack("<IIII", 0xC0000002, 4, 3, 0)
ENTRY = struct.pack("<III", 4, 4, 18) + b"Xen\0" + u32(0x100010)
NOTES = BUILD_ID + bytes(4) + PROPERTY + ENTRY


def desync_elf32(align: int = 8, bits: int = 32) -> tuple[bytes, int]:
    """The image and its PT_NOTE's file offset."""
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, b"\x90" * 0x100, section=".text")
    note = Segment(PT_NOTE, PF_R, 0, 0, NOTES, align=align)
    data = build_elf([text, note], bits=bits, with_section_headers=False)
    return data, data.index(BUILD_ID)


def test_walks_lose_step_and_xenlint_says_where(tmp_path: Path, lint: Lint) -> None:
    data, base = desync_elf32()
    found = lint(data, targets=["xen-4.19", "qemu", "linux-loader-0.9"], modes=["pvh"])
    xl008 = {f.targets: f.message for f in found if f.code == "XL008"}
    xen = xl008[("xen-4.19",)]
    assert f"loses step at {base + 0x24:#x}" in xen
    assert "4 bytes of zero padding" in xen and "'GNU' type 5 (.note.gnu.property)" in xen
    assert f"PHYS32_ENTRY at {base + 0x48:#x}" in xen
    qemu = xl008[("qemu-4.0", "qemu-6.0")]
    assert f"PHYS32_ENTRY at {base + 0x48:#x}" in qemu and "to 8 bytes" in qemu
    # linux-loader refuses ELF32 before its walk (XL505); the same notes in an ELF64 lose it.
    assert ("linux-loader-0.9",) not in xl008
    wide, base = desync_elf32(bits=64)
    found = lint(wide, targets=["linux-loader-0.9", "firecracker-1.12"])
    xl008 = {f.targets: f.message for f in found if f.code == "XL008"}
    for target in ("linux-loader-0.9", "firecracker-1.12"):
        assert f"PHYS32_ENTRY at {base + 0x48:#x}" in xl008[(target,)]
    # Not "no Xen notes, add them": XL001, XL103 and XL510 leave it to XL008.
    assert not {f.code for f in found} & {"XL001", "XL103", "XL510"}
    fixes = [f.fix for f in found if f.code == "XL008"]
    assert all("discard .note.gnu.property" in fix for fix in fixes[:1])


def test_scan_finds_only_well_formed_xen_headers(tmp_path: Path) -> None:
    data, base = desync_elf32()
    path = tmp_path / "k.elf"
    path.write_bytes(data)
    image = load_elf(str(path))
    (miss,) = reach.xen_desyncs(image)
    assert miss.missed == ((base + 0x48, 18),) and miss.at == base + 0x24
    # A clean kernel: the walks reach every note, nothing to say.
    path.write_bytes(xen_kernel([Note(6, b"linux\0"), Note(18, u32(0x100010))]))
    assert reach.xen_desyncs(load_elf(str(path))) == []


@pytest.mark.skipif(xenguest.available() is not None, reason=xenguest.available() or "")
def test_xen_4_17_never_reaches_the_note(tmp_path: Path, lint: Lint) -> None:
    """libelf 4.17 parses the same bytes: no PHYS32_ENTRY (phys_entry stays UNSET_ADDR32)."""
    data, _ = desync_elf32()
    parse = xenguest.Xen417().elf_parse(data, hvm=True)
    assert parse.parms.phys_entry == 0xFFFFFFFF
    good = build_elf(
        [
            Segment(PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, b"\x90" * 0x100),
            Segment(PT_NOTE, PF_R, 0, 0, ENTRY, align=4),
        ],
        bits=32,
    )
    assert xenguest.Xen417().elf_parse(good, hvm=True).parms.phys_entry == 0x100010
    assert cells(lint(data, targets=["xen-4.17"], modes=["pvh"]), "XL008", "error")


def test_empty_owner_name_prints_visibly(lint: Lint) -> None:
    """A note with namesz 0 among GNU notes: XL001 names its owner, not an empty string."""
    data = xen_kernel([Note(1, b"\0abc", name=b"", namesz=0), Note(3, b"1234", name=b"GNU\0")])
    (msg,) = [f.message for f in lint(data, targets=["xen-4.19"]) if f.code == "XL001"]
    assert "only (empty name)/GNU notes" in msg
