"""Xen's own error messages, quoted by the rules so a finding can be matched to a boot log.

The newest wording of each (shared/abi/xen.md §11 lists where and since when each fires).
"L" messages come from libelf (xen/common/libelf/libelf-dominfo.c, shared by the hypervisor
and the toolstack), "D" from the PV dom0 builder (xen/arch/x86/pv/dom0_build.c
`dom0_construct_pv`; xen/arch/x86/domain_build.c before 4.9), "T" from the toolstack
(libxenguest). libelf prefixes its messages with "ERROR: ".
"""

from __future__ import annotations

# L, elf_xen_note_check(): an x86 image with no note region and no __xen_guest section.
NO_XEN_NOTES = "Not a Xen-ELF image: No ELF notes or '__xen_guest' section found"
# L, elf_xen_note_check(): LOADER does not start with "generic" nor GUEST_OS with "linux".
LOADER_OR_GUEST_OS = "Will only load images built for the generic loader or Linux images"
# L, elf_xen_note_check(): XEN_VERSION does not start with "xen-3.0".
XEN_VERSION = "Xen will only load images built for Xen v3.0"
# L, elf_xen_addr_calc_check(): PADDR_OFFSET set without VIRT_BASE.
PADDR_OFFSET_WITHOUT_VIRT_BASE = "ELF_PADDR_OFFSET set, VIRT_BASE unset"
# L, elf_xen_addr_calc_check(): kstart > kend, entry outside [kstart, kend], VIRT_BASE > kstart.
OUT_OF_BOUNDS = "ELF start or entries are out of bounds"
# L, elf_xen_addr_calc_check() (3.4 and later): INIT_P2M inside [kstart, kend).
P2M_OUT_OF_BOUNDS = "P->M table base is out of bounds"
# D: HV_START_LOW, rounded, above the 32-bit compat hypervisor start.
HV_START_TOO_HIGH = "Dom0 expects too high a hypervisor start address"
# D: the image overlaps the hypervisor's range.
OVERLAPS_XEN = "DOM0 image overlaps with Xen private area."
# D: HYPERCALL_PAGE outside [v_start, v_end).
BAD_HYPERCALL_PAGE = "Invalid HYPERCALL_PAGE field in ELF notes."
# D: class, machine or PAE mode differs from the hypervisor's.
DOM0_MISMATCH = "Mismatch between Xen and DOM0 kernel"
# D: '!supervisor_mode_kernel' required (a panic).
SUPERVISOR_MODE = "Dom0 requires supervisor-mode execution"
# D (4.2 and later; PVH dom0 from 4.22): SUPPORTED_FEATURES present without the dom0 bit.
NO_DOM0 = "Kernel does not support Dom0 operation"
# T, xc_dom_parse_elf_kernel() (4.2 and later): '!dom0' in a domU build.
NO_DOMU = "Kernel does not support unprivileged (DomU) operation"
# T, xc_dom_compat_check(): the guest type is not in the hypervisor's capabilities.
GUEST_TYPE_UNSUPPORTED = "guest type {guest_type} not supported by xen kernel, sorry"
# T (4.9 and later, commit ee92c92b51): auto_translated_physmap active for a PV guest.
PV_AUTOTRANSLATE = "PV Autotranslate guests no longer supported"
