"""The immutable model of a kernel image that rules read: headers, sections and `Xen` notes.

Loaders (`xenlint.image.elf`) build it; rules never see bytes beyond what is recorded here.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

from xenlint.abi import notes as N
from xenlint.abi.elf import (
    EM_386,
    EM_ARM,
    EM_X86_64,
    MACHINE_NAMES,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    SHT_NOBITS,
    SHT_NOTE,
)
from xenlint.errors import XenlintError
from xenlint.escape import escape
from xenlint.record import Frozen

if TYPE_CHECKING:
    from xenlint.image.symbols import SymbolSource, SymbolTable


T = TypeVar("T")


class ImageError(XenlintError):
    """The file cannot be read as a kernel image at all; the message is one line."""


def open_regular(path: str) -> int:
    """Open `path` read-only as a file descriptor; anything but a regular file (a directory,
    a FIFO, a device, a socket) is refused with a one-line ImageError. The type is checked
    before the open (opening a FIFO waits for a writer, opening a device may act on it) and
    again after it, on the descriptor opened without blocking, in case the path changed."""
    if not path:
        raise ImageError("an empty file name names no file")
    try:
        _refuse_special(os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from None
    try:
        _refuse_special(os.fstat(fd).st_mode)
    except ImageError:
        os.close(fd)
        raise
    return fd


def _refuse_special(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise ImageError("is a directory")
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    raise ImageError(f"not a regular file ({kind})")


class Segment(NamedTuple):
    """A program header (p_type, p_offset, ... in the ELF spec's order of meaning)."""

    # A NamedTuple, not a dataclass (like Section): a hostile image has 65535 of these, and a
    # frozen dataclass's __init__ costs three times a tuple's.
    index: int  # type: ignore[assignment]  # a field named like tuple.index, on purpose
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def is_load(self) -> bool:
        return self.type == PT_LOAD

    @property
    def is_note(self) -> bool:
        return self.type == PT_NOTE

    @property
    def loadable(self) -> bool:
        """libelf counts a PT_LOAD only when it has any of R, W or X (elf_phdr_is_loadable)."""
        return self.is_load and bool(self.flags & (PF_R | PF_W | PF_X))

    @property
    def perms(self) -> str:
        return "".join(
            c if self.flags & b else "-" for c, b in (("R", PF_R), ("W", PF_W), ("X", PF_X))
        )


class Section(NamedTuple):
    """A section header. A NamedTuple, not a dataclass: a vmlinux has thousands of sections
    and building them must not cost more than the rest of a run."""

    index: int  # type: ignore[assignment]  # a field named like tuple.index, on purpose
    name: str
    type: int
    flags: int
    offset: int
    addr: int
    size: int
    addralign: int
    link: int = 0  # sh_link: the string table of a symbol table
    entsize: int = 0  # sh_entsize: the size of one symbol


ContainerKind = Literal["segment", "section", "xen_guest"]


class Container(NamedTuple):
    """Where a note was read from: a PT_NOTE segment, an SHT_NOTE section or `__xen_guest`."""

    # A NamedTuple, not a dataclass (like Section): a hostile image has 65535 of these, and a
    # frozen dataclass's __init__ costs three times a tuple's.
    kind: ContainerKind
    index: int  # type: ignore[assignment]  # a field named like tuple.index, on purpose
    name: str | None = None  # section name; for a segment, the section covering it if any
    offset: int = 0
    size: int = 0

    def describe(self) -> str:
        """'PT_NOTE segment 1 (.note.Xen)'; section names, which the image gives, escaped."""
        if self.kind == "segment":
            extra = f" ({escape(self.name)})" if self.name else ""
            return f"PT_NOTE segment {self.index}{extra}"
        if self.kind == "section":
            return f"section {escape(self.name) if self.name else f'[{self.index}]'}"
        return f"section {N.XEN_GUEST_SECTION}"


class Note(NamedTuple):
    """One note with owner `Xen`, as Xen's walk finds it."""

    # A NamedTuple, not a dataclass (like Section): a hostile image has 65535 of these, and a
    # frozen dataclass's __init__ costs three times a tuple's.
    container: Container
    offset: int  # file offset of the note header
    namesz: int
    descsz: int
    type: int  # the raw type number
    name: bytes  # bytes after the header up to the first NUL
    desc: bytes  # the descriptor's first bytes in the file (at most DESC_KEEP; see truncated)
    index: int  # type: ignore[assignment]  # position among the Xen notes of its walk
    # The descriptor read as libelf reads strings: up to the first NUL, not bounded by descsz,
    # at most 4096 bytes; `string_terminated` is False when no NUL came within that bound.
    string: bytes = b""
    string_terminated: bool = True
    # Bytes of the descriptor that are in the file (descsz, less what runs past its end);
    # None: len(desc). `desc` keeps at most the first DESC_KEEP of them (see xenlint.image.elf).
    desc_present: int | None = None

    @property
    def desc_offset(self) -> int:
        return self.offset + 12 + _round4(self.namesz)

    @property
    def type_name(self) -> str:
        return N.type_name(self.type)

    @property
    def truncated(self) -> bool:
        """The descriptor runs past the end of the file."""
        present = len(self.desc) if self.desc_present is None else self.desc_present
        return present < self.descsz


class ForeignNote(NamedTuple):
    """A note with another owner inside a note container (e.g. GNU build-id, property notes)."""

    # A NamedTuple, not a dataclass (like Section): a hostile image has 65535 of these, and a
    # frozen dataclass's __init__ costs three times a tuple's.
    container: Container
    offset: int
    owner: bytes
    type: int
    namesz: int
    descsz: int


ProblemKind = Literal[
    "header-past-container",  # the 12-byte header does not fit the container
    "past-container",  # name or descriptor runs past the end of its segment/section
    "past-file",  # name or descriptor runs past the end of the file
    "name-unterminated",  # no NUL within 4096 bytes or before the end of the file
    "too-many",  # more than 65536 notes
    "container-past-file",  # the segment/section itself runs past the end of the file
    "name-size",  # a "Xen" name whose namesz is not 4 ("Xen" plus its NUL)
]


class NoteProblem(NamedTuple):
    """Where and why a note walk found a note that does not fit; `detail` says it in one
    line, formatted when it is read, not when the problem is found: a hostile image has
    131,068 of these (two per note), formatting them took a third of its note walk, and a
    rule shows at most 2,000."""

    # A NamedTuple, not a Frozen record (like Note): a hostile image has 65535 of these.
    kind: ProblemKind
    container: Container
    offset: int  # file offset of the note's header
    note_type: int | None = None
    xen: bool = True  # the note is (or might be) a Xen note
    # The numbers `detail` names besides the offset: the file size (container-past-file),
    # namesz (name-size), or descsz, the descriptor's offset and by how many bytes it runs
    # past the end (past-file/past-container of a descriptor; none for a cut-off header).
    facts: tuple[int, ...] = ()

    @property
    def detail(self) -> str:
        return _problem_detail(self)


def _problem_detail(problem: NoteProblem) -> str:
    kind, container, pos, facts = problem.kind, problem.container, problem.offset, problem.facts
    what = N.type_name(problem.note_type or 0)
    if kind == "container-past-file":
        return (
            f"{container.describe()} claims {container.size:#x} bytes at offset "
            f"{container.offset:#x}, running past the end of the file ({facts[0]:#x} bytes)"
        )
    if kind == "too-many":
        return f"more than {N.MAX_NOTES} notes; Xen stops reading notes here"
    if kind == "header-past-container":
        return f"note header at {pos:#x} does not fit in {container.describe()}"
    if kind == "name-unterminated":
        return (
            f"note name at {pos + 12:#x} has no NUL within {N.STRING_BOUND} bytes or before "
            "the end of the file"
        )
    if kind == "name-size":
        nul = "does not count" if facts[0] <= len(N.XEN_OWNER) else "counts bytes after"
        return f"{what} note at {pos:#x} has namesz {facts[0]}, which {nul} the NUL of 'Xen'"
    if not facts:  # past-file: the header itself
        return f"note header at {pos:#x} is cut off by the end of the file"
    descsz, desc_off, overrun = facts
    past = "the file" if kind == "past-file" else container.describe()
    return (
        f"{what} note at {pos:#x}: its {descsz}-byte descriptor at {desc_off:#x} runs "
        f"{overrun} bytes past the end of {past}"
    )


class XenGuest(Frozen):
    """The legacy `__xen_guest` section: a comma-separated NAME=VALUE string."""

    __slots__ = ("items", "section", "text")

    section: Section
    text: str
    items: tuple[tuple[str, str], ...]

    def __init__(self, section: Section, text: str, items: tuple[tuple[str, str], ...]) -> None:
        set_ = object.__setattr__
        set_(self, "section", section)
        set_(self, "text", text)
        set_(self, "items", items)


class NoteBytes(NamedTuple):
    """The raw bytes of one PT_NOTE segment and what follows it in the file, kept for the
    loaders' own note walks (xenlint.replay.pvh): QEMU's walk can run past the segment's end."""

    # A NamedTuple, not a dataclass (like Section): a hostile image has 65535 of these, and a
    # frozen dataclass's __init__ costs three times a tuple's.

    segment: int  # index of the PT_NOTE program header
    offset: int  # file offset of `data[0]` (the segment's p_offset)
    # A read-only view of the file's bytes (bytes or a memoryview shared by the segments over
    # one run of the file: slice, index, len, struct.unpack_from and bytes() all work; the
    # same `offset` and length always mean the same bytes).
    data: bytes | memoryview


class Image(Frozen):
    __slots__ = (  # __dict__: it holds the cached_property indexes below
        "__dict__",
        "elf_class",
        "entry",
        "etype",
        "flags",
        "foreign_notes",
        "format",
        "head",
        "little_endian",
        "machine",
        "note_bytes",
        "origin",
        "path",
        "section_notes",
        "section_problems",
        "sections",
        "sections_read",
        "segment_notes",
        "segment_problems",
        "segments",
        "size",
        "skipped_segment_notes",
        "skipped_segments",
        "symbol_source",
        "warnings",
        "xen_guest",
    )

    path: str
    format: str  # "elf"; later "elf.gz", "bzimage"
    size: int
    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int
    etype: int
    entry: int
    flags: int
    segments: tuple[Segment, ...]
    sections: tuple[Section, ...]
    segment_notes: tuple[Note, ...]  # Xen notes of all PT_NOTE segments Xen walks
    section_notes: tuple[Note, ...]  # Xen notes of all SHT_NOTE sections
    skipped_segments: tuple[Segment, ...]  # PT_NOTE segments at file offset 0 (Xen skips them)
    skipped_segment_notes: tuple[Note, ...]  # Xen notes inside those skipped segments
    foreign_notes: tuple[ForeignNote, ...]
    segment_problems: tuple[NoteProblem, ...]
    section_problems: tuple[NoteProblem, ...]
    xen_guest: XenGuest | None
    origin: str  # where the ELF came from when it was wrapped (bzImage payload, gzip)
    # False when only a decompressed prefix up to the last note segment was read: the section
    # headers at the end of the ELF were not, because Xen never consults them once a PT_NOTE
    # segment holds a Xen note (shared/abi/xen.md §5.1).
    sections_read: bool
    warnings: tuple[str, ...]
    head: bytes  # the first bytes of the file (QEMU's bzImage and multiboot probes)
    note_bytes: tuple[NoteBytes, ...]  # one per PT_NOTE segment, in header order
    # Where .symtab (or .dynsym) is, for fixes that name symbols; read on first use.
    symbol_source: SymbolSource | None

    def __init__(
        self,
        path: str,
        format: str,
        size: int,
        elf_class: int,
        little_endian: bool,
        machine: int,
        etype: int,
        entry: int,
        flags: int,
        segments: tuple[Segment, ...],
        sections: tuple[Section, ...],
        segment_notes: tuple[Note, ...],
        section_notes: tuple[Note, ...],
        skipped_segments: tuple[Segment, ...],
        skipped_segment_notes: tuple[Note, ...],
        foreign_notes: tuple[ForeignNote, ...],
        segment_problems: tuple[NoteProblem, ...],
        section_problems: tuple[NoteProblem, ...],
        xen_guest: XenGuest | None,
        origin: str = "",
        sections_read: bool = True,
        warnings: tuple[str, ...] = (),
        head: bytes = b"",
        note_bytes: tuple[NoteBytes, ...] = (),
        symbol_source: SymbolSource | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "format", format)
        set_(self, "size", size)
        set_(self, "elf_class", elf_class)
        set_(self, "little_endian", little_endian)
        set_(self, "machine", machine)
        set_(self, "etype", etype)
        set_(self, "entry", entry)
        set_(self, "flags", flags)
        set_(self, "segments", segments)
        set_(self, "sections", sections)
        set_(self, "segment_notes", segment_notes)
        set_(self, "section_notes", section_notes)
        set_(self, "skipped_segments", skipped_segments)
        set_(self, "skipped_segment_notes", skipped_segment_notes)
        set_(self, "foreign_notes", foreign_notes)
        set_(self, "segment_problems", segment_problems)
        set_(self, "section_problems", section_problems)
        set_(self, "xen_guest", xen_guest)
        set_(self, "origin", origin)
        set_(self, "sections_read", sections_read)
        set_(self, "warnings", warnings)
        set_(self, "head", head)
        set_(self, "note_bytes", note_bytes)
        set_(self, "symbol_source", symbol_source)

    @cached_property
    def symbols(self) -> SymbolTable:
        """The image's symbols (empty without a symbol table, e.g. a stripped or wrapped
        kernel), read from the file the first time a rule asks."""
        from xenlint.image import symbols

        return symbols.read(self.symbol_source) if self.symbol_source else symbols.EMPTY

    @property
    def is_x86(self) -> bool:
        return self.machine in (EM_386, EM_X86_64)

    @property
    def is_arm32(self) -> bool:
        """EM_ARM, the one machine libelf's note check skips (4.2+; AArch64 is not it)."""
        return self.machine == EM_ARM

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")

    @cached_property  # rules ask per cell
    def note_regions_scanned(self) -> bool:
        """libelf's elf_note_start is set once any PT_NOTE (offset != 0) or SHT_NOTE is seen."""
        walked_segment = any(s.is_note and s.offset != 0 for s in self.segments)
        return walked_segment or any(s.type == SHT_NOTE for s in self.sections)

    @property
    def note_source(self) -> Literal["segments", "sections", "xen_guest"] | None:
        """Which source Xen takes its notes from (xen.md §5.1)."""
        if self.segment_notes:
            return "segments"
        if self.section_notes:
            return "sections"
        if self.xen_guest is not None:
            return "xen_guest"
        return None

    @property
    def notes(self) -> tuple[Note, ...]:
        """The Xen notes Xen parses, in its walk order."""
        return self.segment_notes or self.section_notes

    @property
    def problems(self) -> tuple[NoteProblem, ...]:
        """Problems in the regions Xen actually walks."""
        if self.segment_notes or not self.section_notes:
            return self.segment_problems
        return self.segment_problems + self.section_problems

    @cached_property
    def _notes_by_type(self) -> dict[int, tuple[Note, ...]]:
        """The notes of each type, in walk order; rules ask per cell, an image may hold 65536."""
        by_type: dict[int, list[Note]] = {}
        for note in self.notes:
            by_type.setdefault(note.type, []).append(note)
        return {t: tuple(notes) for t, notes in by_type.items()}

    def notes_of(self, note_type: N.NoteType) -> tuple[Note, ...]:
        return self._notes_by_type.get(note_type.number, ())

    def has_note(self, note_type: N.NoteType) -> bool:
        return note_type.number in self._notes_by_type

    def load_segments(self, flags: int = PF_R | PF_W | PF_X) -> tuple[Segment, ...]:
        """The PT_LOADs libelf loads: those with any of `flags` (R, W or X from 4.0 on; W or X
        before, RELEASE-3.4:xen/common/libelf/libelf-tools.c elf_phdr_is_loadable). Worked
        out once per flags: rules ask per cell, and e_phnum may be 65535."""
        found = self._loads.get(flags)
        if found is None:
            found = tuple(s for s in self.segments if s.is_load and s.flags & flags)
            self._loads[flags] = found
        return found

    def paddr_range(self, flags: int = PF_R | PF_W | PF_X) -> tuple[int, int] | None:
        """[pstart, pend) over loadable PT_LOADs (see `load_segments`), as elf_parse_binary
        computes it."""
        if flags in self._ranges:  # rules ask per cell; e_phnum may be 65535
            return self._ranges[flags]
        loads = self.load_segments(flags)
        found = None
        if loads:
            # libelf sums p_paddr + p_memsz in a uint64_t: an end past 2^64 wraps (and loses)
            found = min(s.paddr for s in loads), max((s.paddr + s.memsz) & _U64 for s in loads)
        self._ranges[flags] = found
        return found

    @cached_property
    def memo(self) -> dict[object, object]:
        """Answers worked out once from this image and shared by the rules that ask for them
        in every cell (the loader replays' indexes and walks), keyed by their module. They
        live and die with the image: a module-level cache would keep the last image's note
        bytes (up to 64 MiB) alive after its run."""
        return {}

    def remember(self, key: object, compute: Callable[[], T]) -> T:
        """compute(), once per image and `key` (kept in `memo`, which see)."""
        memo = self.memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]  # type: ignore[return-value]

    @cached_property
    def _ranges(self) -> dict[int, tuple[int, int] | None]:
        return {}

    @cached_property
    def _loads(self) -> dict[int, tuple[Segment, ...]]:
        return {}

    @cached_property
    def _placed_sections(self) -> tuple[list[int], list[Section]]:
        """Sections with file bytes (size > 0, not NOBITS), sorted by offset, for bisection."""
        placed = sorted(
            (s for s in self.sections if s.size and s.type != SHT_NOBITS), key=_by_offset
        )
        return [s.offset for s in placed], placed

    def sections_in(self, start: int, end: int, limit: int) -> tuple[list[Section], int]:
        """The first `limit` sections (by offset) that start in [start, end), and how many
        start there in all: a hostile file may put 65535 sections over one segment."""
        offsets, placed = self._placed_sections
        lo, hi = bisect.bisect_left(offsets, start), bisect.bisect_left(offsets, end)
        return placed[lo : min(hi, lo + limit)], max(hi - lo, 0)


def _by_offset(section: Section) -> tuple[int, int]:
    return section.offset, section.index


_U64 = (1 << 64) - 1


def _round4(n: int) -> int:
    # libelf rounds in 32-bit arithmetic: sizes of 0xfffffffd and more wrap to 0 (as in
    # elf.py's _Walker.walk)
    return ((n + 3) & ~3) & 0xFFFFFFFF
