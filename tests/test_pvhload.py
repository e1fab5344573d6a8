"""The loaders' note walks on byte-exact images: corner cases binutils would not emit."""

from __future__ import annotations

from pathlib import Path

from conftest import Lint, targets_of
from elfbuilder import (
    PF_R,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    Note,
    Segment,
    build_elf,
    note_bytes,
    u32,
    xen_kernel,
)

from xenlint.abi.loaders import LOADERS
from xenlint.image.elf import load_elf
from xenlint.replay import pvh as pvhload

BY = {p.name: p for p in LOADERS}
ENTRY = Note(18, u32(0x100010))


def reading(tmp_path: Path, data: bytes, loader: str) -> pvhload.Reading:
    path = tmp_path / "k.elf"
    path.write_bytes(data)
    return pvhload.read(load_elf(str(path)), BY[loader])


def test_good_note_reads_the_same_everywhere(tmp_path: Path) -> None:
    data = xen_kernel([ENTRY])
    for name in (n for n, p in BY.items() if p.engine in ("qemu", "linux-loader")):
        r = reading(tmp_path, data, name)
        if "i386" in name:
            assert r.failure is not None and r.failure.kind == "machine"
        else:
            assert r.failure is None and r.entry == 0x100010, name


def test_non_power_of_two_p_align(tmp_path: Path) -> None:
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, data=b"\x90" * 0x100)
    data = build_elf([text, Segment(PT_NOTE, PF_R, 0, data=note_bytes([ENTRY]), align=3)])
    old = reading(tmp_path, data, "linux-loader-0.2")
    assert old.failure is not None and old.failure.kind == "align-error"
    assert reading(tmp_path, data, "linux-loader-0.9").entry == 0x100010


def test_last_matching_segment_wins(tmp_path: Path) -> None:
    """QEMU and linux-loader both keep the value of the last PT_NOTE that has the note."""
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, data=b"\x90" * 0x100)
    first = Segment(PT_NOTE, PF_R, 0, data=note_bytes([ENTRY]))
    second = Segment(PT_NOTE, PF_R, 0, data=note_bytes([Note(18, u32(0x100020))]))
    data = build_elf([text, first, second])
    assert reading(tmp_path, data, "qemu-6.0").entry == 0x100020
    assert reading(tmp_path, data, "linux-loader-0.9").entry == 0x100020


def test_big_endian_is_refused(tmp_path: Path, lint: Lint) -> None:
    path = tmp_path / "be.elf"
    path.write_bytes(xen_kernel([ENTRY], big_endian=True))
    found = lint(path, targets=["qemu-6.0", "firecracker"])
    assert targets_of(found, "XL505", "error") == {"qemu-6.0", "firecracker-1.12"}


def test_descriptor_past_the_note(tmp_path: Path) -> None:
    """descsz says 64 but no bytes follow: QEMU reads whatever comes next in the file as
    the entry (descsz is never checked); linux-loader reads the next 4 bytes likewise."""
    data = xen_kernel([Note(18, b"", descsz=64)])
    for name in ("qemu-6.0", "linux-loader-0.9"):
        r = reading(tmp_path, data, name)
        assert r.failure is None and r.entry is not None, name
        path = tmp_path / "k.elf"
        assert not pvhload.boots(load_elf(str(path)), r), name


def test_old_qemu_reads_elf32_entry_as_8_bytes(tmp_path: Path, lint: Lint) -> None:
    path = tmp_path / "k32.elf"
    path.write_bytes(xen_kernel([ENTRY, Note(6, b"linux\0")], bits=32))
    found = lint(path, targets=["qemu"])
    assert targets_of(found, "XL509", "warning") == {"qemu-4.0"}
    assert reading(tmp_path, path.read_bytes(), "qemu-4.0").width == 8
    assert reading(tmp_path, path.read_bytes(), "qemu-6.0").width == 4


