"""Read an ELF file into an `Image`, finding `Xen` notes the way Xen's libelf does.

pyelftools parses the headers; notes are walked here from the raw bytes because pyelftools
names note types without regard to the owner (Xen type 3 comes back as NT_GNU_BUILD_ID) and
pads by the section alignment, while Xen always pads to 4 (shared/abi/xen.md §5.3).
The file is mapped read-only and only the parts that are needed are touched.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf import enums
from elftools.elf.elffile import ELFFile

from xenlint.abi import notes as N
from xenlint.image import (
    SHT_NOTE,
    Container,
    ForeignNote,
    Image,
    ImageError,
    Note,
    NoteBytes,
    NoteProblem,
    Section,
    Segment,
    XenGuest,
)

# Raw bytes kept for the PVH loaders' own reading (xenlint.pvhload): QEMU probes the first
# 8 KiB for bzImage and multiboot headers, and its note walk can run past a PT_NOTE's end.
HEAD_BYTES = 8192
NOTE_SLACK = 1 << 20

_ENUMS: dict[str, int] = {}
for _table in (
    enums.ENUM_E_MACHINE,
    enums.ENUM_P_TYPE_BASE,
    enums.ENUM_SH_TYPE_BASE,
    enums.ENUM_SH_TYPE_AMD64,
    enums.ENUM_E_TYPE,
):
    for _name, _value in _table.items():
        if isinstance(_value, int):
            _ENUMS.setdefault(_name, _value)


def _raw(value: Any) -> int:
    """pyelftools turns known enum values into names; turn them back into numbers."""
    if isinstance(value, int):
        return value
    try:
        return _ENUMS[value]
    except KeyError:
        raise ImageError(f"unexpected ELF field value {value!r}") from None


@contextmanager
def _mapped(path: str) -> Iterator[mmap.mmap | bytes]:
    """Map the file read-only; an empty file gives empty bytes (mmap refuses size 0)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        raise ImageError("is a directory") from None
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ImageError("not a regular file")
        size = info.st_size
        if size == 0:
            yield b""
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


