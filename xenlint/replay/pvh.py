"""What a PVH loader (QEMU, linux-loader and its VMMs) makes of an image: where it looks for
the PHYS32_ENTRY note, which note it takes, the entry it reads, or why it gives up.

This is the loader-side counterpart of `xenlint.replay.xen`: it replays each loader's own walk
over the raw PT_NOTE bytes the ELF reader kept (`Image.note_bytes`, `Image.head`), driven by
the behaviour fields of a `LoaderProfile`. Rules read the `Reading`; they never parse bytes.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from xenlint.abi import loaders as L
from xenlint.abi import notes as N
from xenlint.abi.loaders import LoaderProfile
from xenlint.image.model import Image, NoteBytes, Segment
from xenlint.record import Frozen, replace
from xenlint.replay.reach import pads_by_p_align

if TYPE_CHECKING:
    from xenlint.replay.engines import LoaderEngine

XEN_NAME = N.XEN_OWNER + b"\0"
# The bytes of a walked note's name kept (for messages and the owner test, which reads four):
# a hostile namesz claims megabytes, in each of 65534 PT_NOTE segments.
NAME_KEPT = 256

FailureKind = Literal[
    "multiboot-64",  # QEMU: multiboot v1 header without the address flag in an x86-64 ELF
    "eflags",  # QEMU: e_flags bits it refuses
    "machine",  # e_machine the loader does not accept
    "class",  # linux-loader: not an ELF64 program header table
    "byte-order",  # big-endian image
    "e-entry-low",  # VMM: e_entry below its highmem start
    "align-crash",  # QEMU: PT_NOTE p_align 0 divides by zero
    "align-error",  # linux-loader <= 0.8.1: p_align not a power of two
    "desc-short",  # linux-loader: PHYS32_ENTRY descriptor under 4 bytes (InvalidPvhNote)
    "past-file",  # a segment or note runs past the end of the file
    "absent",  # no entry found, or QEMU read 0
    "align-high",  # QEMU 4.0-5.2: an ELF32 p_align read as 8 bytes puts the entry ~4 GiB away
    "format",  # the loader does not read this kind of file (GRUB: "not xen image")
    "refused",  # a loader-specific refusal (GRUB's "invalid loader", "unknown ELF type", ...)
]

# How the loader boots the kernel when it does: its PVH entry; QEMU's or GRUB's multiboot
# path; 64-bit Linux at e_entry (Firecracker before 1.12); Xen PV (GRUB's PV loader); the
# Linux boot protocol of a bzImage (GRUB i386-xen_pvh).
BootPath = Literal["pvh", "multiboot", "linux64", "xen-pv", "linux"]


class WalkedNote(Frozen):
    """A note header as this loader's walk meets it."""

    __slots__ = ("desc_offset", "descsz", "name", "namesz", "offset", "segment", "type")

    segment: Segment
    offset: int  # file offset of the header
    namesz: int
    descsz: int
    type: int
    name: bytes  # the name's first bytes (namesz, at most NAME_KEPT, as far as the file has)
    desc_offset: int  # where this loader thinks the descriptor starts

    def __init__(
        self,
        segment: Segment,
        offset: int,
        namesz: int,
        descsz: int,
        type: int,
        name: bytes,
        desc_offset: int,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "segment", segment)
        set_(self, "offset", offset)
        set_(self, "namesz", namesz)
        set_(self, "descsz", descsz)
        set_(self, "type", type)
        set_(self, "name", name)
        set_(self, "desc_offset", desc_offset)

    @property
    def owner(self) -> str:
        text = self.name.split(b"\0", 1)[0].decode("latin-1")
        return repr(text)


class Failure(Frozen):
    __slots__ = ("kind", "message", "segment")

    kind: FailureKind
    message: str  # what the loader prints or returns
    segment: Segment | None

    def __init__(self, kind: FailureKind, message: str, segment: Segment | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "kind", kind)
        set_(self, "message", message)
        set_(self, "segment", segment)


