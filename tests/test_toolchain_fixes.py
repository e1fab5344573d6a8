"""Fix texts worded for the toolchain the image shows: NASM's note section attributes (the
real nasm 2.16 and ld), a Linux kernel without its PVH note (CONFIG_PVH), a visible
.note.gnu.property raising p_align (binutils 2.36+, real as/ld)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Lint
from elfbuilder import Note, xen_kernel
from kernels import needs_binutils
from loader_kernels import BY_NAME

NASM = shutil.which("nasm")

NASM_KERNEL = """
bits 32
section .text
global _start
_start:
    hlt
{section}
    dd 4, 4, 18
    db "Xen", 0
    dd _start
"""


def nasm_kernel(tmp_path: Path, section: str) -> Path:
    src, obj, elf = tmp_path / "k.asm", tmp_path / "k.o", tmp_path / "k.elf"
    src.write_text(NASM_KERNEL.format(section=section))
    subprocess.run(["nasm", "-f", "elf64", str(src), "-o", str(obj)], check=True)
    subprocess.run(["ld", "-Ttext=0x100000", "-o", str(elf), str(obj)], check=True)
    return elf


@needs_binutils
@pytest.mark.skipif(NASM is None, reason="nasm not installed (apt nasm)")
def test_nasm_note_section_gets_the_nasm_fix(tmp_path: Path, lint: Lint) -> None:
    elf = nasm_kernel(tmp_path, "section .note")
    found = lint(elf, targets=["qemu-6.0", "xen-4.19"], modes=["pvh"])
    fixes = {f.code: f.fix for f in found}
    assert "SECTION .note note alloc noexec nowrite align=4" in fixes["XL501"]
    assert "SECTION .note note alloc noexec nowrite align=4" in fixes["XL002"]
    # The fix, applied: ld gives the section a PT_NOTE and nothing is left to say.
    fixed = nasm_kernel(tmp_path, "section .note note alloc noexec nowrite align=4")
    found = lint(fixed, targets=["qemu-6.0", "xen-4.19"], modes=["pvh"])
    assert not {f.code for f in found} & {"XL501", "XL002"}


def test_linux_kernel_without_pvh_note_gets_config_pvh(lint: Lint) -> None:
    linux = xen_kernel(
        [Note(0x100, b"\0" * 4, name=b"Linux\0"), Note(6, b"linux\0"), Note(8, b"generic\0")]
    )
    found = lint(linux, targets=["qemu-6.0", "firecracker-1.12", "xen-4.19"], modes=["pvh"])
    for code in ("XL510", "XL103"):
        assert all("CONFIG_PVH=y" in f.fix for f in found if f.code == code), code
    # Firecracker 1.12 boots a Linux kernel through the 64-bit protocol: a warning only.
    (fc,) = [f for f in found if f.code == "XL510" and "firecracker-1.12" in f.targets]
    assert str(fc.severity) == "warning"
    # Not Linux: no CONFIG_PVH advice, and Firecracker's fallback is an error.
    other = xen_kernel([Note(6, b"mykernel\0"), Note(8, b"generic\0")])
    found = lint(other, targets=["qemu-6.0", "firecracker-1.12"])
    assert not [f for f in found if "CONFIG_PVH" in f.fix]
    (fc,) = [f for f in found if f.code == "XL510" and "firecracker-1.12" in f.targets]
    assert str(fc.severity) == "error" and "shows no sign of Linux" in fc.message


@needs_binutils
def test_gnu_property_is_named_and_discarded(tmp_path: Path, lint: Lint) -> None:
    elf = BY_NAME["gnu-property-first"].build(tmp_path)
    (f,) = [f for f in lint(elf, targets=["qemu-6.0"]) if f.code == "XL502"]
    assert "raised by a .note.gnu.property note (owner GNU, type 5)" in f.message
    assert f.fix.startswith("discard .note.gnu.property")
