"""XEN_ELFNOTE_* types: numbers, names and how libelf decodes their descriptors.

Every fact here comes from Xen's `xen/include/public/elfnote.h` and the `note_desc[]`
table in `xen/common/libelf/libelf-dominfo.c`, as summarised in shared/abi/xen.md §1.
The release in which libelf first *parses* a type is a property of each release profile
(see `xen.py`), not of the type.
"""

from __future__ import annotations

import enum

from xenlint.record import Frozen


class DescKind(enum.Enum):
    """How libelf reads a note's descriptor."""

    NUMERIC = "numeric"  # elf_note_numeric: sizes 1/2/4/8, anything else reads as 0
    STRING = "string"  # NUL-terminated, not bounded by descsz
    BITMAP = "bitmap"  # array of 32-bit words (SUPPORTED_FEATURES)
    PAIRS = "pairs"  # list of maddr_t-sized mask/value pairs (L1_MFN_VALID)
    WORDS = "words"  # up to three 32-bit words (PHYS32_RELOC)
    NONE = "none"  # never parsed by libelf (INFO)


class NoteType(Frozen):
    __slots__ = ("kind", "legacy_key", "name", "number", "summary")

    number: int
    name: str  # the suffix of XEN_ELFNOTE_<name>
    kind: DescKind
    summary: str
    # The key used for this note in the legacy `__xen_guest` string, if it has one.
    legacy_key: str | None

    def __init__(
        self, number: int, name: str, kind: DescKind, summary: str, legacy_key: str | None = None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "number", number)
        set_(self, "name", name)
        set_(self, "kind", kind)
        set_(self, "summary", summary)
        set_(self, "legacy_key", legacy_key)


def _t(number: int, name: str, kind: DescKind, summary: str, legacy: str | None = None) -> NoteType:
    return NoteType(number, name, kind, summary, legacy)


N, S = DescKind.NUMERIC, DescKind.STRING

# elfnote.h (RELEASE-4.22.0); first header / libelf release per type in shared/abi/xen.md §1.
NOTE_TYPES: tuple[NoteType, ...] = (
    _t(0, "INFO", DescKind.NONE, "free-form NAME=VALUE string, never parsed by libelf"),
    _t(1, "ENTRY", N, "virtual entry point of a PV kernel", "VIRT_ENTRY"),
    _t(2, "HYPERCALL_PAGE", N, "virtual address of the hypercall page", "HYPERCALL_PAGE"),
    _t(3, "VIRT_BASE", N, "virtual base address of the image", "VIRT_BASE"),
    _t(
        4,
        "PADDR_OFFSET",
        N,
        "offset of p_paddr from the pseudo-physical address",
        "ELF_PADDR_OFFSET",
    ),
    _t(5, "XEN_VERSION", S, "hypercall ABI version, must start with 'xen-3.0'", "XEN_VER"),
    _t(6, "GUEST_OS", S, "guest operating system name", "GUEST_OS"),
    _t(7, "GUEST_VERSION", S, "guest operating system version", "GUEST_VER"),
    _t(8, "LOADER", S, "loader the image is built for, 'generic'", "LOADER"),
    _t(9, "PAE_MODE", S, "'yes', 'no', 'bimodal' (32-bit x86 only)", "PAE"),
    _t(10, "FEATURES", S, "'|'-separated feature names, '!' marks a required one", "FEATURES"),
    _t(11, "BSD_SYMTAB", S, "'yes' loads the symbol table after the kernel", "BSD_SYMTAB"),
    _t(12, "HV_START_LOW", N, "lowest start of the hypervisor hole (32-bit PV dom0)"),
    _t(13, "L1_MFN_VALID", DescKind.PAIRS, "mask/value pairs for valid L1 MFNs (unused)"),
    _t(14, "SUSPEND_CANCEL", N, "cooperative suspend cancellation supported"),
    _t(15, "INIT_P2M", N, "virtual address of the initial P2M table (x86-64 PV)"),
    _t(16, "MOD_START_PFN", N, "the initrd is passed by PFN and need not be mapped"),
    _t(17, "SUPPORTED_FEATURES", DescKind.BITMAP, "bitmap of supported feature bits"),
    _t(18, "PHYS32_ENTRY", N, "32-bit physical entry point for a PVH boot"),
    _t(19, "PHYS32_RELOC", DescKind.WORDS, "PVH dom0 relocation: align, min, max"),
)

BY_NUMBER: dict[int, NoteType] = {t.number: t for t in NOTE_TYPES}
BY_NAME: dict[str, NoteType] = {t.name: t for t in NOTE_TYPES}


# The `__xen_guest` key of each note that has one (elf_xen_parse_guest_info, xen.md §5.5).
def type_name(number: int) -> str:
    """A note type as messages name it: XEN_ELFNOTE_'s name without the prefix, or 'type 0x..'
    for a number no release defines."""
    known = BY_NUMBER.get(number)
    return known.name if known else f"type {number:#x}"


BY_LEGACY_KEY: dict[str, NoteType] = {t.legacy_key: t for t in NOTE_TYPES if t.legacy_key}