class Reading(Frozen):
    """One loader's verdict on one image."""

    __slots__ = (
        "detail",
        "engine",
        "entry",
        "failure",
        "loader",
        "matches",
        "multiboot_flags",
        "multiboot_offset",
        "note",
        "path",
        "raw",
        "reset_by",
        "width",
    )

    loader: LoaderProfile
    path: BootPath  # QEMU boots a multiboot header before any PVH note
    matches: tuple[WalkedNote, ...]  # the type-18 note each PT_NOTE's walk stopped at
    note: WalkedNote | None  # the one whose value is used
    raw: int | None  # the value read, at the loader's width
    width: int  # bytes read for the value
    entry: int | None  # where execution starts (32 bits), None when the load fails
    failure: Failure | None
    reset_by: Segment | None  # linux-loader: the later PT_NOTE that erased the match
    multiboot_flags: int | None
    multiboot_offset: int | None
    detail: str  # engine-specific words for messages (GRUB: which notes it read)
    engine: LoaderEngine | None  # the engine that produced this reading

    def __init__(
        self,
        loader: LoaderProfile,
        path: BootPath,
        matches: tuple[WalkedNote, ...],
        note: WalkedNote | None,
        raw: int | None,
        width: int,
        entry: int | None,
        failure: Failure | None,
        reset_by: Segment | None = None,
        multiboot_flags: int | None = None,
        multiboot_offset: int | None = None,
        detail: str = "",
        engine: LoaderEngine | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "loader", loader)
        set_(self, "path", path)
        set_(self, "matches", matches)
        set_(self, "note", note)
        set_(self, "raw", raw)
        set_(self, "width", width)
        set_(self, "entry", entry)
        set_(self, "failure", failure)
        set_(self, "reset_by", reset_by)
        set_(self, "multiboot_flags", multiboot_flags)
        set_(self, "multiboot_offset", multiboot_offset)
        set_(self, "detail", detail)
        set_(self, "engine", engine)

    def for_loader(self, loader: LoaderProfile, engine: LoaderEngine | None = None) -> Reading:
        """This reading as `loader`'s, for a profile that behaves alike, and `engine`'s when
        given (every other field is this reading's own object, as with `replace`).
        Positional: a check makes one or two per loader cell of every image, and `replace`
        by keyword cost five times as much."""
        return Reading(
            loader,
            self.path,
            self.matches,
            self.note,
            self.raw,
            self.width,
            self.entry,
            self.failure,
            self.reset_by,
            self.multiboot_flags,
            self.multiboot_offset,
            self.detail,
            self.engine if engine is None else engine,
        )

    @property
    def found(self) -> bool:
        return self.note is not None and self.failure is None


def read(image: Image, loader: LoaderProfile, engine: LoaderEngine | None = None) -> Reading:
    """Replay `loader` on `image` with `engine`, by default the built-in engine named by
    `loader.engine` (KeyError when no built-in has that name: pass a plugin's engine)."""
    # Asked per loader cell of every image: the module once, not an import statement each time.
    engines = _ENGINES[0] if _ENGINES else _engines()
    chosen = engine if engine is not None else engines.builtin_engine(loader.engine)
    if not engines.is_builtin(chosen):  # a plugin's engine may read any field
        return replace(chosen.read(image, loader), engine=chosen)
    # Profiles of releases that behave alike share one replay per image (the built-in
    # engines read only the behaviour fields): 20 loader cells over 65535 PT_NOTEs walked
    # them 20 times.
    key = (__name__, chosen, _behaviour(loader))
    shared = image.remember(key, lambda: _by(chosen, image, loader))
    return shared if shared.loader is loader else shared.for_loader(loader)


_ENGINES: list[ModuleType] = []  # xenlint.replay.engines, which imports this module


def _engines() -> ModuleType:
    from xenlint.replay import engines

    _ENGINES.append(engines)
    return engines


def _by(engine: LoaderEngine, image: Image, loader: LoaderProfile) -> Reading:
    """`engine`'s reading of `image` as `loader`, naming the engine."""
    reading = engine.read(image, loader)
    return reading.for_loader(reading.loader, engine)


