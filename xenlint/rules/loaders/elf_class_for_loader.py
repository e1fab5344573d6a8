"""XL505: the image's ELF class, machine and byte order must be ones the loader takes."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.pvh import consequence


class ElfClassForLoader(Rule):
    code = "XL505"
    name = "elf-class-for-loader"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "an ELF class, machine or byte order the targeted loader refuses"
    explanation = """
rust-vmm linux-loader (Firecracker, Cloud Hypervisor) reads the program headers as Elf64_Phdr
and refuses any image whose e_phentsize is not 56 (InvalidProgramHeaderSize): an ELF32 kernel
never boots there, PVH note or not. qemu-system-i386 accepts EM_386 images only, so an
EM_X86_64 kernel fails with "Error while loading elf kernel"; qemu-system-x86_64 takes both.
Every one of them wants a little-endian image.
"""
    fix = """
Link an ELF64 (elf64-x86-64) image for linux-loader based VMMs; the 32-bit PVH entry code can
stay .code32 inside it. Boot an x86-64 image with qemu-system-x86_64, or link an elf32-i386
image for qemu-system-i386.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        what = f"ELF{image.elf_class} {image.machine_name}"
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            failure = reading.failure
            if failure is not None and failure.kind in ("class", "machine", "byte-order"):
                yield Result((cell,), f"{what} image: {consequence(image, reading)}")


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [ElfClassForLoader()]
