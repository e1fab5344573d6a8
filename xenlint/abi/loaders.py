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
- firecracker-microvm/firecracker `src/vmm/src/builder.rs` (`load_kernel`) at v1.0.0, v1.4.0
  and v1.11.0, Cargo.lock per tag.
- GNU GRUB `grub-core/loader/i386/xen_file.c`, `xen_fileXX.c` (`grub_xen_get_infoXX`,
  `parse_note`), `xen.c` (`grub_cmd_xen`), `commands/file.c` and `loader/i386/multiboot_mbi.c`
  at tags grub-2.02, grub-2.04, grub-2.06 (read in the rhboot/grub2 mirror); the behaviour of
  Debian's grub-file 2.06 is checked by tests/test_loader_grub.py.

A profile covers its version and later ones up to the next profile of its family.

Not modelled yet: rust-vmm/linux-loader PR #227 ("loader: Verify alignment of the LOAD
segment", open in 2026, not in v0.14.0) would fail every PT_LOAD whose p_align is not a
multiple of 2 MiB with Error::Align; add a profile when a release carries it.
"""

from __future__ import annotations

from typing import Any, Literal

from xenlint.abi.elf import EM_386, EM_X86_64
from xenlint.abi.profile import Mode, Profile
from xenlint.record import replace

# The built-in replay engines (xenlint.replay.engines); a plugin may register more through the
# `xenlint_loader_engines` hook and name them here by their `name`.
Engine = str
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
# GRUB include/multiboot.h MULTIBOOT_SEARCH (grub_multiboot_load: "no multiboot header found"
# past it) and commands/file.c's multiboot2 window (32768 bytes, 8-byte steps).
GRUB_MULTIBOOT_SEARCH = 8192
GRUB_MULTIBOOT2_SEARCH = 32768
MULTIBOOT2_MAGIC = 0xE85250D6


class LoaderProfile(Profile):
    """How one loader version finds and reads what it boots (the PVH entry note, or for
    GRUB the PV notes or a multiboot header). `engine` names the registered replay engine
    (xenlint.replay.engines) that reads these fields; fields an engine does not read keep
    their defaults."""

    __slots__ = (
        "absent",
        "absent_message",
        "boots_from_notes",
        "bzimage_retry",
        "elf32_align_read_64",
        "elf32_desc_bytes",
        "elf64_desc_bytes",
        "elf64_only",
        "engine",
        "machines",
        "min_e_entry",
        "multiboot_first",
        "owner_checked",
        "program",
        "reads_sections",
        "refused_eflags",
        "walk",
    )

    engine: Engine  # which replay engine reads this profile ("qemu", "linux-loader", ...)
    program: str  # how messages name it ("QEMU (qemu-system-x86_64 -kernel)")
    # Padding used to step from note to note: the PT_NOTE's p_align ("p_align") or always 4.
    walk: Literal["p_align", "4"]
    # linux-loader <= 0.8.1 align_up(): a p_align that is not a power of two (0 included) is
    # Error::Align and the whole load fails. QEMU divides by p_align (0 kills it, SIGFPE).
    owner_checked: bool  # namesz == 4 and the name "Xen\0"; QEMU compares the type only
    elf32_desc_bytes: int  # bytes of the descriptor read for an ELF32 image
    elf64_desc_bytes: int  # ... and for an ELF64 image
    machines: frozenset[int]  # e_machine values accepted
    elf64_only: bool  # linux-loader: e_phentsize must be 56 (ELF32 fails)
    refused_eflags: int  # e_flags bits that stop the boot
    multiboot_first: bool  # QEMU tries multiboot v1 before PVH
    min_e_entry: int | None  # the VMM's highmem_start, checked against e_entry
    absent: Absent  # what happens when no entry is found
    bzimage_retry: bool  # Cloud Hypervisor >= 39 retries a failed ELF load as bzImage
    # QEMU 4.0-5.2 (`is64` always true): read_pvh_start_addr reads an ELF32 PT_NOTE's p_align
    # through a uint64_t*, so its upper half is the next program header's p_type.
    elf32_align_read_64: bool
    # What the VMM prints when the ELF has no PVH entry (Cloud Hypervisor), if anything.
    absent_message: str
    # GRUB's PV loader: SHT_NOTE sections are read when no PT_NOTE holds a Xen note (2.04+).
    reads_sections: bool
    # Whether the boot depends on the Xen notes at all (False: GRUB i386-xen_pvh boots a
    # multiboot header, Firecracker before 1.12 enters e_entry whatever the notes say).
    boots_from_notes: bool

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
        engine: Engine,
        program: str,
        walk: Literal["p_align", "4"] = "4",
        owner_checked: bool = True,
        elf32_desc_bytes: int = 4,
        elf64_desc_bytes: int = 4,
        machines: frozenset[int] = frozenset({EM_386, EM_X86_64}),
        elf64_only: bool = False,
        refused_eflags: int = 0,
        multiboot_first: bool = False,
        min_e_entry: int | None = None,
        absent: Absent = "fatal",
        bzimage_retry: bool = False,
        elf32_align_read_64: bool = False,
        absent_message: str = "",
        reads_sections: bool = False,
        boots_from_notes: bool = True,
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
        set_(self, "engine", engine)
        set_(self, "program", program)
        set_(self, "walk", walk)
        set_(self, "owner_checked", owner_checked)
        set_(self, "elf32_desc_bytes", elf32_desc_bytes)
        set_(self, "elf64_desc_bytes", elf64_desc_bytes)
        set_(self, "machines", machines)
        set_(self, "elf64_only", elf64_only)
        set_(self, "refused_eflags", refused_eflags)
        set_(self, "multiboot_first", multiboot_first)
        set_(self, "min_e_entry", min_e_entry)
        set_(self, "absent", absent)
        set_(self, "bzimage_retry", bzimage_retry)
        set_(self, "elf32_align_read_64", elf32_align_read_64)
        set_(self, "absent_message", absent_message)
        set_(self, "reads_sections", reads_sections)
        set_(self, "boots_from_notes", boots_from_notes)

    @property
    def walks_p_align(self) -> bool:
        return self.walk == "p_align"


# The engines of loaders that boot an ELF through its PHYS32_ENTRY note: QEMU's -kernel and
# rust-vmm linux-loader (Firecracker 1.12+, Cloud Hypervisor). xenlint judges an ELF with a
# PVH entry on them by default (xenlint.config.settings); GRUB's loaders and Firecracker
# before 1.12 boot it another way and are judged only when named.
PVH_NOTE_ENGINES = frozenset({"qemu", "linux-loader"})

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
        elf32_align_read_64=elf32_bytes == 8,
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
    engine: Engine = "linux-loader",
    absent_message: str = "",
    boots_from_notes: bool = True,
) -> LoaderProfile:
    return LoaderProfile(
        family=family,
        version=version,
        name=name,
        modes=PVH,
        fixed_modes=True,
        covers_later=True,
        note=note,
        engine=engine,
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
        absent_message=absent_message,
        boots_from_notes=boots_from_notes,
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
    # v1.0.0-v1.11 (builder.rs load_kernel) call linux-loader's Elf::load with highmem_start
    # HIMEM_START (0x100000) and boot `kernel_load`, i.e. e_entry, in 64-bit long mode with a
    # Linux zero page: no PVH at all. The note walk still runs inside Elf::load, so its errors
    # (Align, InvalidPvhNote) still fail the start. v1.0-v1.4 carry linux-loader 0.4.0/0.8.1
    # (p_align walk), v1.5-v1.11 0.9.1-0.13.0 (4-byte walk). Earlier (0.x) releases are not
    # modelled.
    _linux_loader(
        "firecracker",
        (1, 0),
        "firecracker-1.0",
        "p_align",
        "Firecracker",
        "Firecracker 1.0-1.4: no PVH; every ELF entered at e_entry in 64-bit mode",
        min_e_entry=VMM_HIGHMEM_START,
        absent="linux-fallback",
        engine="linux-boot",
        boots_from_notes=False,
    ),
    _linux_loader(
        "firecracker",
        (1, 5),
        "firecracker-1.5",
        "4",
        "Firecracker",
        "Firecracker 1.5-1.11: no PVH; every ELF entered at e_entry in 64-bit mode",
        min_e_entry=VMM_HIGHMEM_START,
        absent="linux-fallback",
        engine="linux-boot",
        boots_from_notes=False,
    ),
    # v1.12.0 (linux-loader 0.13.0) is the first release with PVH; PvhEntryNotPresent makes it
    # boot the ELF through the 64-bit Linux protocol at e_entry instead, silently.
    _linux_loader(
        "firecracker",
        (1, 12),
        "firecracker-1.12",
        "4",
        "Firecracker",
        "Firecracker 1.12+ (linux-loader 0.13+): PVH entry, else 64-bit Linux at e_entry",
        min_e_entry=VMM_HIGHMEM_START,
        absent="linux-fallback",
    ),
)

CLOUD_HYPERVISOR = (
    # v16 removed the Linux boot protocol (da8136e49 "arch, vmm: Remove support for
    # LinuxBoot", first in v16.0): an ELF boots only through its PVH note. v16-v27 carry
    # linux-loader 0.3.0-0.6.0, which walk notes by p_align like 0.8.1. vm.rs load_kernel
    # passes HIGH_RAM_START (0x100000). v16-v23 print the error's Debug form; v24 added
    # `#[error("Kernel lacks PVH header")]`. Releases before v16 also had the Linux protocol
    # and are not modelled.
    _linux_loader(
        "cloud-hypervisor",
        (16, 0),
        "cloud-hypervisor-16",
        "p_align",
        "Cloud Hypervisor",
        "Cloud Hypervisor v16-v23 (linux-loader 0.3/0.4: p_align walk, PVH only)",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
        absent_message="VmBoot(KernelMissingPvhHeader)",
    ),
    _linux_loader(
        "cloud-hypervisor",
        (24, 0),
        "cloud-hypervisor-24",
        "p_align",
        "Cloud Hypervisor",
        "Cloud Hypervisor v24-v27 (linux-loader 0.4-0.6: p_align walk, PVH only)",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
        absent_message="Kernel lacks PVH header",
    ),
    # v28 uses linux-loader 0.7.0, v29-v32 0.8.1: the p_align walk.
    _linux_loader(
        "cloud-hypervisor",
        (28, 0),
        "cloud-hypervisor-28",
        "p_align",
        "Cloud Hypervisor",
        "Cloud Hypervisor v28-v32 (linux-loader 0.7/0.8.1: p_align walk)",
        min_e_entry=VMM_HIGHMEM_START,
        absent="fatal",
        absent_message="Kernel lacks PVH header",
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
        absent_message="Kernel lacks PVH header",
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
        absent_message="Kernel lacks PVH header",
    ),
)

PV = frozenset({Mode.PV})


def _grub(
    family: str, version: tuple[int, ...], engine: str, modes: frozenset[Mode], **kw: Any
) -> LoaderProfile:
    return LoaderProfile(
        family=family,
        version=version,
        name=f"{family}-{version[0]}.{version[1]:02d}",
        modes=modes,
        fixed_modes=True,
        covers_later=True,
        engine=engine,
        **kw,
    )


GRUB = (
    # GRUB's Xen PV loader (x86_64-xen / i386-xen, "pvgrub2"), new in 2.02 (9612ebc00).
    # grub_xen_get_infoXX: every PT_NOTE (even one at file offset 0) walked with 4-byte
    # padding, a note is Xen's when namesz >= 3 and its first 3 (namesz 3) or 4 bytes are
    # "Xen"/"Xen\0"; no Xen note there -> the `__xen_guest` section -> "no XEN note found".
    _grub(
        "grub-xen",
        (2, 2),
        "grub-xen",
        PV,
        program="GRUB's Xen PV loader (pvgrub2 2.02)",
        note="GRUB 2.02 PV loader (x86_64-xen, i386-xen): PT_NOTE notes, then __xen_guest",
    ),
    # 67580c006 "xen: Look for Xen notes in section headers too" ("Mirror behaviour of ELF
    # loader in libxc"), first in grub-2.04-rc1: SHT_NOTE sections between the two.
    _grub(
        "grub-xen",
        (2, 4),
        "grub-xen",
        PV,
        program="GRUB's Xen PV loader (pvgrub2 2.04+)",
        note="GRUB 2.04+ PV loader: PT_NOTE, then SHT_NOTE sections, then __xen_guest",
        reads_sections=True,
    ),
    # GRUB's PVH build (i386-xen_pvh, 0b3e4eb2d, first in grub-2.04-rc1; Qubes' pvgrub2-pvh):
    # GRUB itself runs as the PVH guest and boots a multiboot (v1 header in the first 8192
    # bytes, 4-aligned; multiboot2 in the first 32768, 8-aligned) or Linux bzImage kernel
    # (loader/i386/linux.c); it has no PVH-ELF or Xen PV loader.
    _grub(
        "grub-xen-pvh",
        (2, 4),
        "grub-pvh",
        PVH,
        program="GRUB i386-xen_pvh (pvgrub2-pvh)",
        note="GRUB 2.04+ i386-xen_pvh: boots multiboot and Linux bzImage kernels only",
        boots_from_notes=False,
    ),
)

# What came before each family's oldest profile, for a version below it ("firecracker-0.25").
_BEFORE = {
    "qemu": "QEMU before 4.0 has no PVH boot (an ELF needs a multiboot header there)",
    "qemu-i386": "QEMU before 4.0 has no PVH boot (an ELF needs a multiboot header there)",
    "linux-loader": "linux-loader before 0.2 had no PVH note parsing",
    "firecracker": "Firecracker 0.x releases are not modelled",
    "cloud-hypervisor": (
        "Cloud Hypervisor before v16 also booted ELF kernels through the Linux boot protocol "
        "and is not modelled"
    ),
    "grub-xen": "GRUB's Xen PV loader first shipped in 2.02",
    "grub-xen-pvh": "GRUB's i386-xen_pvh platform first shipped in 2.04",
}


def _oldest_first(profiles: tuple[LoaderProfile, ...]) -> tuple[LoaderProfile, ...]:
    seen: set[str] = set()
    out = []
    for p in profiles:
        if p.family not in seen:
            seen.add(p.family)
            p = replace(p, before=_BEFORE.get(p.family, ""))
        out.append(p)
    return tuple(out)


LOADERS: tuple[LoaderProfile, ...] = _oldest_first(
    QEMU + LINUX_LOADER + FIRECRACKER + CLOUD_HYPERVISOR + GRUB
)


def segment_only_readers(mode: Mode) -> list[str]:
    """The loaders (program names, in table order) that boot `mode` kernels from Xen notes
    they look for in PT_NOTE segments only, never in section headers."""
    names: list[str] = []
    for p in LOADERS:
        if mode in p.modes and p.boots_from_notes and not p.reads_sections:
            # "QEMU (qemu-system-x86_64 -kernel)" and its i386 twin read alike: one name.
            name = p.program.split(" (")[0] if p.family.startswith("qemu") else p.program
            if name not in names and p.family != "linux-loader":
                names.append(name)
    return names


# What each loader prints or returns, quoted in findings.
QEMU_NO_NOTE = "Error loading uncompressed kernel without PVH ELF Note"
QEMU_LOAD_ERROR = "Error while loading elf kernel"
QEMU_MULTIBOOT_64 = "Cannot load x86-64 image, give a 32bit one."
QEMU_EFLAGS = "elfboot unsupported flags = {flags:x}"
CH_NO_NOTE = "Kernel lacks PVH header"
# GRUB grub_xen_get_infoXX / parse_note / grub_xen_get_info / grub_cmd_xen / grub_xen_file.
GRUB_NO_NOTE = "no XEN note found"
GRUB_NO_SECTIONS = "no XEN note"  # no Xen note in PT_NOTEs and no section headers at all
GRUB_BAD_LOADER = "invalid loader"
GRUB_UNKNOWN_ELF = "unknown ELF type"
GRUB_ARCH = "incompatible architecture: {arch}"
GRUB_VIRT_BASE = "unaligned virt_base"
GRUB_NOT_XEN = "not xen image"
GRUB_NO_MULTIBOOT = "no multiboot header found"
# grub_xen_file_type in include/grub/xen_file.h.
GRUB_ARCH_I386, GRUB_ARCH_I386_PAE, GRUB_ARCH_I386_PAE_BIMODE, GRUB_ARCH_X86_64 = 1, 2, 3, 4
LINUX_LOADER_NOT_ELF = "InvalidElfMagicNumber"
# x86_load_linux on a file that is no bzImage, multiboot image or ELF (a gzip-compressed ELF):
# the old zImage path refuses it; seen with QEMU 7.2 (tests/test_loader_qemu.py).
QEMU_NOT_KERNEL = "invalid kernel header"
