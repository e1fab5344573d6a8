"""Byte-level kernels for the classic PV boot path, one per condition Xen checks.

Each is a minimal x86 kernel from `elfbuilder.xen_kernel` (one R+X PT_LOAD at 1 MiB, notes
in a PT_NOTE) that differs from a clean kernel in one way. The rule tests judge them per
release; the libxenguest test asserts Xen 4.17 agrees on every one.
"""

from __future__ import annotations

from elfbuilder import (
    PF_R,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    Note,
    Section,
    Segment,
    build_elf,
    note_bytes,
    u32,
    u64,
    xen_kernel,
)

LOAD = 0x100000
SIZE = 0x2000  # two pages: code, then the hypercall page
HIGH = 0xFFFFFFFF80000000  # Linux's __START_KERNEL_map

(ENTRY, HYPERCALL_PAGE, VIRT_BASE, PADDR_OFFSET, XEN_VERSION, GUEST_OS) = (1, 2, 3, 4, 5, 6)
(LOADER, PAE_MODE, FEATURES, HV_START_LOW, INIT_P2M, SUPPORTED, PHYS32) = (
    8,
    9,
    10,
    12,
    15,
    17,
    18,
)


def s(text: str) -> bytes:
    return text.encode() + b"\0"


def base_notes(bits: int = 64) -> list[Note]:
    return [Note(GUEST_OS, s("linux")), Note(XEN_VERSION, s("xen-3.0")), Note(LOADER, s("generic"))]


def word(value: int, bits: int) -> bytes:
    return u64(value) if bits == 64 else u32(value)


def kernel(*extra: Note, bits: int = 64, drop: tuple[int, ...] = (), **kw: object) -> bytes:
    """The base notes (minus `drop` types) plus `extra`, in a kernel at LOAD of SIZE bytes."""
    notes = [n for n in base_notes(bits) if n.type not in drop] + list(extra)
    kw.setdefault("text_size", SIZE)
    kw.setdefault("load_addr", LOAD)
    return xen_kernel(notes, bits=bits, **kw)  # type: ignore[arg-type]


def pvh(entry: int = LOAD) -> Note:
    return Note(PHYS32, u32(entry))


def no_loadable_segment() -> bytes:
    """A PT_LOAD without R, W or X: libelf's [pstart, pend] stays empty (all-ones, 0)."""
    text = Segment(PT_LOAD, 0, LOAD, LOAD, b"\x90" * 0x100, section=".text")
    notes = note_bytes([*base_notes(), pvh()])
    note = Segment(PT_NOTE, PF_R, 0, 0, notes, align=4, section=".note.Xen")
    return build_elf([text, note], entry=LOAD)


def legacy(text: str, *, bits: int = 32, vaddr: int = 0xC0100000, paddr: int = 0xC0100000) -> bytes:
    """A kernel with only a __xen_guest string (no note segment or section)."""
    seg = Segment(PT_LOAD, PF_R | PF_X, vaddr, paddr, b"\x90" * SIZE, section=".text")
    guest = Section("__xen_guest", s(text), type=1, addralign=1)
    return build_elf([seg], [guest], bits=bits, entry=vaddr)


LEGACY = "GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic,PAE=yes,VIRT_BASE=0xC0000000"

