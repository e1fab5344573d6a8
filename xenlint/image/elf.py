"""Read an ELF file into an `Image`, finding `Xen` notes the way Xen's libelf does.

`xenlint.image.elfheaders` reads the headers; notes are walked here from the raw bytes because
pyelftools names note types without regard to the owner (Xen type 3 comes back as
NT_GNU_BUILD_ID) and pads by the section alignment, while Xen always pads to 4
(shared/abi/xen.md §5.3). The file is mapped read-only and only the parts that are needed are
touched; every loop is bounded as libelf bounds it (65536 notes, 4096-byte strings).
"""

from __future__ import annotations

import bisect
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from xenlint.abi import notes as N
from xenlint.abi.elf import SHT_NOBITS, SHT_NOTE
from xenlint.abi.loaders import GRUB_MULTIBOOT2_SEARCH, QEMU_HEADER_BYTES
from xenlint.image.elfheaders import (
    check_phdr_table,
    check_shdr_table,
    read_header,
    read_sections,
    read_segments,
)
from xenlint.image.model import (
    Container,
    ForeignNote,
    Image,
    ImageError,
    Note,
    NoteBytes,
    NoteProblem,
    ProblemKind,
    Section,
    Segment,
    XenGuest,
    open_regular,
)
from xenlint.image.symbols import find_source

# Raw bytes kept for the loaders' own reading (xenlint.replay): QEMU probes the first 8 KiB
# for bzImage and multiboot headers, GRUB searches 32 KiB for a multiboot2 header
# (commands/file.c), and QEMU's note walk can run past a PT_NOTE's end.
HEAD_BYTES = max(QEMU_HEADER_BYTES, GRUB_MULTIBOOT2_SEARCH)
NOTE_SLACK = 1 << 20
# Hostile bounds on those copies: a PT_NOTE claiming the whole of a 1 GB file, or 65535 of
# them, must not copy gigabytes. Real note segments are a few KiB.
NOTE_BYTES_PER_SEGMENT = 1 << 20
NOTE_BYTES_TOTAL = 64 << 20


# Files up to this size are read with one pread instead of mapped: mapping one costs more
# system calls (a dup, mmap, munmap) than reading it, and a directory check reads thousands
# of small kernels. Larger ones (a 600 MiB debug vmlinux) are mapped, never read whole.
READ_WHOLE_MAX = 1 << 20


@contextmanager
def _mapped(path: str) -> Iterator[mmap.mmap | bytes]:
    """Map the file read-only, or read it when it is small (READ_WHOLE_MAX bytes or less); an
    empty file gives empty bytes (mmap refuses size 0)."""
    fd = open_regular(path)
    try:
        info = os.fstat(fd)
        size = info.st_size
        if size == 0:
            yield b""
            return
        if size <= READ_WHOLE_MAX:
            yield os.pread(fd, size, 0)
            return
        try:
            mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot map file: {exc}") from None
        try:
            yield mapped
        finally:
            mapped.close()
    finally:
        os.close(fd)


def load_elf(path: str, *, display_path: str | None = None) -> Image:
    """Read `path` as an ELF kernel image. Raises ImageError with a one-line reason."""
    with _mapped(path) as data:
        return parse_elf(data, display_path or path, source_path=path)


