"""What guest kernels call the distance between their virtual and physical addresses, so a
fix can be written in the kernel's own words (`pvh_start_xen - __START_KERNEL_map`) rather
than as a number.

A kernel linked at a high virtual address has PT_LOAD segments with p_vaddr = p_paddr +
offset; its PVH note must hold the physical address, `symbol - offset`. Each entry below is
matched by the image's GUEST_OS note, its e_machine and the offset its segments show.
"""

from __future__ import annotations

from xenlint.abi.elf import EM_386, EM_X86_64
from xenlint.record import Frozen


class VirtOffset(Frozen):
    __slots__ = ("guest_os", "machine", "name", "offset", "source")

    guest_os: str  # GUEST_OS note value, compared case-insensitively
    machine: int  # e_machine
    offset: int  # p_vaddr - p_paddr of the kernel's segments
    name: str  # how the kernel's sources spell the offset
    source: str

    def __init__(self, guest_os: str, machine: int, offset: int, name: str, source: str) -> None:
        set_ = object.__setattr__
        set_(self, "guest_os", guest_os)
        set_(self, "machine", machine)
        set_(self, "offset", offset)
        set_(self, "name", name)
        set_(self, "source", source)


VIRT_OFFSETS: tuple[VirtOffset, ...] = (
    VirtOffset(
        "linux",
        EM_X86_64,
        0xFFFFFFFF80000000,
        "__START_KERNEL_map",
        # arch/x86/include/asm/page_64_types.h: `#define __START_KERNEL_map
        # _AC(0xffffffff80000000, UL)`; arch/x86/kernel/vmlinux.lds.S links at LOAD_OFFSET =
        # __START_KERNEL_map; arch/x86/platform/pvh/head.S writes its note as
        # `_ASM_PTR (pvh_start_xen - __START_KERNEL_map)`.
        "Linux v6.1 arch/x86/include/asm/page_64_types.h, arch/x86/platform/pvh/head.S",
    ),
    VirtOffset(
        "linux",
        EM_386,
        0xC0000000,
        "__START_KERNEL_map",
        # arch/x86/include/asm/page_32_types.h: `#define __START_KERNEL_map __PAGE_OFFSET`,
        # CONFIG_PAGE_OFFSET 0xC0000000 with the default VMSPLIT_3G (arch/x86/Kconfig).
        "Linux v6.1 arch/x86/include/asm/page_32_types.h, arch/x86/Kconfig PAGE_OFFSET",
    ),
)


def offset_name(guest_os: str | None, machine: int, offset: int) -> str | None:
    """The source-level name of a virtual-to-physical offset, or None when unknown."""
    if guest_os is None:
        return None
    for known in VIRT_OFFSETS:
        if (
            guest_os.lower().startswith(known.guest_os)
            and machine == known.machine
            and offset == known.offset
        ):
            return known.name
    return None
