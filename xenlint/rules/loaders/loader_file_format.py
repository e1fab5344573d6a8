"""XL513: a PVH loader is given a bzImage or a gzip-compressed ELF, which it does not read as
the ELF inside."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity, group_cells


class LoaderFileFormat(Rule):
    code = "XL513"
    name = "loader-file-format"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a PVH loader is given a bzImage or compressed ELF it boots another way, or not"
    explanation = """
xenlint reads a bzImage or a gzip-compressed ELF by decompressing the ELF inside, as Xen's
toolstack does. The other PVH loaders do not:
- QEMU (-kernel) checks for a bzImage ("HdrS" at 0x202) before anything else and boots it
  through the Linux boot protocol: the PVH note is never read. A gzip-compressed ELF is no
  bzImage, no multiboot image and no ELF to QEMU, so it is tried as an ancient zImage and
  QEMU exits with "invalid kernel header" (seen with QEMU 7.2).
- Cloud Hypervisor v39 and later retry a failed ELF load as a bzImage and boot that through
  the Linux boot protocol; v28-v38 boot PVH ELF kernels only.
- Firecracker 1.12-1.16 has no bzImage code, and rust-vmm linux-loader's Elf loader stops at
  the magic with InvalidElfMagicNumber.
So for these targets the PVH checks (XL501-XL512) do not apply to a wrapped file. Where the
loader boots the bzImage anyway this is an info line, a reminder that its PVH entry is not what
starts the kernel; where it refuses the file it is an error.
"""
    fix = """
Give PVH loaders the uncompressed ELF (vmlinux) and lint that file for them; keep the bzImage
for Xen and for loaders that boot it through the Linux boot protocol.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        kind = {"bzimage": "a bzImage", "elf.gz": "a gzip-compressed ELF"}.get(ctx.image.format)
        if kind is None:
            return
        verdicts = group_cells(
            (cell, _verdict(ctx.engine(cell).wrapped_file(cell.loader, ctx.image.format, kind)))
            for cell in ctx.boot_cells
            if cell.loader is not None
        )
        for (message, severity), cells in verdicts.items():
            yield Result(cells, message, severity=severity)


def _verdict(said: tuple[str, bool]) -> tuple[str, Severity] | None:
    """The engine's words: an info line where the loader boots the file another way than by
    its PVH entry, an error where it refuses it, nothing where it reads the ELF inside as
    xenlint does (GRUB)."""
    message, boots = said
    if not message:
        return None
    return message, Severity.INFO if boots else Severity.ERROR


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LoaderFileFormat()]