def parse_elf(
    data: mmap.mmap | bytes,
    path: str,
    origin: str = "",
    fmt: str = "elf",
    *,
    prefix_of: int | None = None,
    source_path: str | None = None,
) -> Image:
    """Build the Image. `prefix_of` says `data` is only the first bytes of an ELF of that
    size (a stream decompressed up to its last note segment): the section headers, which
    sit at the end, are then not read, and neither is the rest of the file. `source_path`
    names the file `data` was mapped from, so its symbol table can be read later; a
    decompressed ELF has none to go back to."""
    header = read_header(data)
    size = len(data)
    check_phdr_table(header, size)
    segments = read_segments(data, header)
    if prefix_of is None:
        check_shdr_table(header, size)
        sections = read_sections(data, header)
    else:
        sections = ()
    little = header.little_endian
    containers = _NoteSectionIndex(sections)
    copies = _Copies(data)
    walker = _Walker(data, little, copies)
    for seg in segments:
        if walker.stopped:
            break  # libelf stops scanning at its note cap (shared/abi/xen.md §5.1)
        if seg.is_note and seg.offset != 0:
            walker.walk(containers.for_segment(seg), "segment")
    segment_notes = tuple(walker.xen)
    segment_problems = tuple(walker.problems)
    skipped = tuple(s for s in segments if s.is_note and s.offset == 0)
    skipped_walker = _Walker(data, little, copies)
    for seg in skipped:
        if skipped_walker.stopped:
            break
        skipped_walker.walk(containers.for_segment(seg), "segment")
    section_walker = _Walker(data, little, copies, start_count=walker.count)
    for sec in sections:
        if section_walker.stopped:
            break
        if sec.type == SHT_NOTE and sec.index != 0:
            container = Container("section", sec.index, sec.name, sec.offset, sec.size)
            section_walker.walk(container, "section")
    return Image(
        path=path,
        format=fmt,
        size=size if prefix_of is None else prefix_of,
        elf_class=32 if header.elf_class == 1 else 64,
        little_endian=little,
        machine=header.machine,
        etype=header.etype,
        entry=header.entry,
        flags=header.flags,
        segments=segments,
        sections=sections,
        segment_notes=segment_notes,
        section_notes=tuple(section_walker.xen),
        skipped_segments=skipped,
        skipped_segment_notes=tuple(skipped_walker.xen),
        foreign_notes=_unique_by_offset(walker.foreign + section_walker.foreign),
        segment_problems=segment_problems,
        section_problems=tuple(section_walker.problems),
        xen_guest=_xen_guest(data, sections),
        origin=origin,
        sections_read=prefix_of is None,
        head=bytes(data[:HEAD_BYTES]),
        note_bytes=_note_bytes(data, segments),
        symbol_source=(
            find_source(source_path, 32 if header.elf_class == 1 else 64, little, sections)
            if source_path is not None
            else None
        ),
    )


def _note_bytes(data: mmap.mmap | bytes, segments: tuple[Segment, ...]) -> tuple[NoteBytes, ...]:
    """Each PT_NOTE segment's bytes plus the loaders' slack, as views into one copy of each
    run of overlapping spans: 65535 segments 56 bytes apart cost the run they cover (a few
    MB), not 65535 one-MiB copies cut off by the total budget."""
    notes = [s for s in segments if s.is_note]
    size = len(data)
    spans = [
        (seg.offset, min(seg.offset + min(seg.filesz, NOTE_BYTES_PER_SEGMENT) + NOTE_SLACK, size))
        for seg in notes
    ]
    starts: list[int] = []
    runs: list[memoryview] = []
    budget = NOTE_BYTES_TOTAL
    for start, stop in union_spans(spans):
        if budget <= 0:
            break
        run = bytes(data[start : min(stop, start + budget)])
        budget -= len(run)
        starts.append(start)
        runs.append(memoryview(run))
    kept = []
    for seg, (start, stop) in zip(notes, spans, strict=True):
        i = bisect.bisect_right(starts, start) - 1
        view: bytes | memoryview = b""
        if i >= 0 and start < stop:
            shared, base = runs[i], starts[i]
            view = shared[start - base : max(min(stop, base + len(shared)) - base, start - base)]
        kept.append(NoteBytes(seg.index, seg.offset, view))
    return tuple(kept)


def union_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint [start, stop) spans covering `spans` (overlapping or touching ones
    merged, empty ones dropped): 65,535 PT_NOTE segments with their loader slack become a
    few spans."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if stop <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


# What a Note keeps of its descriptor. Xen reads a string descriptor up to 4096 bytes and a
# number or word array from its first few words (elf_note_numeric, elf_note_numeric_array),
# and every descriptor it defines is shorter; a hostile note may claim a gigabyte, and 65535
# PT_NOTE segments 16 bytes apart make as many such notes over one region. So a descriptor
# keeps its first DESC_KEEP bytes (`desc_present` says how many are in the file), and once
# an image's kept descriptors reach DESC_BUDGET, further ones keep DESC_KEEP_PAST_BUDGET
# (enough for every number and for PHYS32_RELOC's three words).
DESC_KEEP = 4096
DESC_BUDGET = 4 << 20
DESC_KEEP_PAST_BUDGET = 16
# What the walks may copy of note names and Xen note strings (each up to 4096 bytes, libelf's
# bound) before the image is refused. Unlike a descriptor, a string cannot be cut short without
# changing a verdict: a FEATURES token past the cut may fail the parse. A kernel's take a few
# hundred bytes; 65536 distinct 4 KiB strings (libelf reads that many) are 268 MB, and judging
# each of them costs time in proportion.
STRING_BUDGET = 8 << 20

# A container name lists at most this many of the SHT_NOTE sections inside a PT_NOTE segment
# (a real kernel has one to four); a hostile file with thousands of sections over one segment
# would otherwise put thousands of names into every finding on it.
NAMES_LISTED = 4