def _behaviour(loader: LoaderProfile) -> tuple[object, ...]:
    """Every field of `loader` a built-in engine reads: all of LoaderProfile's own and the
    modes, not the name, version or note that tell releases apart."""
    # Asked for every loader cell of every image: worked out once per profile (the entry
    # keeps the profile, so its id stays its own).
    hit = _BEHAVIOURS.get(id(loader))
    if hit is None or hit[0] is not loader:
        if len(_BEHAVIOURS) > 4096:
            _BEHAVIOURS.clear()
        own = tuple(getattr(loader, f) for f in LoaderProfile.__slots__)
        hit = _BEHAVIOURS[id(loader)] = (loader, (*own, loader.modes, loader.fixed_modes))
    return hit[1]


_BEHAVIOURS: dict[int, tuple[LoaderProfile, tuple[object, ...]]] = {}


def read_as_if_4(image: Image, reading: Reading) -> Reading:
    """The same loader, by the same engine, with 4-byte note padding: what a p_align-4
    segment would give."""
    return read(image, replace(reading.loader, walk="4", elf32_align_read_64=False), reading.engine)


def misread_by_p_align(image: Image, reading: Reading) -> bool:
    """Whether the loader reads the entry note wrongly only because it pads by a PT_NOTE's
    p_align other than 4 (XL502's finding): a 4-byte walk would read something else."""
    note = reading.note
    if not reading.loader.walks_p_align or note is None or note.segment.align == 4:
        return False
    ideal = read_as_if_4(image, reading)
    return (reading.entry, reading.failure, reading.raw) != (ideal.entry, ideal.failure, ideal.raw)


def entry_in_load(image: Image, entry: int) -> Segment | None:
    """The PT_LOAD whose file bytes hold `entry` (loaded at p_paddr by every loader here)."""
    for seg in image.segments:
        if seg.is_load and seg.filesz and seg.paddr <= entry < seg.paddr + seg.filesz:
            return seg
    return None


def boots(image: Image, reading: Reading) -> bool:
    """Whether the loader really starts code of the kernel at a PVH entry (or, for QEMU's
    multiboot path, at its multiboot entry)."""
    if reading.failure is not None or reading.entry is None:
        return False
    return entry_in_load(image, reading.entry) is not None


