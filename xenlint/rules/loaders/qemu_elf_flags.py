"""XL508: QEMU's PVH loader refuses some e_flags bits."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.pvh import consequence


class QemuElfFlags(Rule):
    code = "XL508"
    name = "qemu-elf-flags"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "ELF e_flags bits QEMU's PVH loader refuses"
    explanation = """
Before it loads an ELF for a PVH boot, QEMU checks e_flags against 0x00010004 (the source
calls it LOAD_ELF_HEADER_HAS_ADDR, borrowed from the multiboot header flags) and exits with
"elfboot unsupported flags = <flags>" if any of those bits is set. x86 defines no e_flags, so
the value is normally 0; a tool that writes e_flags (a custom ELF writer, a header copied from
another architecture) breaks QEMU only.
"""
    fix = "Write e_flags as 0 for x86 kernels."

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            if reading.failure is not None and reading.failure.kind == "eflags":
                yield Result(
                    (cell,),
                    f"e_flags is {ctx.image.flags:#x}: {consequence(ctx.image, reading)}",
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [QemuElfFlags()]