class _NoteSectionIndex:
    """Names the SHT_NOTE sections that start inside a PT_NOTE segment, by bisection, so
    thousands of segments and sections cost n·log n, not n²: a segment's sections are one
    slice of the offset-sorted list, of which only the first `NAMES_LISTED` are named."""

    def __init__(self, sections: tuple[Section, ...]) -> None:
        notes = sorted(
            (s.offset, s.index, s.name) for s in sections if s.type == SHT_NOTE and s.size
        )
        self._offsets = [n[0] for n in notes]
        self._notes = notes

    def for_segment(self, seg: Segment) -> Container:
        if not self._offsets:  # a decompressed prefix, or no SHT_NOTE at all
            return Container("segment", seg.index, None, seg.offset, seg.filesz)
        lo = bisect.bisect_left(self._offsets, seg.offset)
        hi = bisect.bisect_left(self._offsets, seg.offset + seg.filesz)
        names = [name for _, _, name in self._notes[lo : min(hi, lo + NAMES_LISTED)]]
        if hi - lo > NAMES_LISTED:
            names.append(f"and {hi - lo - NAMES_LISTED} more sections")
        return Container("segment", seg.index, ", ".join(names) or None, seg.offset, seg.filesz)


class _Copies:
    """The bytes an image's note walks copy out of the file, shared by its three walks
    (segments, skipped segments, sections): a note that a segment and a section both cover,
    or that 65535 PT_NOTE segments cover, is copied once, and the budgets are the image's.

    Raises ImageError when the names and strings copied pass STRING_BUDGET bytes."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.copies: dict[tuple[int, int], bytes] = {}  # (offset, length) -> the bytes
        self.strings: dict[int, tuple[bytes, bool]] = {}  # offset -> _c_string() there
        self.kept = 0  # bytes of descriptors copied so far
        self.string_bytes = 0  # bytes of names and strings copied so far

    def copy(self, offset: int, length: int) -> bytes:
        """`length` bytes of the file at `offset` (fewer where the file ends)."""
        key = (offset, max(length, 0))
        found = self.copies.get(key)
        if found is None:
            found = self.copies[key] = bytes(self.data[offset : offset + key[1]])
            self.kept += len(found)
        return found

    def c_string(self, offset: int) -> tuple[bytes, bool]:
        """_c_string() of the file at `offset` within libelf's 4096-byte bound."""
        found = self.strings.get(offset)
        if found is None:
            found = self.strings[offset] = _c_string(self.data, offset, N.STRING_BOUND)
            self.string_bytes += len(found[0])
            if self.string_bytes > STRING_BUDGET:
                raise ImageError(
                    f"the note names and strings read up to offset {offset:#x} pass "
                    f"{STRING_BUDGET >> 20} MiB, the most xenlint judges (a kernel's notes "
                    "hold a few hundred bytes of them)"
                )
        return found