def aligned_headers(
    data: bytes, magic: int, align: int, words: int, stop: int
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Each offset below `stop`, a multiple of `align`, where `data` holds the little-endian
    32-bit `magic`, with the `words` 32-bit words there (magic first), in offset order: the
    probe loaders make at every `align` bytes (multiboot headers). The caller keeps
    `stop + 4 * words - 1 <= len(data)`. Found with bytes.find rather than one unpack per
    offset: QEMU's and GRUB's windows are 2,000-4,000 probes, milliseconds of every run."""
    if stop <= 0:
        return
    pattern = magic.to_bytes(4, "little")
    layout = struct.Struct(f"<{words}I")
    off = data.find(pattern, 0, stop + 3)  # a match that starts below `stop`
    while off >= 0:
        if off % align == 0:
            yield off, layout.unpack_from(data, off)
        off = data.find(pattern, off + 1, stop + 3)


def multiboot_header(image: Image) -> tuple[int, int] | None:
    """(offset, flags) of a multiboot v1 header QEMU would find, or None."""
    head = image.head
    limit = min(len(head) - 12, L.MULTIBOOT_SCAN_BYTES)
    for off, (magic, flags, checksum) in aligned_headers(head, L.MULTIBOOT_MAGIC, 4, 3, limit):
        if (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return off, flags
    return None


def multiboot_past_qemu_window(image: Image) -> int | None:
    """The offset of a multiboot v1 header that GRUB finds (first 8192 bytes) but QEMU does
    not (it probes offsets below 8192 - 48), or None."""
    from xenlint.replay.grub import multiboot_headers

    if multiboot_header(image) is not None:
        return None
    v1, _ = multiboot_headers(image.head)
    return v1[0] if v1 is not None else None


QEMU_LAST_MULTIBOOT = L.MULTIBOOT_SCAN_BYTES - 4  # the last offset QEMU's 4-byte probe reads


# --- QEMU ---------------------------------------------------------------------------------


def qemu(image: Image, loader: LoaderProfile) -> Reading:
    """QEMU's x86_load_linux on an ELF: multiboot first, then load_elfboot's PVH note."""
    raws = _RawIndex.of(image)
    width = loader.elf64_desc_bytes if image.elf_class == 64 else loader.elf32_desc_bytes

    def fail(kind: FailureKind, message: str, seg: Segment | None = None) -> Reading:
        return Reading(loader, "pvh", (), None, None, width, None, Failure(kind, message, seg))

    mb = multiboot_header(image) if loader.multiboot_first else None
    if mb is not None:
        off, flags = mb
        if not flags & L.MULTIBOOT_AOUT_KLUDGE and image.machine == L.EM_X86_64:
            reading = fail("multiboot-64", L.QEMU_MULTIBOOT_64)
        else:
            reading = Reading(loader, "multiboot", (), None, None, width, image.entry, None)
        return replace(reading, multiboot_flags=flags, multiboot_offset=off)
    if image.flags & loader.refused_eflags:
        return fail("eflags", L.QEMU_EFLAGS.format(flags=image.flags))
    if not image.little_endian:
        return fail("byte-order", f"{L.QEMU_LOAD_ERROR} (the image has incorrect endianness)")
    if image.machine not in loader.machines:
        return fail("machine", f"{L.QEMU_LOAD_ERROR} (the image is from incompatible architecture)")
    read_high = loader.elf32_align_read_64 and image.elf_class == 32
    padded = pads_by_p_align(image, loader.walks_p_align)
    scan = image.remember(
        (__name__, "qemu", padded, width, read_high),
        lambda: _qemu_scan(image, raws, padded, width, read_high),
    )
    matches, chosen, raw, stop, seg = scan
    if stop == "segment-past-file":
        assert seg is not None
        return fail("past-file", f"{L.QEMU_LOAD_ERROR} (segment {seg.index} past the file)")
    if stop == "align-crash":
        return fail("align-crash", "QEMU dies of SIGFPE (p_align 0 divides by zero)", seg)
    if stop == "align-high":
        assert seg is not None and chosen is not None
        # read_pvh_start_addr pads namesz to this 64-bit p_align: the descriptor is read
        # ~4 GiB past the note, outside the host buffer holding the file.
        high = _align_read_high(image, seg)
        align64 = (high << 32) | seg.align
        where = chosen.offset + 12 + _align_up(chosen.namesz, align64)
        reading = fail(
            "align-high",
            f"{loader.program} reads its p_align as {align64:#x} (the next program header's "
            f"p_type {high:#x} as the upper half) and the entry at {where:#x}, past the "
            "file: garbage or a crash",
            seg,
        )
        return replace(reading, matches=matches, note=chosen)
    if stop == "entry-past-file":
        return fail("past-file", "QEMU reads the entry past the end of the file", seg)
    if raw is None or raw == 0:
        reading = fail("absent", L.QEMU_NO_NOTE)
        return replace(reading, matches=matches, note=chosen, raw=raw)
    return Reading(loader, "pvh", matches, chosen, raw, width, raw & 0xFFFFFFFF, None)


_QemuStop = Literal["", "segment-past-file", "align-crash", "align-high", "entry-past-file"]


def _qemu_scan(
    image: Image, raws: _RawIndex, walks_p_align: bool, width: int, read_high: bool
) -> tuple[tuple[WalkedNote, ...], WalkedNote | None, int | None, _QemuStop, Segment | None]:
    """(matches, chosen note, value read, why the pass stopped early, at which segment) of
    QEMU's pass over the program headers. It depends on the profile only through the
    padding, the width read and the ELF32 p_align misread, so QEMU profiles that differ
    elsewhere share one pass per image (each over 20,000 PT_NOTE segments, say)."""
    for seg in image.segments:
        if (seg.is_load or seg.is_note) and seg.filesz and seg.offset + seg.filesz > image.size:
            return (), None, None, "segment-past-file", seg
    matches: list[WalkedNote] = []
    raw: int | None = None
    chosen: WalkedNote | None = None
    for seg in image.segments:
        if not seg.is_note or not seg.filesz:
            continue
        align = seg.align if walks_p_align else 4
        if align == 0:
            return tuple(matches), chosen, raw, "align-crash", seg
        note = raws.walk(_qemu_walk, seg, align)
        if note is None:
            continue
        matches.append(note)
        if read_high and _align_read_high(image, seg):
            return tuple(matches), note, raw, "align-high", seg
        value = raws.value(note.desc_offset, width)
        if value is None:
            return tuple(matches), note, raw, "entry-past-file", seg
        raw, chosen = value, note  # every match overwrites pvh_start_addr: the last one wins
    return tuple(matches), chosen, raw, "", None


def _align_read_high(image: Image, seg: Segment) -> int:
    """QEMU 4.0-5.2 on ELF32: the upper half of p_align read through a uint64_t*, i.e. the
    next program header's p_type (0 when PT_NOTE is the last header: the bytes after the
    table are not modelled, and are often 0)."""
    nxt = seg.index + 1  # segments hold every header in table order: index by position
    return image.segments[nxt].type if nxt < len(image.segments) else 0


def _qemu_walk(seg: Segment, raw: NoteBytes | None, align: int) -> WalkedNote | None:
    """get_elf_note_type: stop at the first type-18 note; step by the p_align-padded size; the
    only stop is a note larger than the whole segment, so the walk may leave the segment."""
    if raw is None:
        return None
    pos = 0
    data = raw.data
    entry_type = N.PHYS32_ENTRY.number
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        if ntype == entry_type:  # the one note the walk returns: no record for the others
            desc = pos + 12 + _align_up(namesz, align)
            return WalkedNote(
                seg,
                raw.offset + pos,
                namesz,
                descsz,
                ntype,
                bytes(data[pos + 12 : pos + 12 + min(namesz, NAME_KEPT)]),
                raw.offset + desc,
            )
        size = 12 + _align_up(namesz, align) + _align_up(descsz, align)
        if size > seg.filesz:
            return None
        pos += size
    return None  # past what xenlint keeps (or the file): treated as not found


# --- rust-vmm linux-loader -----------------------------------------------------------------


def linux_loader(image: Image, loader: LoaderProfile) -> Reading:
    """rust-vmm linux-loader's Elf::load: header checks, PT_LOADs, each PT_NOTE's walk."""
    raws = _RawIndex.of(image)
    width = L.LINUX_LOADER_DESC

    def fail(kind: FailureKind, message: str, seg: Segment | None = None) -> Reading:
        return Reading(loader, "pvh", (), None, None, width, None, Failure(kind, message, seg))

    if not image.little_endian:
        return fail("byte-order", "BigEndianElfOnLittle")
    if loader.elf64_only and image.elf_class != 64:
        # ELF32's e_phentsize is 32; linux-loader never reads EI_CLASS.
        return fail("class", "InvalidProgramHeaderSize (an ELF32 image)")
    if loader.min_e_entry is not None and image.entry < loader.min_e_entry:
        return fail("e-entry-low", "InvalidEntryAddress")
    padded = pads_by_p_align(image, loader.walks_p_align)
    scan = image.remember(
        (__name__, "linux-loader", padded),
        lambda: _linux_loader_scan(image, raws, padded),
    )
    matches, chosen, reset_by, stop = scan
    if isinstance(stop, Failure):
        return replace(fail(stop.kind, stop.message, stop.segment), matches=matches)
    if chosen is None:
        reading = fail("absent", "PvhEntryNotPresent")
        return replace(reading, matches=matches, reset_by=reset_by)
    value = raws.value(chosen.desc_offset, width)
    if value is None:
        return fail("past-file", "ReadNoteHeader", chosen.segment)
    return Reading(loader, "pvh", matches, chosen, value, width, value, None)


def _linux_loader_scan(
    image: Image, raws: _RawIndex, walks_p_align: bool
) -> tuple[tuple[WalkedNote, ...], WalkedNote | None, Segment | None, Failure | None]:
    """(matches, chosen, reset_by, failure) of linux-loader's pass over the program headers
    (a PT_LOAD past the file fails the load with no matches). The pass depends on the
    profile only through its padding, so the nine linux-loader and VMM profiles share two
    passes per image, not nine (each over 20,000 PT_NOTE segments, say)."""
    matches: list[WalkedNote] = []
    chosen: WalkedNote | None = None
    reset_by: Segment | None = None
    for seg in image.segments:
        if seg.is_load and seg.filesz:
            if seg.offset + seg.filesz > image.size:
                return (), None, None, Failure("past-file", "ReadKernelImage", seg)
            continue
        if not seg.is_note:
            continue
        align = seg.align if walks_p_align else 4
        found = raws.walk(_linux_loader_walk, seg, align)
        if isinstance(found, Failure):
            return tuple(matches), None, None, Failure(found.kind, found.message, seg)
        if found is not None:
            matches.append(found)
            reset_by = None
        elif chosen is not None:
            reset_by = seg
        chosen = found  # each PT_NOTE overwrites the result: the last one decides
    return tuple(matches), chosen, reset_by, None


def _linux_loader_walk(
    seg: Segment, raw: NoteBytes | None, align: int
) -> WalkedNote | Failure | None:
    """parse_elf_note: headers while the running offset is inside p_filesz; a match needs
    type 18, namesz 4 and the name 'Xen\\0'; descsz under 4 is InvalidPvhNote."""
    data = raw.data if raw is not None else b""
    pos = 0
    while pos < seg.filesz:
        if pos + 12 > len(data):
            return Failure("past-file", "ReadNoteHeader")
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        if align <= 0 or align & (align - 1):
            return Failure("align-error", f"Align (p_align {seg.align} is not a power of two)")
        if (
            ntype == N.PHYS32_ENTRY.number
            and namesz == len(XEN_NAME)
            and data[pos + 12 : pos + 12 + namesz] == XEN_NAME
        ):
            assert raw is not None
            desc = pos + 12 + _align_up(namesz, align)
            if descsz < L.LINUX_LOADER_DESC:
                return Failure("desc-short", "InvalidPvhNote")
            return WalkedNote(
                seg, raw.offset + pos, namesz, descsz, ntype, XEN_NAME, raw.offset + desc
            )
        pos += 12 + _align_up(namesz, align) + _align_up(descsz, align)
    return None


# --- shared helpers ------------------------------------------------------------------------


Walker = Callable[[Segment, "NoteBytes | None", int], "WalkedNote | Failure | None"]


class _RawIndex:
    """The kept PT_NOTE bytes indexed by segment and by file offset, so a walk over 65535
    PT_NOTE segments costs n·log n, not a scan of every kept segment for every segment."""

    def __init__(self, image: Image) -> None:
        self._by_segment: dict[int, NoteBytes] = {}
        self._walks: dict[tuple[object, ...], WalkedNote | Failure | None] = {}
        for raw in image.note_bytes:
            self._by_segment.setdefault(raw.segment, raw)
        ordered = sorted(image.note_bytes, key=lambda r: r.offset)
        self._starts = [r.offset for r in ordered]
        # For each prefix of `ordered`, the kept copy reaching furthest: every copy holds the
        # same file bytes, so any copy covering a range gives the same value.
        self._reach: list[NoteBytes] = []
        best: NoteBytes | None = None
        for raw in ordered:
            if best is None or raw.offset + len(raw.data) > best.offset + len(best.data):
                best = raw
            self._reach.append(best)

    @classmethod
    def of(cls, image: Image) -> _RawIndex:
        """The index of `image`, built once for all the loaders reading it."""
        return image.remember(cls, lambda: cls(image))

    def walk(self, walker: Walker, seg: Segment, align: int) -> WalkedNote | Failure | None:
        """`walker` over the segment's kept bytes, once per (bytes, start, align, size):
        segments over the same bytes (65535 of them, say) walk them once."""
        raw = self._by_segment.get(seg.index)
        # Within an image a kept view is fixed by its offset and length (its bytes are the
        # file's), so segments over the same bytes share a walk.
        kept = (raw.offset, len(raw.data)) if raw else None
        key = (walker, kept, seg.offset, align, seg.filesz, seg.align)
        found = self._walks.get(key)
        if key not in self._walks:
            found = self._walks[key] = walker(seg, raw, align)
        if isinstance(found, WalkedNote) and found.segment is not seg:
            found = replace(found, segment=seg)
        return found

    def value(self, offset: int, width: int) -> int | None:
        """The little-endian number of `width` bytes at file `offset`, if kept."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return None
        raw = self._reach[i]
        start = offset - raw.offset
        if start + width > len(raw.data):
            return None
        return int.from_bytes(raw.data[start : start + width], "little")


