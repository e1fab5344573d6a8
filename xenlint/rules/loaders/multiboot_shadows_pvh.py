"""XL507: QEMU tries multiboot v1 before PVH; a plain multiboot header in a 64-bit ELF
stops the boot before the PVH note is read."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, has_any_entry_note


class MultibootShadowsPvh(Rule):
    code = "XL507"
    name = "multiboot-shadows-pvh"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a multiboot v1 header makes QEMU skip the PVH note (or fail, in a 64-bit ELF)"
    explanation = """
QEMU's -kernel looks for a multiboot v1 header (magic 0x1BADB002 with a valid checksum, at a
4-byte step in the first 8 KiB) before it tries PVH. If the header lacks flag bit 16 (the
a.out "address" fields) and the ELF is EM_X86_64, QEMU exits with "Cannot load x86-64 image,
give a 32bit one." and never reads the PVH note: a kernel carrying both a multiboot header
and PHYS32_ENTRY fails on QEMU while it boots on Xen and Firecracker. In a 32-bit ELF, or with
the address flag set, QEMU boots through multiboot instead and PHYS32_ENTRY is unused on
QEMU (a warning).
"""
    fix = """
Drop the multiboot v1 header from images meant for PVH boots, set the a.out address flag
(bit 16) with its load addresses (as Solo5 does), or move the header past the first 8 KiB
of the file.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            if reading.multiboot_offset is None or reading.multiboot_flags is None:
                continue
            where = Location(None, "multiboot header", reading.multiboot_offset)
            flags = f"flags {reading.multiboot_flags:#x}"
            if reading.failure is not None:
                yield Result(
                    (cell,),
                    f"multiboot v1 header ({flags}, no address bit) in an x86-64 ELF: "
                    f"{consequence(ctx.image, reading)} before trying PVH",
                    where,
                )
            elif has_any_entry_note(ctx.image):
                yield Result(
                    (cell,),
                    f"multiboot v1 header ({flags}): {reading.loader.program} boots the kernel "
                    "through multiboot and never uses PHYS32_ENTRY",
                    where,
                    severity=Severity.WARNING,
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [MultibootShadowsPvh()]
