"""XENFEAT_* feature bits and the names libelf accepts in the FEATURES string.

Bits come from `xen/include/public/features.h`; which names the FEATURES string parser
(`elf_xen_feature_names[]` in `xen/common/libelf/libelf-dominfo.c`) knows is per release and
lives in the release profiles. Summarised in shared/abi/xen.md §2.
"""

from __future__ import annotations

from xenlint.record import Frozen


class Feature(Frozen):
    __slots__ = ("bit", "defined_in", "name")

    bit: int
    name: str
    defined_in: tuple[int, ...]  # first features.h release defining the bit

    def __init__(self, bit: int, name: str, defined_in: tuple[int, ...]) -> None:
        set_ = object.__setattr__
        set_(self, "bit", bit)
        set_(self, "name", name)
        set_(self, "defined_in", defined_in)


FEATURES: tuple[Feature, ...] = (
    Feature(0, "writable_page_tables", (3, 0)),
    Feature(1, "writable_descriptor_tables", (3, 0)),
    Feature(2, "auto_translated_physmap", (3, 0)),
    Feature(3, "supervisor_mode_kernel", (3, 0)),
    Feature(4, "pae_pgdir_above_4gb", (3, 0)),
    Feature(5, "mmu_pt_update_preserve_ad", (3, 4)),
    Feature(6, "highmem_assist", (3, 4)),
    Feature(7, "gnttab_map_avail_bits", (3, 4)),
    Feature(8, "hvm_callback_vector", (4, 1)),
    Feature(9, "hvm_safe_pvclock", (4, 1)),
    Feature(10, "hvm_pirqs", (4, 1)),
    Feature(11, "dom0", (4, 2)),
    Feature(12, "grant_map_identity", (4, 5)),
    Feature(13, "memory_op_vnode_supported", (4, 6)),
    Feature(14, "ARM_SMCCC_supported", (4, 10)),
    Feature(15, "linux_rsdp_unrestricted", (4, 11)),
    Feature(16, "not_direct_mapped", (4, 16)),
    Feature(17, "direct_mapped", (4, 16)),
    Feature(18, "runstate_phys_area", (4, 19)),
    Feature(19, "vcpu_time_phys_area", (4, 19)),
    Feature(20, "dm_msix_all_writes", (4, 19)),
)

BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
BY_BIT: dict[int, Feature] = {f.bit: f for f in FEATURES}

# XENFEAT_NR_SUBMAPS is 1 in every release: only the first 32-bit word of a bitmap counts.
SUBMAP_BITS = 32

# libelf splits FEATURES tokens into pieces of at most this many characters (xen.md §3.1).
TOKEN_MAX = 63

# Named handles for bits the core and rules act on.
DOM0 = BY_NAME["dom0"]
SUPERVISOR_MODE_KERNEL = BY_NAME["supervisor_mode_kernel"]
AUTO_TRANSLATED_PHYSMAP = BY_NAME["auto_translated_physmap"]