def _align_up(n: int, align: int) -> int:
    return -(-n // align) * align


# --- for messages ---------------------------------------------------------------------------


def declared_entry(image: Image) -> int | None:
    """The entry the kernel declares: its last Xen PHYS32_ENTRY note (the one Xen uses),
    read from its first 4 bytes, wherever Xen found it. Once per image."""
    return image.remember((__name__, "declared"), lambda: _declared_entry(image))


def _declared_entry(image: Image) -> int | None:
    notes = [n for n in image.notes if n.type == N.PHYS32_ENTRY.number and len(n.desc) >= 4]
    if not notes:
        return None
    return int.from_bytes(notes[-1].desc[:4], "little")


def has_any_entry_note(image: Image) -> bool:
    """A type-18 note of any owner anywhere: PT_NOTE segments (even those Xen skips),
    SHT_NOTE sections, or a foreign owner's. Once per image."""
    return image.remember((__name__, "any-entry"), lambda: _has_any_entry_note(image))


def _has_any_entry_note(image: Image) -> bool:
    xen = image.segment_notes + image.section_notes + image.skipped_segment_notes
    return any(n.type == N.PHYS32_ENTRY.number for n in xen) or any(
        n.type == N.PHYS32_ENTRY.number for n in image.foreign_notes
    )


def is_linux(image: Image) -> bool:
    """Whether the image shows itself a Linux kernel: a note owned by "Linux" (vmlinux's
    build-salt and LTO notes, include/linux/elfnote.h LINUX_ELFNOTE) or a Xen GUEST_OS of
    "linux". Once per image: fixes ask for cell after cell, over 65,534 notes."""
    return image.remember((__name__, "is_linux"), lambda: _is_linux(image))


def _is_linux(image: Image) -> bool:
    if any(n.owner == b"Linux" for n in image.foreign_notes):
        return True
    return any(
        n.type == N.GUEST_OS.number and n.string.lower().startswith(b"linux") for n in image.notes
    )


# At most this many section names describe a segment (a real one holds a handful).
NAMES_LISTED = 4


def segment_names(image: Image, seg: Segment) -> list[str]:
    """Names of the sections a segment's file bytes hold (the first NAMES_LISTED, then how
    many more)."""
    listed, count = image.sections_in(seg.offset, seg.offset + seg.filesz, NAMES_LISTED)
    names = [s.name for s in listed]
    if count > len(listed):
        names.append(f"and {count - len(listed)} more sections")
    return names


def describe_segment(image: Image, seg: Segment) -> str:
    names = ", ".join(segment_names(image, seg))
    kind = "PT_NOTE" if seg.is_note else "PT_LOAD" if seg.is_load else f"type {seg.type:#x}"
    return f"{kind} segment {seg.index}" + (f" ({names})" if names else "")


def consequence(image: Image, reading: Reading) -> str:
    """What the loader does with this reading, in words, quoting its own message (worded by
    the engine that produced the reading)."""
    from xenlint.replay.engines import builtin_engine

    engine = reading.engine or builtin_engine(reading.loader.engine)
    return engine.consequence(image, reading)