class _Stream:
    """A file-like view of a mapping for pyelftools (it only seeks, reads and tells)."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self._data = data
        self._pos = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._data)}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n is None or n < 0 else self._pos + n
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return bytes(chunk)


def load_elf(path: str, *, display_path: str | None = None) -> Image:
    """Read `path` as an ELF kernel image. Raises ImageError with a one-line reason."""
    with _mapped(path) as data:
        return parse_elf(data, display_path or path)


def parse_elf(data: mmap.mmap | bytes, path: str, origin: str = "", fmt: str = "elf") -> Image:
    size = len(data)
    if size < 4 or data[:4] != b"\x7fELF":
        raise ImageError("not an ELF file (no \\x7fELF magic)")
    if size < 52:
        raise ImageError(f"truncated ELF header ({size} bytes)")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2):
        raise ImageError(f"unknown ELF class {ei_class} in e_ident")
    if ei_data not in (1, 2):
        raise ImageError(f"unknown ELF data encoding {ei_data} in e_ident")
    if ei_class == 2 and size < 64:
        raise ImageError(f"truncated ELF64 header ({size} bytes)")
    try:
        elf = ELFFile(_Stream(data))  # type: ignore[arg-type]
        header = elf.header
        _check_tables(header, size, ei_class)
        segments = tuple(_segments(elf))
        sections = tuple(_sections(elf, size))
    except ImageError:
        raise
    except (ELFError, struct.error, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise ImageError(f"malformed ELF: {exc}") from None
    little = ei_data == 1
    walker = _Walker(data, little, sections)
    for seg in segments:
        if seg.is_note and seg.offset != 0:
            walker.walk(_segment_container(seg, sections), "segment")
    segment_notes = tuple(walker.xen)
    segment_problems = tuple(walker.problems)
    skipped = tuple(s for s in segments if s.is_note and s.offset == 0)
    skipped_walker = _Walker(data, little, sections, count_limit=False)
    for seg in skipped:
        skipped_walker.walk(_segment_container(seg, sections), "segment")
    section_walker = _Walker(data, little, sections, start_count=walker.count)
    for sec in sections:
        if sec.type == SHT_NOTE and sec.index != 0:
            container = Container("section", sec.index, sec.name, sec.offset, sec.size)
            section_walker.walk(container, "section")
    return Image(
        path=path,
        format=fmt,
        size=size,
        elf_class=32 if ei_class == 1 else 64,
        little_endian=little,
        machine=_raw(header["e_machine"]),
        etype=_raw(header["e_type"]),
        entry=header["e_entry"],
        flags=header["e_flags"],
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
        head=bytes(data[:HEAD_BYTES]),
        note_bytes=tuple(
            NoteBytes(s.index, s.offset, bytes(data[s.offset : s.offset + s.filesz + NOTE_SLACK]))
            for s in segments
            if s.is_note
        ),
    )


def _check_tables(header: Any, size: int, ei_class: int) -> None:
    """Header tables must lie inside the file; libelf refuses 'phdr/shdr overflow' likewise."""
    want_ph, want_sh = (32, 40) if ei_class == 1 else (56, 64)
    phnum, shnum = header["e_phnum"], header["e_shnum"]
    if phnum:
        if header["e_phentsize"] < want_ph:
            raise ImageError(f"e_phentsize {header['e_phentsize']} is smaller than {want_ph}")
        end = header["e_phoff"] + phnum * header["e_phentsize"]
        if end > size:
            raise ImageError(
                f"program header table ({phnum} entries at offset {header['e_phoff']:#x}) "
                f"ends at {end:#x}, past the end of the file ({size:#x} bytes)"
            )
    if header["e_shoff"]:
        if header["e_shentsize"] < want_sh:
            raise ImageError(f"e_shentsize {header['e_shentsize']} is smaller than {want_sh}")
        count = max(shnum, 1)
        end = header["e_shoff"] + count * header["e_shentsize"]
        if end > size:
            raise ImageError(
                f"section header table ({shnum} entries at offset {header['e_shoff']:#x}) "
                f"ends at {end:#x}, past the end of the file ({size:#x} bytes)"
            )


def _segments(elf: ELFFile) -> Iterator[Segment]:
    for i in range(elf.num_segments()):
        h = elf.get_segment(i).header
        yield Segment(
            index=i,
            type=_raw(h["p_type"]),
            flags=h["p_flags"],
            offset=h["p_offset"],
            vaddr=h["p_vaddr"],
            paddr=h["p_paddr"],
            filesz=h["p_filesz"],
            memsz=h["p_memsz"],
            align=h["p_align"],
        )


def _sections(elf: ELFFile, size: int) -> Iterator[Section]:
    if not elf.header["e_shoff"]:
        return
    count = elf.num_sections()
    if elf.header["e_shoff"] + count * elf.header["e_shentsize"] > size:
        raise ImageError(f"section header table ({count} entries) runs past the end of the file")
    try:
        names = elf.get_section(elf.header["e_shstrndx"]) if count else None
    except (ELFError, struct.error, ValueError, KeyError, IndexError):
        names = None
    for i in range(count):
        h = elf._get_section_header(i)
        yield Section(
            index=i,
            name=_section_name(names, h["sh_name"], i),
            type=_raw(h["sh_type"]),
            flags=h["sh_flags"],
            offset=h["sh_offset"],
            addr=h["sh_addr"],
            size=h["sh_size"],
            addralign=h["sh_addralign"],
        )


def _section_name(names: Any, offset: int, index: int) -> str:
    try:
        if names is not None and hasattr(names, "get_string"):
            name = names.get_string(offset)
            if name is not None:
                return name
    except (ELFError, struct.error, ValueError, UnicodeDecodeError, IndexError):
        pass
    return f"[{index}]"


def _segment_container(seg: Segment, sections: tuple[Section, ...]) -> Container:
    covering = [
        s.name
        for s in sections
        if s.type == SHT_NOTE and s.size and seg.offset <= s.offset < seg.offset + seg.filesz
    ]
    return Container("segment", seg.index, ", ".join(covering) or None, seg.offset, seg.filesz)


class _Walker:
    """Walks note streams with libelf's rules: 4-byte padding, owner compared as a C string."""

    def __init__(
        self,
        data: mmap.mmap | bytes,
        little: bool,
        sections: tuple[Section, ...],
        *,
        start_count: int = 0,
        count_limit: bool = True,
    ) -> None:
        self.data = data
        self.fmt = "<III" if little else ">III"
        self.count = start_count
        self.count_limit = count_limit
        self.xen: list[Note] = []
        self.foreign: list[ForeignNote] = []
        self.problems: list[NoteProblem] = []

    def walk(self, container: Container, kind: str) -> None:
        data, size = self.data, len(self.data)
        start, end = container.offset, container.offset + container.size
        if end > size:
            self.problems.append(
                NoteProblem(
                    "container-past-file",
                    container,
                    start,
                    f"{container.describe()} claims {container.size:#x} bytes at offset "
                    f"{start:#x}, running past the end of the file ({size:#x} bytes)",
                    xen=False,
                )
            )
        pos = start
        while pos < min(end, size):
            if self.count_limit and self.count >= N.MAX_NOTES:
                self.problems.append(
                    NoteProblem(
                        "too-many",
                        container,
                        pos,
                        f"more than {N.MAX_NOTES} notes; Xen stops reading notes here",
                    )
                )
                return
            self.count += 1
            if pos + 12 > size:
                self.problems.append(
                    NoteProblem(
                        "past-file",
                        container,
                        pos,
                        f"note header at {pos:#x} is cut off by the end of the file",
                        xen=False,
                    )
                )
                return
            namesz, descsz, ntype = struct.unpack_from(self.fmt, data, pos)
            name_off = pos + 12
            desc_off = name_off + _r4(namesz)
            nxt = desc_off + _r4(descsz)
            name, terminated = _c_string(data, name_off, N.STRING_BOUND)
            is_xen = terminated and name == N.XEN_OWNER
            if pos + 12 > end:
                self.problems.append(
                    NoteProblem(
                        "header-past-container",
                        container,
                        pos,
                        f"note header at {pos:#x} does not fit in {container.describe()}",
                        ntype,
                        xen=is_xen,
                    )
                )
            if not terminated:
                self.problems.append(
                    NoteProblem(
                        "name-unterminated",
                        container,
                        pos,
                        f"note name at {name_off:#x} has no NUL within "
                        f"{N.STRING_BOUND} bytes or before the end of the file",
                        ntype,
                        xen=name.startswith(N.XEN_OWNER[: len(name)]),
                    )
                )
            desc = bytes(data[desc_off : min(desc_off + descsz, size)])
            if is_xen:
                self._check_bounds(container, pos, desc_off, descsz, end, size, ntype)
                if namesz != len(N.XEN_OWNER) + 1:
                    self.problems.append(_name_size(container, pos, namesz, ntype))
                string, string_ok = _c_string(data, desc_off, N.STRING_BOUND)
                self.xen.append(
                    Note(
                        container,
                        pos,
                        namesz,
                        descsz,
                        ntype,
                        name,
                        desc,
                        len(self.xen),
                        string,
                        string_ok,
                    )
                )
            elif terminated:
                self.foreign.append(ForeignNote(container, pos, name, ntype, namesz, descsz))
            pos = nxt

    def _check_bounds(
        self,
        container: Container,
        pos: int,
        desc_off: int,
        descsz: int,
        end: int,
        size: int,
        ntype: int,
    ) -> None:
        desc_end = desc_off + descsz
        what = N.BY_NUMBER[ntype].name if ntype in N.BY_NUMBER else f"type {ntype:#x}"
        if desc_end > size:
            self.problems.append(
                NoteProblem(
                    "past-file",
                    container,
                    pos,
                    f"{what} note at {pos:#x}: its {descsz}-byte descriptor at {desc_off:#x} "
                    f"runs {desc_end - size} bytes past the end of the file",
                    ntype,
                )
            )
        elif desc_end > end:
            self.problems.append(
                NoteProblem(
                    "past-container",
                    container,
                    pos,
                    f"{what} note at {pos:#x}: its {descsz}-byte descriptor at {desc_off:#x} "
                    f"runs {desc_end - end} bytes past the end of {container.describe()}",
                    ntype,
                )
            )