def test_e_entry_is_ignored_by_qemu(tmp_path: Path, lint: Lint) -> None:
    path = tmp_path / "low.elf"
    path.write_bytes(xen_kernel([ENTRY], entry=0))
    found = lint(path, targets=["qemu-6.0", "cloud-hypervisor"])
    assert targets_of(found, "XL506", "error") == {
        "cloud-hypervisor-16",
        "cloud-hypervisor-24",
        "cloud-hypervisor-28",
        "cloud-hypervisor-33",
        "cloud-hypervisor-39",
    }


def test_truncated_image_is_a_load_error(tmp_path: Path, lint: Lint) -> None:
    """A PT_LOAD that claims more file bytes than exist: QEMU and linux-loader give up."""
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, data=b"\x90" * 0x100)
    note = Segment(PT_NOTE, PF_R, 0, data=note_bytes([ENTRY]))
    data = build_elf([note, text], with_section_headers=False)
    path = tmp_path / "cut.elf"
    path.write_bytes(data[: len(data) - 0x80])
    found = lint(path, targets=["qemu-6.0", "firecracker"])
    assert targets_of(found, "XL512", "error") == {"qemu-6.0", "firecracker-1.12"}
    assert not lint(data, targets=["qemu-6.0", "firecracker"], select=["XL512"])


def test_qemu_4_reads_elf32_p_align_through_a_64_bit_pointer(tmp_path: Path, lint: Lint) -> None:
    """QEMU 4.0-5.2 read_pvh_start_addr: `is64` was always true, so an ELF32 PT_NOTE's p_align
    came through a uint64_t*: its upper half is the next program header's p_type (PT_LOAD, 1),
    and the descriptor is looked for 0x100000004 bytes after the name (hw/i386/pc.c before
    "hw/elf_ops: pass SZ == 64 as is64"). A PT_NOTE that is the last header reads as before."""
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, b"\x90" * 0x100, section=".text")
    note = Segment(PT_NOTE, PF_R, 0, 0, note_bytes([ENTRY]), align=4, section=".note.Xen")
    first = tmp_path / "note-first.elf"
    first.write_bytes(build_elf([note, text], bits=32))
    old = pvhload.read(load_elf(str(first)), BY["qemu-4.0"])
    assert old.failure is not None and old.failure.kind == "align-high"
    assert "0x100000004" in old.failure.message
    assert pvhload.read(load_elf(str(first)), BY["qemu-6.0"]).entry == 0x100010
    last = tmp_path / "note-last.elf"
    last.write_bytes(build_elf([text, note], bits=32))
    assert pvhload.read(load_elf(str(last)), BY["qemu-4.0"]).entry == 0x100010
    found = lint(first, targets=["qemu"])
    assert targets_of(found, "XL502", "error") == {"qemu-4.0"}
    # ELF64 p_align is 8 bytes anyway.
    wide = tmp_path / "note-first-64.elf"
    wide.write_bytes(build_elf([note, text], bits=64))
    assert pvhload.read(load_elf(str(wide)), BY["qemu-4.0"]).entry == 0x100010


def test_xl509_leaves_a_p_align_misread_to_xl502(tmp_path: Path, lint: Lint) -> None:
    """p_align 8 over 4-padded notes: QEMU's read_pvh_start_addr pads namesz 4 to 8 and reads
    the descriptor 4 bytes late (the next note's namesz, 6, becomes the upper half). XL502
    explains it; XL509's 'short descriptor' story would be false, so it stays quiet."""
    notes = [ENTRY, Note(6, b"linux\0")]
    text = Segment(PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, b"\x90" * 0x100, section=".text")
    note = Segment(PT_NOTE, PF_R, 0, 0, note_bytes(notes), align=8, section=".note.Xen")
    found = lint(build_elf([text, note]), targets=["qemu-6.0"])
    assert targets_of(found, "XL502", "error") == {"qemu-6.0"}
    assert not [f for f in found if f.code == "XL509"]
