"""One profile per Xen release whose ELF-note handling differs: the data every Xen rule reads.

Sources are tags of the xen-project/xen repository, cited as `TAG:path` with the commit that
introduced a behaviour; shared/abi/xen.md has the long form. A profile covers its release and
the later point releases of the same series up to the next profile (4.10.1 covers 4.10.1-4.10.x).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode, Profile, format_version

Version = tuple[int, ...]
Shortcut = Literal["none", "pv+pvh", "pvh"]


class XenRelease(Profile):
    """What one Xen release does with a kernel's notes; field comments say where it comes from."""

    # elf_phdr_is_loadable: a PT_LOAD counts with R, W or X from 4.0; before, only with W or X
    # (RELEASE-4.0.0 vs 3.4:xen/common/libelf/libelf-tools.c), so a read-only one is skipped
    __slots__ = (
        "arm_skips_note_check",
        "bounded_reads",
        "dom0_bit_check_pv",
        "dom0_bit_check_pvh",
        "domu_refuses_required_dom0",
        "feature_names",
        "hvm_flag",
        "known_notes",
        "non_pae_pv32",
        "note_check_shows_values",
        "p2m_bounds_checked",
        "paddr_offset_check_pvh",
        "phys32_shortcut",
        "pv32_default",
        "pv_autotranslate_refused",
        "pvh_dom0_parsed_as_pv",
        "pvh_entry_bounds_checked",
        "pvh_needs_phys32",
        "read_only_load_skipped",
        "segment_align_message",
        "unknown_feature_fatal",
        "xen_guest_for_pvh",
        "xen_guest_hypercall_any_order",
    )

    read_only_load_skipped: bool
    # elf_xen_note_check skips its LOADER/GUEST_OS/XEN_VERSION checks for EM_ARM (4.2+)
    arm_skips_note_check: bool
    # elf_xen_addr_calc_check refuses an INIT_P2M inside [virt_kstart, virt_kend) (3.4+)
    p2m_bounds_checked: bool
    known_notes: frozenset[int]  # note types libelf parses; others are logged "unknown"
    feature_names: frozenset[str]  # names elf_xen_feature_names[] accepts in FEATURES
    unknown_feature_fatal: bool  # an unknown name *without* '!' fails the parse
    phys32_shortcut: Shortcut  # when PHYS32_ENTRY alone satisfies elf_xen_note_check
    pvh_entry_bounds_checked: bool  # PHYS32_ENTRY checked against the p_paddr range
    xen_guest_for_pvh: bool  # __xen_guest consulted when parsing a PVH kernel
    bounded_reads: bool  # XSA-55: strings end within 4096 bytes, 65536-note cap
    paddr_offset_check_pvh: bool  # "ELF_PADDR_OFFSET set, VIRT_BASE unset" also for PVH
    pvh_needs_phys32: bool  # toolstack refuses an HVM container without PHYS32_ENTRY
    dom0_bit_check_pv: bool  # PV dom0 refused if SUPPORTED_FEATURES lacks the dom0 bit
    dom0_bit_check_pvh: bool  # the same for a PVH dom0
    pvh_dom0_parsed_as_pv: bool  # PVH dom0 parsed without the hvm flag (4.9-4.15)
    hvm_flag: bool  # elf_xen_parse() is told whether it parses a PVH (hvm) kernel
    # elf_xen_note_check() errors print the offending LOADER/GUEST_OS/XEN_VERSION (4.4+)
    note_check_shows_values: bool
    # __xen_guest HYPERCALL_PAGE gets VIRT_BASE added after the whole string is read (4.11+);
    # before, at the item itself, so an unset VIRT_BASE (all-ones) was added if it came later
    xen_guest_hypercall_any_order: bool
    # Classic PV boot path (xen.md §3.4, §6, §8).
    pv32_default: bool  # a default hypervisor build runs 32-bit PV guests (CONFIG_PV32)
    non_pae_pv32: bool  # the hypervisor advertises "xen-3.0-x86_32" (32-bit PV without PAE)
    pv_autotranslate_refused: bool  # tools refuse a PV guest needing auto_translated_physmap
    domu_refuses_required_dom0: bool  # tools refuse '!dom0' for an unprivileged guest
    segment_align_message: str  # the toolstack allocator's error for a misaligned kernel start

    def __init__(
        self,
        *,
        family: str,
        version: tuple[int, ...],
        name: str,
        modes: frozenset[Mode],
        note: str = "",
        fixed_modes: bool = False,
        covers_later: bool = False,
        before: str = "",
        read_only_load_skipped: bool,
        arm_skips_note_check: bool,
        p2m_bounds_checked: bool,
        known_notes: frozenset[int],
        feature_names: frozenset[str],
        unknown_feature_fatal: bool,
        phys32_shortcut: Shortcut,
        pvh_entry_bounds_checked: bool,
        xen_guest_for_pvh: bool,
        bounded_reads: bool,
        paddr_offset_check_pvh: bool,
        pvh_needs_phys32: bool,
        dom0_bit_check_pv: bool,
        dom0_bit_check_pvh: bool,
        pvh_dom0_parsed_as_pv: bool,
        hvm_flag: bool,
        note_check_shows_values: bool,
        xen_guest_hypercall_any_order: bool,
        pv32_default: bool,
        non_pae_pv32: bool,
        pv_autotranslate_refused: bool,
        domu_refuses_required_dom0: bool,
        segment_align_message: str,
    ) -> None:
        super().__init__(
            family=family,
            version=version,
            name=name,
            modes=modes,
            note=note,
            fixed_modes=fixed_modes,
            covers_later=covers_later,
            before=before,
        )
        set_ = object.__setattr__
        set_(self, "read_only_load_skipped", read_only_load_skipped)
        set_(self, "arm_skips_note_check", arm_skips_note_check)
        set_(self, "p2m_bounds_checked", p2m_bounds_checked)
        set_(self, "known_notes", known_notes)
        set_(self, "feature_names", feature_names)
        set_(self, "unknown_feature_fatal", unknown_feature_fatal)
        set_(self, "phys32_shortcut", phys32_shortcut)
        set_(self, "pvh_entry_bounds_checked", pvh_entry_bounds_checked)
        set_(self, "xen_guest_for_pvh", xen_guest_for_pvh)
        set_(self, "bounded_reads", bounded_reads)
        set_(self, "paddr_offset_check_pvh", paddr_offset_check_pvh)
        set_(self, "pvh_needs_phys32", pvh_needs_phys32)
        set_(self, "dom0_bit_check_pv", dom0_bit_check_pv)
        set_(self, "dom0_bit_check_pvh", dom0_bit_check_pvh)
        set_(self, "pvh_dom0_parsed_as_pv", pvh_dom0_parsed_as_pv)
        set_(self, "hvm_flag", hvm_flag)
        set_(self, "note_check_shows_values", note_check_shows_values)
        set_(self, "xen_guest_hypercall_any_order", xen_guest_hypercall_any_order)
        set_(self, "pv32_default", pv32_default)
        set_(self, "non_pae_pv32", non_pae_pv32)
        set_(self, "pv_autotranslate_refused", pv_autotranslate_refused)
        set_(self, "domu_refuses_required_dom0", domu_refuses_required_dom0)
        set_(self, "segment_align_message", segment_align_message)


