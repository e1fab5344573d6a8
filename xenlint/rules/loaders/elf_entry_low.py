"""XL506: Firecracker and Cloud Hypervisor refuse an e_entry below 1 MiB."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity


class ElfEntryLow(Rule):
    code = "XL506"
    name = "elf-entry-low"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "e_entry below 1 MiB, which Firecracker and Cloud Hypervisor refuse even for PVH"
    explanation = """
Firecracker and Cloud Hypervisor pass their high-memory start (1 MiB) to linux-loader, which
compares it with the ELF header's e_entry before it reads any note and fails with
InvalidEntryAddress when e_entry is lower. The PVH entry is not what is checked: a kernel whose
PHYS32_ENTRY is fine but whose e_entry is 0 or a low address (a 16-bit stub, an unset ENTRY())
is refused. QEMU and Xen do not look at e_entry for a PVH boot.
"""
    fix = """
Set the ELF entry to an address at or above 1 MiB, e.g. ENTRY(pvh_start) in the linker script
when the kernel is loaded at 1 MiB or higher.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        entry = ctx.image.entry
        for cell in ctx.loader_cells:
            loader = cell.loader
            if loader is None or loader.min_e_entry is None or entry >= loader.min_e_entry:
                continue
            yield Result(
                (cell,),
                f"e_entry {entry:#x} is below {loader.min_e_entry:#x}: {loader.program} refuses "
                "the kernel (InvalidEntryAddress) before it looks at the PVH note",
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [ElfEntryLow()]