def _name_size(container: Container, pos: int, namesz: int, ntype: int) -> NoteProblem:
    """libelf matches the name as a C string and never looks at namesz; tools that compare
    namesz with 4 (or the name with the 4 bytes "Xen\\0") do not see such a note."""
    what = N.BY_NUMBER[ntype].name if ntype in N.BY_NUMBER else f"type {ntype:#x}"
    nul = "does not count" if namesz <= len(N.XEN_OWNER) else "counts bytes after"
    return NoteProblem(
        "name-size",
        container,
        pos,
        f"{what} note at {pos:#x} has namesz {namesz}, which {nul} the NUL of 'Xen'",
        ntype,
    )


def _unique_by_offset(notes: list[ForeignNote]) -> tuple[ForeignNote, ...]:
    """A note inside a PT_NOTE that a section also covers is listed once (segment first)."""
    seen: set[int] = set()
    out = []
    for note in notes:
        if note.offset not in seen:
            seen.add(note.offset)
            out.append(note)
    return tuple(out)


def _r4(n: int) -> int:
    return (n + 3) & ~3


def _c_string(data: mmap.mmap | bytes, offset: int, bound: int) -> tuple[bytes, bool]:
    """Bytes from `offset` up to the first NUL, and whether a NUL was found within `bound`."""
    chunk = bytes(data[offset : offset + bound])
    nul = chunk.find(b"\0")
    if nul < 0:
        return chunk, False
    return chunk[:nul], True


def _xen_guest(data: mmap.mmap | bytes, sections: tuple[Section, ...]) -> XenGuest | None:
    for sec in sections:
        if sec.name == N.XEN_GUEST_SECTION and sec.type != 8:
            raw = bytes(data[sec.offset : sec.offset + sec.size])
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