# The fields that describe a boot in some guest modes only (the dom0 feature-bit checks, the
# toolstack's domU and HVM-container checks): every read of them is behind a test of the mode.
# In any other mode, releases that differ only in them behave alike (the engine judges one
# cell for them: xenlint.engine.check.alike_cells).
MODE_SCOPED_FIELDS: dict[str, frozenset[Mode]] = {
    "dom0_bit_check_pv": frozenset({Mode.PV_DOM0}),
    "dom0_bit_check_pvh": frozenset({Mode.PVH_DOM0}),
    "domu_refuses_required_dom0": frozenset({Mode.PV, Mode.PVH}),
    "pvh_needs_phys32": frozenset({Mode.PVH, Mode.PVH_DOM0}),
}


def _at_least(version: Version, first: str, *backports: str) -> bool:
    """True when `version` has a change first released in `first`, or in a listed point release
    of an older series (a backport)."""
    if version >= _v(first):
        return True
    return any(version[:2] == _v(b)[:2] and version >= _v(b) for b in backports)


@cache  # the table below asks for the same few dozen versions some 1,300 times at import
def _v(text: str) -> Version:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def _known_notes(v: Version) -> frozenset[int]:
    known = {t.number for t in N.NOTE_TYPES if 1 <= t.number <= 14} - {N.L1_MFN_VALID.number}
    # 3.4 c6d8d541e9: INIT_P2M (RELEASE-4.0.0:xen/common/libelf/libelf-dominfo.c note_desc[])
    if _at_least(v, "3.4"):
        known.add(N.INIT_P2M.number)
    # 4.1 9f41c22a55: MOD_START_PFN
    if _at_least(v, "4.1"):
        known.add(N.MOD_START_PFN.number)
    # 4.2 ec029aaa9a: SUPPORTED_FEATURES (not in any 4.1.x)
    if _at_least(v, "4.2"):
        known.add(N.SUPPORTED_FEATURES.number)
    # 4.7 a1b2d39f07: PHYS32_ENTRY
    if _at_least(v, "4.7"):
        known.add(N.PHYS32_ENTRY.number)
    # 4.18 01a5814d4e: L1_MFN_VALID parsed (before: "unknown (0xd)")
    if _at_least(v, "4.18"):
        known.add(N.L1_MFN_VALID.number)
    # 4.19 dfc9fab003: PHYS32_RELOC
    if _at_least(v, "4.19"):
        known.add(N.PHYS32_RELOC.number)
    return frozenset(known)


