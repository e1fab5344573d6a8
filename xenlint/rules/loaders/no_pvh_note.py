"""XL510: a loader target needs a PHYS32_ENTRY note at all."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import (
    QEMU_LAST_MULTIBOOT,
    consequence,
    has_any_entry_note,
    is_linux,
    multiboot_past_qemu_window,
)
from xenlint.replay.reach import loader_miss
from xenlint.replay.toolchain import missing_pvh_note_fix


class NoPvhNote(Rule):
    code = "XL510"
    name = "no-pvh-note"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a PVH loader is targeted but the kernel has no PHYS32_ENTRY note at all"
    explanation = """
QEMU (-kernel with an ELF), rust-vmm linux-loader, Firecracker and Cloud Hypervisor boot an
uncompressed ELF kernel through the PVH entry in the Xen PHYS32_ENTRY note (type 18) only.
Without one, QEMU exits with "Error loading uncompressed kernel without PVH ELF Note" (no
fallback: not to the Linux protocol, not to e_entry), Cloud Hypervisor fails with "Kernel
lacks PVH header", linux-loader reports PvhEntryNotPresent, and Firecracker (1.12+) quietly
boots the ELF through the 64-bit Linux boot protocol at e_entry, which only a Linux vmlinux
survives: a warning for an image that shows itself Linux (a "Linux" note or GUEST_OS "linux"),
an error for any other.
"""
    fix = """
Add ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long <physical address of a 32-bit entry>) in an
allocatable .note.Xen section covered by a PT_NOTE segment, or drop the loader from the
project's targets.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        if has_any_entry_note(ctx.image):
            return
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            if reading.path != "pvh":
                continue
            absent = reading.failure is not None and reading.failure.kind == "absent"
            if cell.loader and loader_miss(ctx.image, cell.loader.walks_p_align):
                continue  # the note is there, the walk misses it: XL008 says where
            if not absent:  # the loader stops earlier (XL505-XL508 say why)
                yield Result((cell,), "no PHYS32_ENTRY note: the kernel has no PVH entry")
                continue
            fallback = cell.loader is not None and cell.loader.absent == "linux-fallback"
            message = f"no PHYS32_ENTRY note: {consequence(ctx.image, reading)}"
            late = multiboot_past_qemu_window(ctx.image)
            if late is not None and cell.loader is not None and cell.loader.multiboot_first:
                move = late - QEMU_LAST_MULTIBOOT
                yield Result(
                    (cell,),
                    f"the multiboot header at {late:#x} is outside QEMU's multiboot window "
                    f"(offsets up to {QEMU_LAST_MULTIBOOT:#x}: it probes 8192 - 48 bytes, GRUB "
                    f"8192), so QEMU looks for a PVH note instead and exits with "
                    f'"{reading.failure.message if reading.failure else ""}"',
                    Location(None, None, late),
                    fix=(
                        f"move the multiboot header at least {move} bytes earlier (to "
                        f"{QEMU_LAST_MULTIBOOT:#x} or below), e.g. by placing its section first "
                        "in the first PT_LOAD; or add a PHYS32_ENTRY note for QEMU's PVH boot"
                    ),
                )
                continue
            if fallback and not is_linux(ctx.image):
                # Only a Linux vmlinux survives the 64-bit Linux entry; nothing here says
                # this is one, so the fallback most likely crashes.
                message += (
                    ", which only a Linux kernel survives, and this image shows no sign of Linux"
                )
            yield Result(
                (cell,),
                message,
                severity=Severity.WARNING if fallback and is_linux(ctx.image) else None,
                fix=missing_pvh_note_fix(ctx.image),
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NoPvhNote()]
