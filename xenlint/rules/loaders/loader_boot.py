"""XL514: what a loader that does not boot through the PVH note (GRUB's Xen PV loader, GRUB
i386-xen_pvh, Firecracker before 1.12) does with the image."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.pvh import consequence, declared_entry, is_linux


class LoaderBoot(Rule):
    code = "XL514"
    name = "loader-boot"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = (
        "a loader that boots the kernel another way than its PVH note refuses it or misboots it"
    )
    explanation = """
Some loaders people boot Xen-noted kernels with never read the PHYS32_ENTRY note:
- GRUB's Xen PV loader (pvgrub2: the x86_64-xen and i386-xen builds, targets grub-xen-2.02 and
  grub-xen-2.04) reads Xen notes from every PT_NOTE segment (4-byte padding, also one at file
  offset 0), then the `__xen_guest` section; from 2.04 (commit 67580c006, "Mirror behaviour of
  ELF loader in libxc") SHT_NOTE sections in between. A kernel whose notes sit only in
  sections boots on Xen's own loader but GRUB 2.02 says "no XEN note found". It refuses a
  LOADER note other than "generic" ("invalid loader"), an ELF that is neither ELF64 x86-64
  nor ELF32 i386 ("unknown ELF type"), a 32-bit kernel without PAE ("incompatible
  architecture: 1"), a VIRT_BASE that is not page-aligned, and a bzImage whose payload is not
  gzip or xz ("not xen image").
- GRUB's PVH build (i386-xen_pvh, target grub-xen-pvh; Qubes' pvgrub2-pvh) is itself the PVH
  guest and boots multiboot kernels (a v1 header in the first 8192 bytes, a multiboot2 header
  in the first 32768) and Linux bzImages; a PVH-only ELF is refused ("no multiboot header
  found").
- Firecracker before 1.12 has no PVH: every ELF is entered at e_entry in 64-bit long mode with
  Linux boot parameters, whatever notes it has. A Linux vmlinux boots; another kernel whose
  e_entry is its 32-bit PVH entry crashes there (an error), any other non-Linux kernel must
  expect the Linux 64-bit entry (a warning). linux-loader's checks still run: ELF64 only,
  e_entry at or above 1 MiB, and its note walk's errors.
"""
    fix = """
For GRUB's PV loader: put the Xen notes in an allocatable section covered by a PT_NOTE
segment (not only in SHT_NOTE sections), keep LOADER "generic", build 32-bit kernels with PAE.
For GRUB i386-xen_pvh: add a multiboot header within the first 8 KiB, or boot the kernel
directly as a PVH guest. For Firecracker before 1.12: give it a Linux kernel, or upgrade to
1.12 or later, which boots the PVH entry.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.boot_cells:
            engine = ctx.engine(cell)
            if engine.reads_pvh_note:
                continue
            if ctx.image.format != "elf" and cell.loader is not None:
                said, _ = engine.wrapped_file(cell.loader, ctx.image.format, ctx.image.format)
                if said:  # XL513 says how this loader takes a wrapped file
                    continue
            reading = ctx.loader(cell)
            if reading.failure is not None:
                yield Result((cell,), consequence(ctx.image, reading))
                continue
            if reading.path != "linux64" or is_linux(ctx.image):
                continue
            image = ctx.image
            said = consequence(image, reading)
            pvh = declared_entry(image)
            if pvh is not None and pvh == image.entry & 0xFFFFFFFF:
                yield Result(
                    (cell,),
                    f"{said}, but e_entry is the kernel's 32-bit PVH entry "
                    f"(PHYS32_ENTRY {pvh:#x}): it crashes there",
                )
            else:
                yield Result(
                    (cell,),
                    f"{said}, and the image shows no sign of being Linux",
                    severity=Severity.WARNING,
                )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LoaderBoot()]