def _feature_names(v: Version) -> frozenset[str]:
    # 3.1 eca96c65d9: bits 0-4 (TAG:xen/common/libelf/libelf-dominfo.c elf_xen_feature_names[])
    names = {F.BY_BIT[bit].name for bit in range(5)}
    # 4.2 ec029aaa9a: "dom0"
    if _at_least(v, "4.2"):
        names.add(F.DOM0.name)
    # 4.4 30832c06a8: "hvm_callback_vector" (not backported to 4.2.x/4.3.x)
    if _at_least(v, "4.4"):
        names.add(F.BY_NAME["hvm_callback_vector"].name)
    return frozenset(names)


def _shortcut(v: Version) -> Shortcut:
    # 4.16 632cbaf124: the PHYS32_ENTRY shortcut only for hvm (PVH) parses
    if _at_least(v, "4.16"):
        return "pvh"
    # 4.10.1 / 4.11 2dd3e22949: PHYS32_ENTRY alone satisfies elf_xen_note_check, PV or PVH
    if _at_least(v, "4.11", "4.10.1"):
        return "pv+pvh"
    return "none"


def _modes(v: Version) -> frozenset[Mode]:
    modes = {Mode.PV, Mode.PV_DOM0}
    # 4.7 a1b2d39f07, c2ba8c24f3: the toolstack builds an HVM container from PHYS32_ENTRY
    if _at_least(v, "4.7"):
        modes.add(Mode.PVH)
    # 4.9 62ba982424: PVHv2 dom0 builder (xen/arch/x86/hvm/dom0_build.c)
    if _at_least(v, "4.9"):
        modes.add(Mode.PVH_DOM0)
    return frozenset(modes)