class _Walker:
    """Walks note streams with libelf's rules: 4-byte padding, owner compared as a C string."""

    def __init__(
        self,
        data: mmap.mmap | bytes,
        little: bool,
        copies: _Copies,
        *,
        start_count: int = 0,
    ) -> None:
        self.data = data
        self.header = _HEADER_LE if little else _HEADER_BE
        self.count = start_count
        self.xen: list[Note] = []
        self.foreign: list[ForeignNote] = []
        self.problems: list[NoteProblem] = []
        self.stopped = False  # the note cap was reached: nothing more is read
        self.copies = copies

    def walk(self, container: Container, kind: str) -> None:
        data, size = self.data, len(self.data)
        start, end = container.offset, container.offset + container.size
        if end > size:
            self.problems.append(
                NoteProblem("container-past-file", container, start, xen=False, facts=(size,))
            )
        pos, stop = start, min(end, size)
        # Locals, and no call for what a well-formed note does not need: this loop runs once
        # per note, 65535 times on a hostile image.
        header = self.header.unpack_from
        copies, problems = self.copies, self.problems
        kept_copies, strings = copies.copies, copies.strings
        xen_notes, foreign = self.xen, self.foreign
        while pos < stop:
            if self.count >= _MAX_NOTES:
                problems.append(NoteProblem("too-many", container, pos))
                self.stopped = True
                return
            self.count += 1
            if pos + 12 > size:
                problems.append(NoteProblem("past-file", container, pos, xen=False))
                return
            namesz, descsz, ntype = header(data, pos)
            name_off = pos + 12
            # namesz and descsz rounded up to 4 as libelf's elf_note_next/elf_note_desc do
            # it, in a 32-bit `unsigned` (an `int` before 4.3): a size of 0xfffffffd or more
            # wraps to 0, so the walk goes on right after the header (found by the libelf
            # differential, every release). Inline: this runs once per note.
            desc_off = name_off + (((namesz + 3) & ~3) & 0xFFFFFFFF)
            nxt = desc_off + (((descsz + 3) & ~3) & 0xFFFFFFFF)
            if data[name_off : name_off + _XEN_LEN] == _XEN_NAME:  # the usual owner, no copy
                name, terminated = _XEN_OWNER, True
            else:
                name, terminated = copies.c_string(name_off)
            is_xen = terminated and name == _XEN_OWNER
            if pos + 12 > end:
                problems.append(
                    NoteProblem("header-past-container", container, pos, ntype, xen=is_xen)
                )
            if not terminated:
                problems.append(
                    NoteProblem(
                        "name-unterminated",
                        container,
                        pos,
                        ntype,
                        xen=name.startswith(_XEN_OWNER[: len(name)]),
                    )
                )
            desc_end = desc_off + descsz
            present = max(min(desc_end, size) - desc_off, 0)
            keep = min(present, DESC_KEEP if copies.kept < DESC_BUDGET else DESC_KEEP_PAST_BUDGET)
            desc = kept_copies.get((desc_off, keep))
            if desc is None:
                desc = copies.copy(desc_off, keep)
            if is_xen:
                if desc_end > stop:  # the descriptor runs past the container, or the file
                    where: ProblemKind = "past-file" if desc_end > size else "past-container"
                    over = desc_end - (size if desc_end > size else end)
                    problems.append(
                        NoteProblem(where, container, pos, ntype, True, (descsz, desc_off, over))
                    )
                if namesz != _XEN_NAMESZ:
                    # libelf matches the name as a C string and never looks at namesz; tools
                    # that compare namesz with 4 (or the name with "Xen\0") miss the note.
                    problems.append(
                        NoteProblem("name-size", container, pos, ntype, True, (namesz,))
                    )
                found = strings.get(desc_off)
                if found is None:
                    found = copies.c_string(desc_off)
                xen_notes.append(
                    Note(
                        container,
                        pos,
                        namesz,
                        descsz,
                        ntype,
                        name,
                        desc,
                        len(xen_notes),
                        found[0],
                        found[1],
                        present,
                    )
                )
            elif terminated:
                foreign.append(ForeignNote(container, pos, name, ntype, namesz, descsz))
            pos = nxt


def _unique_by_offset(notes: list[ForeignNote]) -> tuple[ForeignNote, ...]:
    """A note inside a PT_NOTE that a section also covers is listed once (segment first)."""
    seen: set[int] = set()
    out = []
    for note in notes:
        if note.offset not in seen:
            seen.add(note.offset)
            out.append(note)
    return tuple(out)


_XEN_OWNER = N.XEN_OWNER
_XEN_NAME = N.XEN_OWNER + b"\0"
_XEN_LEN = len(_XEN_NAME)
_XEN_NAMESZ = len(N.XEN_OWNER) + 1
_MAX_NOTES = N.MAX_NOTES
_HEADER_LE = struct.Struct("<III")  # namesz, descsz, type
_HEADER_BE = struct.Struct(">III")


def _c_string(data: mmap.mmap | bytes, offset: int, bound: int) -> tuple[bytes, bool]:
    """Bytes from `offset` up to the first NUL, and whether a NUL was found within `bound`.
    The NUL is searched in place: only the string is copied, not `bound` bytes."""
    nul = data.find(b"\0", offset, offset + bound)
    if nul < 0:
        return bytes(data[offset : offset + bound]), False
    return bytes(data[offset:nul]), True


# libelf walks the whole section; real strings are a few hundred bytes, so reading at most this
# much keeps a hostile gigabyte-long section from being copied into memory.
XEN_GUEST_BOUND = 1 << 20


def _xen_guest(data: mmap.mmap | bytes, sections: tuple[Section, ...]) -> XenGuest | None:
    for sec in sections:
        if sec.name == N.XEN_GUEST_SECTION and sec.type != SHT_NOBITS:
            end = min(sec.offset + sec.size, len(data), sec.offset + XEN_GUEST_BOUND)
            raw = bytes(data[sec.offset : end])
            text = raw.split(b"\0", 1)[0].decode("latin-1")
            return XenGuest(sec, text, parse_xen_guest(text))
    return None


def parse_xen_guest(text: str) -> tuple[tuple[str, str], ...]:
    """Split the legacy string into (NAME, VALUE) items as elf_xen_parse_guest_info does:
    names keep 31 characters, values 127; an item without '=' has an empty value."""
    items = []
    for item in text.split(","):
        if not item:
            continue
        name, _, value = item.partition("=")
        items.append((name[:31], value[:127]))
    return tuple(items)
