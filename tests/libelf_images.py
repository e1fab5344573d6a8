"""Seeded random kernels for the libelf differential test, built with `elfbuilder`.

`generate(seed, count)` yields `(name, bytes)` pairs: a real-world note set (Linux, FreeBSD,
NetBSD, GRUB-like, a unikernel's bare PVH set, or the legacy `__xen_guest` string) laid out
at a plausible address, then a few random mutations drawn from every axis the Xen rules read:
each note type (0-19 and unknown ones), descriptor sizes (0-16, strings without a NUL, cut
off by the end of the file), the all-ones "unset" sentinels, duplicates, note alignment,
e_machine (x86_64, i386, ARM, AArch64, PowerPC, RISC-V, none), ELF class and byte order,
and the container (PT_NOTE, a PT_NOTE at offset 0, two PT_NOTEs, SHT_NOTE only, the legacy
string). The same seed gives the same images.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from elfbuilder import (
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    SHT_PROGBITS,
    Note,
    Section,
    Segment,
    build_elf,
    note_bytes,
)

(ENTRY, HYPERCALL_PAGE, VIRT_BASE, PADDR_OFFSET, XEN_VERSION, GUEST_OS, GUEST_VERSION) = range(1, 8)
(LOADER, PAE_MODE, FEATURES, BSD_SYMTAB, HV_START_LOW, L1_MFN_VALID, SUSPEND_CANCEL) = range(8, 15)
(INIT_P2M, MOD_START_PFN, SUPPORTED, PHYS32_ENTRY, PHYS32_RELOC) = range(15, 20)
STRINGS = (XEN_VERSION, GUEST_OS, GUEST_VERSION, LOADER, PAE_MODE, FEATURES, BSD_SYMTAB)
NUMBERS = (ENTRY, HYPERCALL_PAGE, VIRT_BASE, PADDR_OFFSET, HV_START_LOW, SUSPEND_CANCEL)
NUMBERS += (INIT_P2M, MOD_START_PFN, PHYS32_ENTRY)

# e_machine values (ELF gABI): the two x86 ones, ARM (exempt from the note check from 4.2)
# and machines libelf treats like x86 in its note check.
MACHINES = {"x86_64": 62, "i386": 3, "arm": 40, "aarch64": 183, "ppc": 20, "ppc64": 21}
MACHINES |= {"riscv": 243, "none": 0, "ia64": 50}

FEATURE_NAMES = (
    "writable_page_tables",
    "writable_descriptor_tables",
    "auto_translated_physmap",
    "supervisor_mode_kernel",
    "pae_pgdir_above_4gb",
    "dom0",
    "hvm_callback_vector",
    "no_such_feature",
    "",
)


def s(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


@dataclass
class Plan:
    """One image before it is written: mutations edit this, `render` writes it."""

    bits: int
    big: bool
    machine: int
    paddr: int  # p_paddr of the text segment
    vaddr: int  # its p_vaddr
    size: int  # its size
    entry: int  # e_entry
    notes: list[Note] = field(default_factory=list)
    xen_guest: str | None = None
    container: str = "pt_note"  # see CONTAINERS
    note_align: int = 4
    seg_flags: int = PF_R | PF_X
    extra_load: bool = False  # a second, data PT_LOAD after the text
    cut: int = 0  # bytes cut off the end of the file (notes are last then)
    tags: list[str] = field(default_factory=list)

    def word(self, value: int, size: int | None = None) -> bytes:
        size = size or self.bits // 8
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "big" if self.big else "little")

    def number(self, kind: int, value: int, size: int | None = None) -> Note:
        return Note(kind, self.word(value, size))


CONTAINERS = ("pt_note", "pt_note_nosec", "two_pt_notes", "pt_note_at_0", "sht_note_only")


def _offset(p: Plan, base: int) -> int:
    """The PADDR_OFFSET that makes virt_kstart (p_paddr + VIRT_BASE - PADDR_OFFSET) the
    segment's p_vaddr: 0 for Linux's physical p_paddr, VIRT_BASE where p_paddr = p_vaddr."""
    return (p.paddr + base - p.vaddr) % (1 << 64)


def _linux(rng: random.Random, p: Plan, base: int) -> None:
    kstart = p.vaddr
    p.notes = [
        Note(GUEST_OS, s("linux")),
        Note(GUEST_VERSION, s("2.6")),
        Note(XEN_VERSION, s("xen-3.0")),
        p.number(VIRT_BASE, base),
        p.number(PADDR_OFFSET, _offset(p, base)),
        p.number(ENTRY, kstart),
        p.number(HYPERCALL_PAGE, kstart + 0x1000),
        Note(FEATURES, s("!writable_page_tables")),
        Note(SUPPORTED, p.word(1 | (1 << 11), 4)),
        Note(PAE_MODE, s("yes")),
        Note(LOADER, s("generic")),
        Note(L1_MFN_VALID, p.word(1, 8) + p.word(1, 8)),
        Note(SUSPEND_CANCEL, p.word(1, 4)),
        Note(MOD_START_PFN, p.word(1, 4)),
        Note(PHYS32_ENTRY, p.word(p.paddr + 0x10, 4)),
    ]
    if rng.random() < 0.3:
        p.notes.append(p.number(INIT_P2M, base + (1 << 39) if p.bits == 64 else 0))


def _freebsd(rng: random.Random, p: Plan, base: int) -> None:
    p.notes = [
        Note(GUEST_OS, s("FreeBSD")),
        Note(GUEST_VERSION, s("1100000")),
        Note(XEN_VERSION, s("xen-3.0")),
        Note(LOADER, s("generic")),
        Note(
            FEATURES,
            s(
                "writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel"
                "|hvm_callback_vector"
            ),
        ),
        Note(PHYS32_ENTRY, p.word(p.paddr + 0x10, 4)),
    ]
    if rng.random() < 0.5:
        p.notes += [
            p.number(VIRT_BASE, base),
            p.number(PADDR_OFFSET, _offset(p, base)),
            p.number(ENTRY, p.vaddr),
            p.number(HYPERCALL_PAGE, p.vaddr + 0x1000),
            Note(BSD_SYMTAB, s("yes")),
        ]


def _netbsd(rng: random.Random, p: Plan, base: int) -> None:
    p.notes = [
        Note(GUEST_OS, s("NetBSD")),
        Note(GUEST_VERSION, s("4.99")),
        Note(XEN_VERSION, s("xen-3.0")),
        Note(LOADER, s("generic")),
        p.number(VIRT_BASE, base),
        p.number(PADDR_OFFSET, _offset(p, base)),
        p.number(ENTRY, p.vaddr),
        p.number(HYPERCALL_PAGE, p.vaddr + 0x1000),
        Note(FEATURES, s("writable_page_tables|pae_pgdir_above_4gb")),
        Note(PAE_MODE, s("yes" if p.bits == 32 else "no")),
        Note(BSD_SYMTAB, s("yes")),
    ]
    if rng.random() < 0.5:
        p.notes.append(Note(PHYS32_ENTRY, p.word(p.paddr + 0x10, 4)))


def _grub(rng: random.Random, p: Plan, base: int) -> None:
    p.notes = [
        Note(GUEST_OS, s("GRUB")),
        Note(LOADER, s("generic")),
        Note(XEN_VERSION, s("xen-3.0")),
        p.number(ENTRY, p.vaddr),
        p.number(HYPERCALL_PAGE, p.vaddr + 0x1000),
        p.number(VIRT_BASE, base),
        p.number(PADDR_OFFSET, _offset(p, base)),
    ]
    if p.bits == 32:
        p.notes.append(Note(PAE_MODE, s("yes,bimodal")))


def _unikernel(rng: random.Random, p: Plan, base: int) -> None:
    p.notes = [Note(PHYS32_ENTRY, p.word(p.paddr + 0x10, 4))]
    if rng.random() < 0.5:
        p.notes.append(Note(XEN_VERSION, s("xen-3.0")))
    if rng.random() < 0.5:
        p.notes.append(Note(GUEST_OS, s(rng.choice(["Unikraft", "linux", "HermitCore"]))))


def _legacy(rng: random.Random, p: Plan, base: int) -> None:
    items = [
        "GUEST_OS=linux",
        "GUEST_VER=2.6",
        "XEN_VER=xen-3.0",
        "LOADER=generic",
        f"VIRT_BASE={base:#x}",
        f"ELF_PADDR_OFFSET={_offset(p, base):#x}",
        f"VIRT_ENTRY={p.vaddr:#x}",
        f"HYPERCALL_PAGE={(p.vaddr - base + 0x1000) >> 12:#x}",
        "PAE=yes[extended-cr3]",
        "FEATURES=writable_page_tables|pae_pgdir_above_4gb",
        "BSD_SYMTAB",
    ]
    keep = [i for i in items if rng.random() < 0.85]
    if rng.random() < 0.2:
        rng.shuffle(keep)
    p.xen_guest = ",".join(keep)
    p.notes = []


SEEDS: dict[str, Callable[[random.Random, Plan, int], None]] = {
    "linux": _linux,
    "freebsd": _freebsd,
    "netbsd": _netbsd,
    "grub": _grub,
    "unikernel": _unikernel,
    "legacy": _legacy,
}


def _start(rng: random.Random) -> tuple[Plan, int]:
    bits = 64 if rng.random() < 0.6 else 32
    big = rng.random() < 0.08
    r = rng.random()
    if r < 0.75:
        machine = MACHINES["x86_64" if bits == 64 else "i386"]
    elif r < 0.83:
        machine = MACHINES["arm"]
    else:
        machine = rng.choice(list(MACHINES.values()))
    paddr = rng.choice([0x100000, 0x1000000, 0x200000, 0, 0x100010, 0x7FFFF000])
    if bits == 64:
        base = rng.choice([0xFFFFFFFF80000000, 0xFFFFFFFF80000000, 0, 0xFFFF800000000000])
    else:
        base = rng.choice([0xC0000000, 0, 0x80000000])
    style = rng.random()
    if style < 0.5:  # Linux: p_paddr physical, p_vaddr = p_paddr + VIRT_BASE
        vaddr = (paddr + base) & ((1 << bits) - 1)
    else:  # old style: p_paddr = p_vaddr, PADDR_OFFSET = VIRT_BASE
        vaddr = (paddr + base) & ((1 << bits) - 1)
        paddr = vaddr
    size = rng.choice([0x2000, 0x2000, 0x3000, 0x100])
    plan = Plan(bits, big, machine, paddr, vaddr, size, entry=vaddr)
    return plan, base


def _mut_drop(rng: random.Random, p: Plan, base: int) -> None:
    if p.notes:
        p.notes.pop(rng.randrange(len(p.notes)))


def _mut_duplicate(rng: random.Random, p: Plan, base: int) -> None:
    if p.notes:
        n = rng.choice(p.notes)
        p.notes.insert(rng.randrange(len(p.notes) + 1), Note(n.type, n.desc))
        _mut_value(rng, p, base, target=p.notes[-1] if rng.random() < 0.5 else None)


def _mut_value(rng: random.Random, p: Plan, base: int, target: Note | None = None) -> None:
    """A new value for one note: all-ones, 0, an address in or outside the image, a string."""
    if not p.notes:
        return
    n = target or rng.choice(p.notes)
    if n.type in STRINGS:
        n.desc = s(_string(rng, n.type))
        return
    size = len(n.desc) if len(n.desc) in (1, 2, 4, 8) else 8
    kstart = p.vaddr if n.type != PHYS32_ENTRY else p.paddr
    value = rng.choice(
        [
            (1 << (8 * size)) - 1,  # all-ones: libelf's UNSET_ADDR / UNSET_ADDR32
            0,
            1,
            kstart,
            kstart + p.size,
            kstart + p.size + 1,
            kstart - 1,
            kstart + 0x10,
            kstart + 0x1000,
            base,
            rng.getrandbits(8 * size),
            0xF5800000,
            0xF5800001,
        ]
    )
    n.desc = p.word(value, size)
    n.descsz = None


def _string(rng: random.Random, kind: int) -> str:
    if kind == FEATURES:
        words = [("!" if rng.random() < 0.2 else "") + rng.choice(FEATURE_NAMES) for _ in "xx"]
        if rng.random() < 0.1:
            words.append("x" * rng.choice([62, 63, 64, 127]))
        return "|".join(words[: rng.randint(1, len(words))])
    if kind == PAE_MODE:
        return rng.choice(["yes", "no", "bimodal", "yes,bimodal", "YES", "yes[extended-cr3]", ""])
    if kind == BSD_SYMTAB:
        return rng.choice(["yes", "no", ""])
    return rng.choice(
        [
            "",
            "linux",
            "Linux",
            "generic",
            "generic-x",
            "xen-3.0",
            "xen-3.0.4",
            "xen-4.0",
            "xen-3",
            "linuxlinuxlinuxlinux",
            "genericgenericgeneric",
            "FreeBSD",
        ]
    )


def _mut_size(rng: random.Random, p: Plan, base: int) -> None:
    """A descriptor of another size: numbers read 0 unless 1/2/4/8, strings lose the NUL."""
    if not p.notes:
        return
    n = rng.choice(p.notes)
    if n.type in STRINGS and rng.random() < 0.5:
        n.desc = n.desc.rstrip(b"\0")  # no NUL: libelf reads on into the padding / next note
        return
    size = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16])
    value = rng.choice([0, (1 << 64) - 1, 0x100010, rng.getrandbits(64)])
    n.desc = (value.to_bytes(8, "big" if p.big else "little") * 2)[:size]


def _mut_add(rng: random.Random, p: Plan, base: int) -> None:
    """A note of any type (0-19, or one no release knows)."""
    kind = rng.choice([*range(0, 20), 20, 0x100, 0xFFFF])
    if kind in STRINGS:
        note = Note(kind, s(_string(rng, kind)))
    elif kind == SUPPORTED:
        words = rng.choice([1, 2, 3])
        note = Note(kind, b"".join(p.word(rng.getrandbits(32), 4) for _ in range(words)))
        if rng.random() < 0.3:
            note.desc = note.desc[: rng.choice([1, 2, 3, 5, 6])]
    elif kind == L1_MFN_VALID:
        note = Note(kind, b"".join(p.word(rng.getrandbits(64), 8) for _ in range(2)))
    elif kind == PHYS32_RELOC:
        note = Note(kind, b"".join(p.word(w, 4) for w in (0x200000, 0x1000000, 0x40000000)))
        note.desc = note.desc[: rng.choice([4, 8, 12, 12, 6])]
    elif kind == 0:
        note = Note(kind, s("GUEST_OS=linux"))
    else:
        note = Note(kind, p.word(0, 8))
        p.notes.append(note)
        _mut_value(rng, p, base, target=note)
        return
    p.notes.insert(rng.randrange(len(p.notes) + 1), note)


def _mut_owner(rng: random.Random, p: Plan, base: int) -> None:
    if p.notes:
        n = rng.choice(p.notes)
        n.name = rng.choice([b"Xen", b"XEN\0", b"Xen\0\0\0\0", b"Xe\0", b"GNU\0", b""])


def _mut_layout(rng: random.Random, p: Plan, base: int) -> None:
    r = rng.random()
    if r < 0.25:
        p.entry = rng.choice([p.vaddr + 0x10, p.paddr, 0, p.vaddr + p.size + 1, p.vaddr + p.size])
    elif r < 0.4:
        p.seg_flags = rng.choice([PF_R, PF_R | PF_W, 0, PF_X])
    elif r < 0.55:
        p.extra_load = True
    elif r < 0.75:
        p.note_align = 8
    else:
        p.container = rng.choice(CONTAINERS)


def _mut_cut(rng: random.Random, p: Plan, base: int) -> None:
    """Put the notes last and cut the file inside the last one."""
    if p.notes:
        last = len(p.notes[-1].desc)
        p.cut = rng.randint(1, max(1, last + 4))
        p.container = "pt_note_nosec"


def _mut_legacy(rng: random.Random, p: Plan, base: int) -> None:
    """An extra or changed __xen_guest item (it is read only when there are no notes)."""
    item = rng.choice(
        [
            "VIRT_BASE=0xffffffffffffffff",
            "ELF_PADDR_OFFSET=0xffffffffffffffff",
            "VIRT_ENTRY=0x0",
            "LOADER=other",
            "GUEST_OS=Linux",
            "XEN_VER=xen-4.0",
            "FEATURES=!no_such_feature",
            "FEATURES=hvm_callback_vector",
            "PAE=bimodal",
            "HYPERCALL_PAGE=0x2",
            f"VIRT_BASE={base + 0x1000:#x}",
            "ELF_PADDR_OFFSET=0",
        ]
    )
    p.xen_guest = (p.xen_guest + "," if p.xen_guest else "") + item
    if rng.random() < 0.3:
        p.notes = []


MUTATIONS = (
    _mut_drop,
    _mut_duplicate,
    _mut_value,
    _mut_value,
    _mut_size,
    _mut_add,
    _mut_add,
    _mut_owner,
    _mut_layout,
    _mut_layout,
    _mut_cut,
    _mut_legacy,
)


def plan(rng: random.Random) -> Plan:
    """A random seed note set, then 0-4 mutations."""
    p, base = _start(rng)
    seed = rng.choice(list(SEEDS))
    SEEDS[seed](rng, p, base)
    p.tags.append(seed)
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        mut = rng.choice(MUTATIONS)
        mut(rng, p, base)
        p.tags.append(mut.__name__[5:])
    return p


def render(p: Plan) -> bytes:
    """Write the plan as an ELF (elfbuilder), cut `p.cut` bytes off its end."""
    text = Segment(PT_LOAD, p.seg_flags, p.vaddr, p.paddr, b"\x90" * p.size, section=".text")
    segments = [text]
    if p.extra_load:
        mask = (1 << p.bits) - 1
        data_at, phys_at = (p.vaddr + p.size + 0x1000) & mask, (p.paddr + p.size + 0x1000) & mask
        segments.append(Segment(PT_LOAD, PF_R | PF_W, data_at, phys_at, b"\0" * 0x40))
    sections: list[Section] = []
    blob = note_bytes(p.notes, p.big, p.note_align)
    cut = p.cut and bool(p.notes)
    if p.notes:
        if p.container in ("pt_note", "pt_note_nosec"):
            sec = None if p.container == "pt_note_nosec" or cut else ".note.Xen"
            segments.append(Segment(PT_NOTE, PF_R, 0, 0, blob, align=p.note_align, section=sec))
        elif p.container == "two_pt_notes":
            half = len(p.notes) // 2
            for part in (p.notes[:half], p.notes[half:]):
                data = note_bytes(part, p.big, p.note_align)
                segments.append(Segment(PT_NOTE, PF_R, 0, 0, data, align=p.note_align))
        elif p.container == "pt_note_at_0":
            # libelf skips a PT_NOTE at file offset 0; the notes are also in a section
            segments.append(Segment(PT_NOTE, PF_R, 0, 0, b"", align=4, offset=0, filesz=0x40))
            sections.append(Section(".note.Xen", blob, addralign=p.note_align))
        else:  # sht_note_only
            sections.append(Section(".note.Xen", blob, addralign=p.note_align))
    if p.xen_guest is not None:
        sections.append(Section("__xen_guest", s(p.xen_guest), type=SHT_PROGBITS, addralign=1))
    data = build_elf(
        segments,
        sections,
        bits=p.bits,
        big_endian=p.big,
        machine=p.machine,
        entry=p.entry & ((1 << p.bits) - 1),
        with_section_headers=not cut,
    )
    if cut:
        data = data[: max(len(data) - p.cut, 0)]
    return data


def generate(seed: int, count: int) -> Iterator[tuple[str, bytes]]:
    """`count` images from `seed`: (name with index and the seed/mutations, ELF bytes)."""
    rng = random.Random(seed)
    for i in range(count):
        p = plan(rng)
        yield f"{i:05d}-{'-'.join(p.tags)}", render(_fit(p))


def _fit(p: Plan) -> Plan:
    """ELF32 header fields hold 32 bits: wrap addresses so the writer can pack them."""
    if p.bits == 32:
        mask = 0xFFFFFFFF
        p.vaddr &= mask
        p.paddr &= mask
        p.entry &= mask
    return p