def _release(version: str, name: str) -> XenRelease:
    v = _v(version)
    return XenRelease(
        family="xen",
        version=v,
        name=name,
        modes=_modes(v),
        # 4.0 (RELEASE-4.0.0:xen/common/libelf/libelf-tools.c elf_phdr_is_loadable) adds PF_R
        read_only_load_skipped=not _at_least(v, "4.0"),
        # 4.2 (RELEASE-4.2.0:xen/common/libelf/libelf-dominfo.c elf_xen_note_check): "ELF: Not
        # bothering with notes on ARM"; every other non-x86 machine is checked like x86
        arm_skips_note_check=_at_least(v, "4.2"),
        # 3.4 (3.4.0-rc3:xen/common/libelf/libelf-dominfo.c elf_xen_addr_calc_check):
        # "P->M table base is out of bounds"
        p2m_bounds_checked=_at_least(v, "3.4"),
        known_notes=_known_notes(v),
        feature_names=_feature_names(v),
        # 4.2 ec029aaa9a: unknown names without '!' ignored instead of failing the parse
        unknown_feature_fatal=not _at_least(v, "4.2"),
        phys32_shortcut=_shortcut(v),
        # 4.16 632cbaf124: hvm entry = PHYS32_ENTRY, checked against [pstart, pend]
        pvh_entry_bounds_checked=_at_least(v, "4.16"),
        # 4.16 dec25a2cd1: __xen_guest ignored for PVH
        xen_guest_for_pvh=not _at_least(v, "4.16"),
        # 4.3 XSA-55 series (04877847ad, 39bf7b9d0a), backported to 4.1.6 and 4.2.3
        bounded_reads=_at_least(v, "4.3", "4.1.6", "4.2.3"),
        # 4.18 b77ed96fce: PADDR_OFFSET-without-VIRT_BASE error skipped for hvm
        paddr_offset_check_pvh=not _at_least(v, "4.18"),
        # 4.10 96edb111dd: "image not capable of booting inside a HVM container"
        pvh_needs_phys32=_at_least(v, "4.10"),
        # 4.2 ec029aaa9a + 63b9bf3017: "Kernel does not support Dom0 operation" (PV dom0)
        dom0_bit_check_pv=_at_least(v, "4.2"),
        # 4.22 44429b6931, backported to 4.20.4 and 4.21.2: the same check for PVH dom0
        dom0_bit_check_pvh=_at_least(v, "4.22", "4.20.4", "4.21.2"),
        # 4.9-4.15 PVH dom0 parsed without the hvm flag (the flag arrived in 4.16, dec25a2cd1)
        pvh_dom0_parsed_as_pv=not _at_least(v, "4.16"),
        # 4.16 dec25a2cd1: elf_xen_parse(..., hvm)
        hvm_flag=_at_least(v, "4.16"),
        # 4.4 e6564c6348: " (Not '<loader>' and '<guest_os>')" / " (Not '<xen_ver>')" appended
        note_check_shows_values=_at_least(v, "4.4"),
        # 4.11 f2613bd7f2 (not backported): HYPERCALL_PAGE/VIRT_BASE order-independent
        xen_guest_hypercall_any_order=_at_least(v, "4.11"),
        # 4.16 1a0f2fe229: CONFIG_PV32 "default PV_SHIM" (it was "default y" since 68d757df8d,
        # 4.14); without it "Found 32-bit PV kernel, but CONFIG_PV32 missing" (2e5512d1ff) and
        # no "xen-3.0-x86_32p" capability (RELEASE-4.17.0:xen/arch/x86/setup.c)
        pv32_default=not _at_least(v, "4.16"),
        # RELEASE-4.0.0 onwards: arch_get_xen_caps lists xen-3.0-x86_32p, never xen-3.0-x86_32
        non_pae_pv32=not _at_least(v, "4.0"),
        # 4.9 ee92c92b51: "PV Autotranslate guests no longer supported" (xg_dom_x86.c bootearly)
        pv_autotranslate_refused=_at_least(v, "4.9"),
        # 4.2 ec029aaa9a: "Kernel does not support unprivileged (DomU) operation"
        domu_refuses_required_dom0=_at_least(v, "4.2"),
        # xc_dom_alloc_pad (tools/libxc/xc_dom_core.c, later tools/libs/guest/xg_dom_core.c)
        segment_align_message="segment boundary isn't page aligned"
        if _at_least(v, "4.7")
        else "segment start isn't page aligned",
        note=_NOTES.get(name, ""),
    )


