"""Byte-level twins of the QEMU-booted cases behind XL507, XL508 and XL511, so the rules are
exercised on every machine, with or without QEMU and binutils (issue 9).

Each image here is written byte by byte (tests/elfbuilder.py) with the one property of its
tests/loader_kernels.py case; the expected verdicts are the ones tests/test_loader_qemu.py
checks against the installed QEMU 7.2 booting that case (its EXPECTED table), and the facts
behind them are QEMU's (hw/i386/x86-common.c load_elfboot: e_flags & 0x00010004 refused;
hw/i386/multiboot.c: a v1 header without the a.out bit in the first 8 KiB of an x86-64 ELF
is "Cannot load x86-64 image, give a 32bit one."; the PVH entry must be in a PT_LOAD's file
bytes, else the vCPU starts in zeroes or not at all).
"""

from __future__ import annotations

import struct

import pytest
from conftest import Lint, cells
from elfbuilder import PF_R, PF_X, PT_LOAD, PT_NOTE, Note, Segment, build_elf, note_bytes, u32

from xenlint.abi import notes as N

QEMU = "qemu-6.0"  # the profile covering QEMU 7.2, the version the QEMU tests boot
LOAD = 0x100000
MULTIBOOT_V1 = struct.pack("<III", 0x1BADB002, 0, (-0x1BADB002) & 0xFFFFFFFF)


def kernel(
    *,
    bits: int = 64,
    text: bytes = b"\x90" * 0x100,
    entry: int = LOAD,
    vaddr: int = LOAD,
    flags: int = 0,
) -> bytes:
    """One R+X PT_LOAD of `text` at p_paddr LOAD, and a PT_NOTE with PHYS32_ENTRY = `entry`."""
    notes = [Note(N.PHYS32_ENTRY.number, u32(entry))]
    return build_elf(
        [
            Segment(PT_LOAD, PF_R | PF_X, vaddr, LOAD, text, section=".text"),
            Segment(PT_NOTE, PF_R, 0, 0, note_bytes(notes), align=4, section=".note.Xen"),
        ],
        bits=bits,
        entry=vaddr,
        flags=flags,
    )


def verdict(lint: Lint, data: bytes) -> tuple[set[str], set[str]]:
    findings = lint(data, targets=[QEMU], select=["XL507", "XL508", "XL511"])
    errors = {f.code for f in findings if (QEMU, "pvh") in cells([f], f.code, "error")}
    warnings = {f.code for f in findings if (QEMU, "pvh") in cells([f], f.code, "warning")}
    return errors, warnings


@pytest.mark.parametrize(
    ("case", "image", "expected"),
    [
        # loader_kernels "good-elf64" / "good-elf32": QEMU boots them.
        ("good-elf64", kernel(), (set(), set())),
        ("good-elf32", kernel(bits=32), (set(), set())),
        # "e-flags": e_flags 4 is one of the bits load_elfboot refuses.
        ("e-flags", kernel(flags=4), ({"XL508"}, set())),
        ("e-flags-bit16", kernel(flags=0x10000), ({"XL508"}, set())),
        # "multiboot-elf64": QEMU takes the multiboot path first and refuses an x86-64 ELF.
        ("multiboot-elf64", kernel(text=MULTIBOOT_V1 + b"\x90" * 0xF4), ({"XL507"}, set())),
        # "multiboot-elf32": QEMU boots it, by multiboot rather than the PVH note (a warning).
        (
            "multiboot-elf32",
            kernel(bits=32, text=MULTIBOOT_V1 + b"\x90" * 0xF4),
            (set(), {"XL507"}),
        ),
        # "entry-zero" and "virtual-entry": the entry is in no PT_LOAD's file bytes.
        ("entry-zero", kernel(entry=0), ({"XL511"}, set())),
        (
            "virtual-entry",
            kernel(entry=0xFFFFFFFF81000000 & 0xFFFFFFFF, vaddr=0xFFFFFFFF81000000),
            ({"XL511"}, set()),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_qemu_only_rules_at_byte_level(
    lint: Lint, case: str, image: bytes, expected: tuple[set[str], set[str]]
) -> None:
    errors, warnings = verdict(lint, image)
    want_errors, want_warnings = expected
    assert errors == want_errors, case
    assert want_warnings <= warnings, case
