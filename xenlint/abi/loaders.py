"""One profile per PVH loader version whose reading of the PHYS32_ENTRY note differs.

These loaders boot the same note Xen does, each with its own walk: QEMU (`-kernel` with an
ELF), rust-vmm linux-loader, and the VMMs built on it (Firecracker, Cloud Hypervisor).
shared/abi/loaders.md has the long form; each field below names the source it comes from.
Sources read for this table:

- qemu/qemu `hw/i386/x86-common.c` @04ddbb13 (`read_pvh_start_addr`, `load_elfboot`,
  `x86_load_linux`) and `include/hw/elf_ops.h` (`get_elf_note_type`, `load_elf`); the
  behaviour of the QEMU 7.2 build installed here is checked by tests/test_loader_qemu.py.
- rust-vmm/linux-loader `src/loader/x86_64/elf/mod.rs` at tags v0.8.1 and linux-loader-v0.9.0,
  `src/loader/elf/mod.rs` at v0.13.2 and v0.14.0 (`validate_header`, `load`, `parse_elf_note`).
- firecracker-microvm/firecracker `src/vmm/src/arch/x86_64/mod.rs` (v1.12.0: PVH, PR #5048).
- cloud-hypervisor/cloud-hypervisor `vmm/src/vm.rs` (`load_kernel`), Cargo.lock per tag.

A profile covers its version and later ones up to the next profile of its family.

Not modelled yet: rust-vmm/linux-loader PR #227 ("loader: Verify alignment of the LOAD
segment", open in 2026, not in v0.14.0) would fail every PT_LOAD whose p_align is not a
multiple of 2 MiB with Error::Align; add a profile when a release carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xenlint.abi.elf import EM_386, EM_X86_64
from xenlint.abi.profile import Mode, Profile

Engine = Literal["qemu", "linux-loader"]
Absent = Literal["fatal", "linux-fallback", "not-present"]

# x86-common.c load_elfboot: `if (flags & 0x00010004)` -> "elfboot unsupported flags = %x".
QEMU_REFUSED_EFLAGS = 0x00010004
# x86-common.c x86_load_linux reads this much of the file for the bzImage and multiboot probes.
QEMU_HEADER_BYTES = 8192
# multiboot.c: the v1 header is looked for in the first 8192 - 48 bytes, at 4-byte steps.
MULTIBOOT_SCAN_BYTES = QEMU_HEADER_BYTES - 48
MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_AOUT_KLUDGE = 1 << 16  # flag bit 16: the header carries load addresses
# Firecracker layout.rs HIMEM_START and Cloud Hypervisor layout.rs HIGH_RAM_START, both passed
# to Elf::load as highmem_start_address, which is compared with e_entry.
VMM_HIGHMEM_START = 0x100000
# linux-loader parse_elf_note: the entry is read as a u32 and needs descsz >= 4.
LINUX_LOADER_DESC = 4


@dataclass(frozen=True, kw_only=True)
class LoaderProfile(Profile):
    """How one loader version finds and reads the PVH entry note."""

    engine: Engine  # whose note walk this is
    program: str  # how messages name it ("QEMU (qemu-system-x86_64 -kernel)")
    # Padding used to step from note to note: the PT_NOTE's p_align ("p_align") or always 4.
    walk: Literal["p_align", "4"]
    # linux-loader <= 0.8.1 align_up(): a p_align that is not a power of two (0 included) is
    # Error::Align and the whole load fails. QEMU divides by p_align (0 kills it, SIGFPE).
    owner_checked: bool  # namesz == 4 and the name bytes "Xen\0"; QEMU compares the type only
    elf32_desc_bytes: int  # bytes of the descriptor read for an ELF32 image
    elf64_desc_bytes: int  # ... and for an ELF64 image
    machines: frozenset[int]  # e_machine values accepted
    elf64_only: bool  # linux-loader: e_phentsize must be 56 (ELF32 fails)
    refused_eflags: int  # e_flags bits that stop the boot
    multiboot_first: bool  # QEMU tries multiboot v1 before PVH
    min_e_entry: int | None  # the VMM's highmem_start, checked against e_entry
    absent: Absent  # what happens when no entry is found
    bzimage_retry: bool  # Cloud Hypervisor >= 39 retries a failed ELF load as a bzImage

    @property
    def walks_p_align(self) -> bool:
        return self.walk == "p_align"

    @property
    def boots_bzimage(self) -> bool:
        """Whether a bzImage given as the kernel boots, through the Linux boot protocol and
        not the PVH note: QEMU looks for "HdrS" at 0x202 before anything else (loaders.md
        §1.1 x86_load_linux), Cloud Hypervisor v39+ retries a failed ELF load as a bzImage
        (§4, 09cf8c311); Firecracker 1.12-1.16.1 has no bzImage code (§3) and linux-loader's
        Elf loader stops at the magic (InvalidElfMagicNumber)."""
        return self.engine == "qemu" or self.bzimage_retry


PVH = frozenset({Mode.PVH})
X86_BOTH = frozenset({EM_386, EM_X86_64})
I386_ONLY = frozenset({EM_386})


def _qemu(
    family: str, version: tuple[int, ...], machines: frozenset[int], elf32_bytes: int, note: str
) -> LoaderProfile:
    system = "qemu-system-x86_64" if EM_X86_64 in machines else "qemu-system-i386"
    return LoaderProfile(
        family=family,
        version=version,
        name=f"{family}-{version[0]}.{version[1]}",
        modes=PVH,
        fixed_modes=True,
        covers_later=True,
        note=note,
        engine="qemu",
        program=f"QEMU ({system} -kernel)",
        # elf_ops.h get_elf_note_type: QEMU_ALIGN_UP(n_namesz, phdr_align), same for descsz.
        walk="p_align",
        # get_elf_note_type compares n_type only.
        owner_checked=False,
        elf32_desc_bytes=elf32_bytes,
        # read_pvh_start_addr: ELF64 reads through a host size_t* (8 bytes on a 64-bit host).
        elf64_desc_bytes=8,
        # target/i386/cpu.h I386_ELF_MACHINE; elf_ops.h load_elf accepts EM_386 under EM_X86_64.
        machines=machines,
        elf64_only=False,
        refused_eflags=QEMU_REFUSED_EFLAGS,
        multiboot_first=True,
        min_e_entry=None,
        # load_elfboot: pvh_start_addr == 0 -> "Error loading uncompressed kernel without PVH
        # ELF Note", exit(1); no fallback.
        absent="fatal",
        bzimage_retry=False,
    )


# QEMU 4.0: first PVH boot (pc-*-4.0 machine types set pvh_enabled). Until the fix "hw/elf_ops:
# pass SZ == 64 as is64" (posted January 2021 with "Fixes: 696aa04c84c6", first released in
# 6.0 by date; the exact release is unverified) `is64` was always true, so ELF32 images had
# their entry read through size_t too.
QEMU = (
    _qemu("qemu", (4, 0), X86_BOTH, 8, "QEMU 4.0-5.2 -kernel: ELF32 entry read as 8 bytes"),
    _qemu("qemu", (6, 0), X86_BOTH, 4, "QEMU 6.0+ -kernel (7.2 verified by running it)"),
    _qemu("qemu-i386", (4, 0), I386_ONLY, 8, "qemu-system-i386 4.0-5.2: EM_386 only"),
    _qemu("qemu-i386", (6, 0), I386_ONLY, 4, "qemu-system-i386 6.0+: EM_386 only"),
)


def _linux_loader(
    family: str,
    version: tuple[int, ...],
    name: str,
    walk: Literal["p_align", "4"],
    program: str,
    note: str,
    *,
    min_e_entry: int | None,
    absent: Absent,
    bzimage_retry: bool = False,
) -> LoaderProfile:
    return LoaderProfile(
        family=family,
        version=version,
        name=name,
        modes=PVH,
        fixed_modes=True,
        covers_later=True,
        note=note,
        engine="linux-loader",
        program=program,
        walk=walk,
        # parse_elf_note (v0.2.0 af88796 on): n_namesz == PVH_NOTE_STR_SZ (4), name "Xen\0".
        owner_checked=True,
        elf32_desc_bytes=LINUX_LOADER_DESC,
        elf64_desc_bytes=LINUX_LOADER_DESC,
        machines=X86_BOTH,  # e_machine is never read
        # validate_header: e_phentsize != size_of::<Elf64_Phdr>() -> InvalidProgramHeaderSize.
        elf64_only=True,
        refused_eflags=0,
        multiboot_first=False,
        min_e_entry=min_e_entry,
        absent=absent,
        bzimage_retry=bzimage_retry,
    )


LINUX_LOADER = (
    # v0.2.0..v0.8.1: align_up(n_namesz, phdr.p_align); Error::Align unless a power of two.
    _linux_loader(
        "linux-loader",
        (0, 2),
        "linux-loader-0.2",
        "p_align",
        "rust-vmm linux-loader",
        "linux-loader 0.2-0.8.1: walks notes with p_align",
        min_e_entry=None,
        absent="not-present",
    ),
    # linux-loader-v0.9.0 (09c6f35, issue #71, PR #128): ELFNOTE_ALIGN = 4.
    _linux_loader(
        "linux-loader",
        (0, 9),
        "linux-loader-0.9",
        "4",
        "rust-vmm linux-loader",
        "linux-loader 0.9+: walks notes with 4-byte padding",
        min_e_entry=None,
        absent="not-present",
    ),
)

FIRECRACKER = (
    # v1.12.0 (linux-loader 0.13.0) is the first release with PVH; PvhEntryNotPresent makes it
    # boot the ELF through the 64-bit Linux protocol at e_entry instead, silently.
    _linux_loader(
        "firecracker",
        (1, 12),
        "firecracker-1.12",
        "4",
        "Firecracker",
        "Firecracker 1.12+ (linux-loader 0.13+); older releases have no PVH boot",
        min_e_entry=VMM_HIGHMEM_START,
        absent="linux-fallback",
    ),
)

CLOUD_HYPERVISOR = (
    # v28 uses linux-loader 0.7.0, v29-v32 0.8.1: the p_align walk. Older releases not modelled.
    _linux_loader(
        "cloud-hypervisor",
        (28, 0),
        "cloud-hypervisor-28",
        "p_align",
        "Cloud Hypervisor",
        "Cloud Hypervisor v28-v32 (linux-loader 0.7/0.8.1: p_align walk)",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
    ),
    # v33 uses linux-loader 0.9.0.
    _linux_loader(
        "cloud-hypervisor",
        (33, 0),
        "cloud-hypervisor-33",
        "4",
        "Cloud Hypervisor",
        "Cloud Hypervisor v33-v38 (linux-loader 0.9+)",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
    ),
    # v39 (09cf8c311) brings bzImage back: any ELF load error is retried as a bzImage and the
    # bzImage error is what the user sees.
    _linux_loader(
        "cloud-hypervisor",
        (39, 0),
        "cloud-hypervisor-39",
        "4",
        "Cloud Hypervisor",
        "Cloud Hypervisor v39+: a failed ELF load is retried as bzImage",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
        bzimage_retry=True,
    ),
)

LOADERS: tuple[LoaderProfile, ...] = QEMU + LINUX_LOADER + FIRECRACKER + CLOUD_HYPERVISOR

# What each loader prints or returns, quoted in findings.
QEMU_NO_NOTE = "Error loading uncompressed kernel without PVH ELF Note"
QEMU_LOAD_ERROR = "Error while loading elf kernel"
QEMU_MULTIBOOT_64 = "Cannot load x86-64 image, give a 32bit one."
QEMU_EFLAGS = "elfboot unsupported flags = {flags:x}"
CH_NO_NOTE = "Kernel lacks PVH header"
LINUX_LOADER_NOT_ELF = "InvalidElfMagicNumber"
# x86_load_linux on a file that is no bzImage, multiboot image or ELF (a gzip-compressed ELF):
# the old zImage path refuses it; seen with QEMU 7.2 (tests/test_loader_qemu.py).
QEMU_NOT_KERNEL = "invalid kernel header"