_NOTES = {
    "xen-3.1": "first libelf; unknown feature names fatal",
    "xen-3.2": "BSD_SYMTAB extends the kernel end",
    "xen-3.4": "INIT_P2M (bounds-checked)",
    "xen-4.1.6": "XSA-55 bounded note parsing backported",
    "xen-4.2.0": "SUPPORTED_FEATURES, 'dom0' name; unknown names without '!' ignored",
    "xen-4.2.3": "XSA-55 bounded note parsing backported",
    "xen-4.3": "bounded note parsing (XSA-55)",
    "xen-4.4": "'hvm_callback_vector' accepted by name",
    "xen-4.7": "PHYS32_ENTRY (PVH domU)",
    "xen-4.9": "PVH dom0",
    "xen-4.10.0": "PVH without PHYS32_ENTRY refused",
    "xen-4.10.1": "PHYS32_ENTRY satisfies the note check (backport)",
    "xen-4.11": "PHYS32_ENTRY satisfies the note check",
    "xen-4.16": "hvm-aware parse: PVH entry bounds-checked, __xen_guest PV only",
    "xen-4.18": "L1_MFN_VALID known; PADDR_OFFSET check skipped for PVH",
    "xen-4.19": "PHYS32_RELOC",
    "xen-4.20.4": "PVH dom0 feature check backported",
    "xen-4.21.2": "PVH dom0 feature check backported",
    "xen-4.22": "PVH dom0 feature check",
}

# (first version, profile name). Series with one profile are named by series ("xen-4.6");
# series whose point releases differ name each profile by its first release.
_TABLE: tuple[tuple[str, str], ...] = (
    ("3.1", "xen-3.1"),
    ("3.2", "xen-3.2"),
    ("3.3", "xen-3.3"),
    ("3.4", "xen-3.4"),
    ("4.0", "xen-4.0"),
    ("4.1.0", "xen-4.1.0"),
    ("4.1.6", "xen-4.1.6"),
    ("4.2.0", "xen-4.2.0"),
    ("4.2.3", "xen-4.2.3"),
    *((f"4.{n}", f"xen-4.{n}") for n in range(3, 10)),
    ("4.10.0", "xen-4.10.0"),
    ("4.10.1", "xen-4.10.1"),
    *((f"4.{n}", f"xen-4.{n}") for n in range(11, 20)),
    ("4.20.0", "xen-4.20.0"),
    ("4.20.4", "xen-4.20.4"),
    ("4.21.0", "xen-4.21.0"),
    ("4.21.2", "xen-4.21.2"),
    ("4.22", "xen-4.22"),
)

RELEASES: tuple[XenRelease, ...] = tuple(_release(version, name) for version, name in _TABLE)

# The start of the hypervisor's area in a 32-bit (compat) PV guest, __HYPERVISOR_COMPAT_VIRT_START
# (xen/include/asm-x86/config.h, later xen/arch/x86/include/asm/config.h): a 32-bit PV dom0's
# HV_START_LOW, rounded up to L2_PAGETABLE_SHIFT (2 MiB), must not be above it
# (RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv).
COMPAT_HV_START = 0xF5800000
HV_START_ROUND = 1 << 21

# Page size of the toolstack's kernel-segment allocator (XC_DOM_PAGE_SIZE on x86).
PAGE_SIZE = 4096

# Default targets when a project configures none: every 4.x release.
DEFAULT_TARGETS: tuple[str, ...] = ("xen>=4.0",)

FIRST_PVH = format_version(min(r.version for r in RELEASES if Mode.PVH in r.modes))
FIRST_PVH_DOM0 = format_version(min(r.version for r in RELEASES if Mode.PVH_DOM0 in r.modes))