# name -> (image, what it shows)
CASES: dict[str, tuple[bytes, str]] = {
    "clean-pv": (kernel(), "a minimal PV kernel"),
    "clean-pv-pvh": (kernel(pvh()), "PV notes plus PHYS32_ENTRY"),
    "no-xen-version": (kernel(pvh(), drop=(XEN_VERSION,)), "no XEN_VERSION (PVH: shortcut)"),
    "no-loader-guest-os": (kernel(pvh(), drop=(LOADER, GUEST_OS)), "neither LOADER nor GUEST_OS"),
    "entry-at-end": (kernel(Note(ENTRY, u64(LOAD + SIZE))), "ENTRY = pend (inclusive end)"),
    "entry-past-end": (
        kernel(Note(ENTRY, u64(LOAD + SIZE + 1)), pvh()),
        "ENTRY one byte past the end",
    ),
    "entry-below-start": (kernel(Note(ENTRY, u64(LOAD - 1)), pvh()), "ENTRY below the start"),
    "e-entry-outside": (kernel(pvh(), entry=0x5000), "no ENTRY note, e_entry outside"),
    "linked-high-no-virt-base": (
        kernel(
            Note(ENTRY, u64(HIGH + 0x1000000)),
            pvh(0x1000000),
            vaddr=HIGH + 0x1000000,
            load_addr=0x1000000,
        ),
        "linked high, p_paddr physical, no VIRT_BASE",
    ),
    "linked-high-virt-base": (
        kernel(
            Note(ENTRY, u64(HIGH + 0x1000000)),
            Note(VIRT_BASE, u64(HIGH)),
            pvh(0x1000000),
            vaddr=HIGH + 0x1000000,
            load_addr=0x1000000,
        ),
        "linked high with VIRT_BASE",
    ),
    "virt-base-above-start": (
        kernel(Note(VIRT_BASE, u64(0x80000000)), Note(PADDR_OFFSET, u64(0x80000000)), pvh()),
        "VIRT_BASE above virt_kstart",
    ),
    "paddr-offset-only": (kernel(Note(PADDR_OFFSET, u64(0)), pvh()), "PADDR_OFFSET, no VIRT_BASE"),
    "no-loadable-segment": (no_loadable_segment(), "PT_LOAD without R/W/X flags"),
    "hypercall-page-inside": (kernel(Note(HYPERCALL_PAGE, u64(LOAD + 0x1000))), "inside"),
    "hypercall-page-outside": (
        kernel(Note(HYPERCALL_PAGE, u64(LOAD + 0x10000))),
        "HYPERCALL_PAGE past the image",
    ),
    "init-p2m-inside": (kernel(Note(INIT_P2M, u64(LOAD + 0x10)), pvh()), "INIT_P2M in the image"),
    "init-p2m-at-end": (kernel(Note(INIT_P2M, u64(LOAD + SIZE)), pvh()), "INIT_P2M = virt_kend"),
    "start-not-page-aligned": (
        kernel(pvh(LOAD + 0x10), load_addr=LOAD + 0x10),
        "p_paddr 1 MiB + 16",
    ),
    "pae-none-32": (kernel(pvh(), bits=32), "32-bit, no PAE_MODE"),
    "pae-no-32": (kernel(Note(PAE_MODE, s("no")), bits=32), "32-bit, PAE_MODE 'no'"),
    "pae-uppercase-32": (kernel(Note(PAE_MODE, s("YES")), bits=32), "32-bit, PAE_MODE 'YES'"),
    "pae-yes-32": (kernel(Note(PAE_MODE, s("yes")), bits=32), "32-bit, PAE_MODE 'yes'"),
    "pae-bimodal-32": (kernel(Note(PAE_MODE, s("yes,bimodal")), bits=32), "PAE 'yes,bimodal'"),
    "pae-sticky-32": (
        kernel(Note(PAE_MODE, s("yes")), Note(PAE_MODE, s("no")), bits=32),
        "'yes' then 'no': stays PAE",
    ),
    "hv-start-low-32": (
        kernel(Note(PAE_MODE, s("yes")), Note(HV_START_LOW, u32(0xF5800001)), bits=32),
        "HV_START_LOW above the compat area (dom0 only)",
    ),
    "required-dom0": (kernel(Note(FEATURES, s("!dom0")), pvh()), "FEATURES '!dom0'"),
    "dom0-bit-missing": (kernel(Note(SUPPORTED, u32(1)), pvh()), "SUPPORTED_FEATURES without dom0"),
    "required-auto-translated": (
        kernel(Note(FEATURES, s("!auto_translated_physmap")), pvh()),
        "'!auto_translated_physmap'",
    ),
    "required-supervisor-mode": (
        kernel(Note(FEATURES, s("!supervisor_mode_kernel")), pvh()),
        "'!supervisor_mode_kernel' (dom0 only)",
    ),
    "required-unknown": (
        kernel(Note(FEATURES, s("!no_such_feature")), pvh()),
        "'!no_such_feature'",
    ),
    "legacy-clean": (legacy(LEGACY), "__xen_guest, p_paddr = p_vaddr"),
    "legacy-paddr-physical": (
        legacy(LEGACY, paddr=0x100000),
        "__xen_guest, p_paddr physical: PADDR_OFFSET defaults to VIRT_BASE",
    ),
    "legacy-paddr-offset-only": (
        legacy("GUEST_OS=linux,XEN_VER=xen-3.0,PAE=yes,ELF_PADDR_OFFSET=0", paddr=0xC0100000),
        "__xen_guest ELF_PADDR_OFFSET without VIRT_BASE",
    ),
}