# Named handles so code refers to notes by name, never by number.
INFO = BY_NAME["INFO"]
ENTRY = BY_NAME["ENTRY"]
HYPERCALL_PAGE = BY_NAME["HYPERCALL_PAGE"]
VIRT_BASE = BY_NAME["VIRT_BASE"]
PADDR_OFFSET = BY_NAME["PADDR_OFFSET"]
XEN_VERSION = BY_NAME["XEN_VERSION"]
GUEST_OS = BY_NAME["GUEST_OS"]
GUEST_VERSION = BY_NAME["GUEST_VERSION"]
LOADER = BY_NAME["LOADER"]
PAE_MODE = BY_NAME["PAE_MODE"]
FEATURES = BY_NAME["FEATURES"]
BSD_SYMTAB = BY_NAME["BSD_SYMTAB"]
HV_START_LOW = BY_NAME["HV_START_LOW"]
L1_MFN_VALID = BY_NAME["L1_MFN_VALID"]
SUSPEND_CANCEL = BY_NAME["SUSPEND_CANCEL"]
INIT_P2M = BY_NAME["INIT_P2M"]
MOD_START_PFN = BY_NAME["MOD_START_PFN"]
SUPPORTED_FEATURES = BY_NAME["SUPPORTED_FEATURES"]
PHYS32_ENTRY = BY_NAME["PHYS32_ENTRY"]
PHYS32_RELOC = BY_NAME["PHYS32_RELOC"]

# Notes whose presence declares a classic PV kernel (used by the `auto` mode): a PV entry
# point. VIRT_BASE alone does not: Linux 6.1 (arch/x86/xen/xen-head.S) writes VIRT_BASE for
# every CONFIG_XEN kernel but ENTRY only with CONFIG_XEN_PV (x86-64 only), so Debian's 32-bit
# 686-pae kernel carries VIRT_BASE and PHYS32_ENTRY and boots PVH only. A kernel without
# PHYS32_ENTRY is judged as PV whatever notes it has.
PV_DECLARING = (ENTRY, HYPERCALL_PAGE)

# Scalar notes where a second occurrence silently replaces the first (xen.md §5.2).
LAST_WINS = (
    ENTRY,
    HYPERCALL_PAGE,
    VIRT_BASE,
    PADDR_OFFSET,
    XEN_VERSION,
    GUEST_OS,
    GUEST_VERSION,
    LOADER,
    HV_START_LOW,
    SUSPEND_CANCEL,
    INIT_P2M,
    MOD_START_PFN,
    PHYS32_ENTRY,
    PHYS32_RELOC,
)

# Sizes elf_note_numeric() understands; any other size reads as 0 (xen.md §5.4).
NUMERIC_SIZES = (1, 2, 4, 8)

# libelf's "not given" marker for its 64-bit parameters (UNSET_ADDR, ~0ULL in libelf.h since
# 3.1): elf_xen_parse starts virt_base, elf_paddr_offset, virt_entry, virt_hypercall,
# virt_hv_start_low and (3.4+) p2m_base at it, so a note holding exactly this value leaves the
# parameter unset (RELEASE-4.17.0:xen/common/libelf/libelf-dominfo.c elf_xen_parse,
# elf_xen_addr_calc_check; tools/libs/guest/xg_dom_x86.c skips an unset virt_hypercall).
UNSET_ADDR = (1 << 64) - 1

# Notes whose value libelf keeps in one of those parameters, so all-ones means "unset".
UNSET_MEANS_ABSENT = (
    "ENTRY",
    "HYPERCALL_PAGE",
    "VIRT_BASE",
    "PADDR_OFFSET",
    "HV_START_LOW",
    "INIT_P2M",
)

# The value of PHYS32_ENTRY that libelf treats as "unset" (UNSET_ADDR32, c2ba8c24f3).
PHYS32_UNSET = 0xFFFFFFFF

# Bytes libelf keeps of LOADER, GUEST_OS, GUEST_VERSION and XEN_VERSION (16-byte buffers).
STRING_KEEP = 15

# libelf's bounded string read (4.3, 4.1.6, 4.2.3 and later): a string must end within this.
STRING_BOUND = 4096

# ELF_MAX_TOTAL_NOTE_COUNT (XSA-55 hardening, xen.md §5.1).
MAX_NOTES = 65536

# The legacy section holding a comma-separated NAME=VALUE string (xen.md §5.5).
XEN_GUEST_SECTION = "__xen_guest"

# Owner name of every note this linter reads.
XEN_OWNER = b"Xen"

# Prefixes elf_xen_note_check() compares (xen.md §4).
LOADER_PREFIX = "generic"
GUEST_OS_PREFIX = "linux"
XEN_VERSION_PREFIX = "xen-3.0"

# PHYS32_RELOC defaults when a word is absent (RELEASE-4.19.0: libelf-dominfo.c elf_xen_parse,
# xen/arch/x86/hvm/dom0_build.c find_kernel_memory; xen.md §7). The align word 0xFFFFFFFF is
# UNSET_ADDR32 (= PHYS32_UNSET) and means "use the default" too.
RELOC_MIN_DEFAULT = 0
RELOC_MAX_DEFAULT = 0xFFFFFFFF  # x86 (ARCH_PHYS_MAX_DEFAULT)
RELOC_ALIGN_DEFAULT = 2 << 20  # 2 MiB, used when the largest p_align is below a page
RELOC_PAGE = 4096  # a largest loadable p_align of at least this is the default align
