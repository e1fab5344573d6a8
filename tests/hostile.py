"""Generators for the large hostile inputs of the hostile-input issue: each is a small file
(most under 10 KB once xz-compressed) that once cost xenlint seconds to minutes, gigabytes, or
a traceback. They are generated rather than stored because several are megabytes raw.

`INPUTS` maps a name to a function writing the input into a directory and returning its
path; `tests/test_hostile.py` runs each through the CLI, `benchmarks/hostile.py` times it.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable
from pathlib import Path

from elfbuilder import PT_NOTE, Note, Segment, build_elf, note_bytes, u32, xen_kernel
from wrapping import bzimage

from xenlint.image.elf import STRING_BUDGET

GUEST_OS, LOADER, XEN_VERSION, FEATURES, SUPPORTED_FEATURES, PHYS32_ENTRY = 6, 8, 5, 10, 17, 18
# The length of long_strings()'s values (libelf reads a string up to 4096 bytes).
LONG_VALUE = 4000
BASIC = [Note(GUEST_OS, b"linux\0"), Note(XEN_VERSION, b"xen-3.0\0"), Note(LOADER, b"generic\0")]


def xz_bzimage(elf: bytes) -> bytes:
    """`elf` as the xz payload of a bzImage (Python's own xz encoder: any valid stream does)."""
    packed = lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=1)
    return bzimage(packed, len(elf))


def overlapping_notes(count: int) -> bytes:
    """`count` PT_NOTE segments and as many SHT_NOTE sections, all over the same note bytes:
    every container covers every other (once 24 s and 310 MB of output at 4,000, a
    MemoryError at 65,535)."""
    notes = note_bytes(BASIC)
    text = Segment(data=b"\x90" * 0x100, section=".text")
    # One fixed offset well past the program header table for every segment.
    offset = 64 + 56 * (count + 1) + 0x100 + 16
    seg = Segment(PT_NOTE, vaddr=0, paddr=0, data=notes, offset=offset, section=".note.Xen")
    # e_shnum is 16 bits and build_elf adds the null and .shstrtab sections.
    sections = min(count, 0xFFFF - 3)
    segments = [seg] * sections + [Segment(PT_NOTE, vaddr=0, data=notes, offset=offset)] * (
        count - sections
    )
    return build_elf([text, *segments])


def many_note_segments(count: int = 0xFFFF - 1) -> bytes:
    """`count` PT_NOTE segments, each its own note (pvhload once scanned every kept note for
    every segment: 82-231 s)."""
    text = Segment(data=b"\x90" * 0x100)
    segs = [
        Segment(PT_NOTE, vaddr=0, data=note_bytes([Note(18, u32(0x100000 + i))]))
        for i in range(count)
    ]
    return build_elf([text, *segs], with_section_headers=False)


def million_notes() -> bytes:
    """10^6 Xen notes in one PT_NOTE (libelf stops at 65,536), as an xz bzImage of a few KB:
    once re-parsed in each of the 28+ target x mode cells (11-35 s)."""
    text = Segment(data=b"\x90" * 0x100)
    notes = Segment(PT_NOTE, vaddr=0, data=note_bytes([Note(GUEST_OS, b"linux\0")]) * 1_000_000)
    return xz_bzimage(build_elf([text, notes], with_section_headers=False))


def all_ones_supported_features(size: int) -> bytes:
    """A SUPPORTED_FEATURES descriptor of `size` bytes of 0xFF (XL404 once listed every bit in
    every cell: 170 s and 3 GB at 1 MiB)."""
    return xz_bzimage(xen_kernel([*BASIC, Note(SUPPORTED_FEATURES, b"\xff" * size)]))


def unknown_feature_names(count: int = 4000) -> bytes:
    """A FEATURES string of `count` distinct unknown names, each close to a real one (difflib
    once ran twice per name per cell)."""
    names = "|".join(f"writable_page_tablez{i}" for i in range(count)).encode()
    return xen_kernel([*BASIC, Note(FEATURES, names + b"\0")])


def distinct_feature_strings(count: int = 2000) -> bytes:
    """`count` FEATURES notes, each a different string of 400 unknown names (3,300-4,000
    characters, 6.5 MB in all, under the strings xenlint judges), as an xz bzImage of 200 KB:
    libelf tokenizes each one, and xenlint cut each one character by character and judged
    every token once per release (2.8 s and 270 MB). Past the descriptors a walk keeps
    (DESC_BUDGET), XL006 also took the rest for strings without a NUL in their descriptor
    (5,000 false warnings)."""
    notes = list(BASIC)
    for i in range(count):
        text = "|".join(f"f{i:x}x{j:x}" for j in range(400))[:4000]
        notes.append(Note(FEATURES, text.encode() + b"\0"))
    return xz_bzimage(xen_kernel(notes))


def strings_past_budget(count: int = 2600) -> bytes:
    """distinct_feature_strings past the 8 MiB of strings xenlint judges (STRING_BUDGET):
    16,000 of them, 54 MB in a 1.6 MB xz bzImage, took 2.1 s and 170 MB to check, `notes`
    213 MB, and libelf's 65,536 would be 268 MB of text."""
    return distinct_feature_strings(count)


def strings_at_budget(budget: int = STRING_BUDGET - (64 << 10)) -> bytes:
    """FEATURES notes of distinct names close to real ones (each one XL401 suggests a name
    for) filling the strings xenlint judges, as an xz bzImage: the costliest strings found
    that are not refused."""
    notes, total, i = list(BASIC), 0, 0
    while True:
        text = "|".join(f"writable_page_tablez{i}x{j}" for j in range(150))[:4000]
        if total + len(text) > budget:
            return xz_bzimage(xen_kernel(notes))
        notes.append(Note(FEATURES, text.encode() + b"\0"))
        total += len(text)
        i += 1


def long_strings() -> bytes:
    """Every note type 0-21 four times with a different 4,000-character value (the last
    without its NUL), a GUEST_OS that starts with an OSC 52 clipboard write, and foreign and
    unterminated note names of 4,000 characters: XL004 once quoted every value whole (36 KB
    lines, megabytes for a note given thousands of times)."""
    notes = []
    for kind in range(22):
        for k in range(3):
            notes.append(Note(kind, _long_value(kind * 10 + k) + b"\0"))
        notes.append(Note(kind, _long_value(kind * 10 + 9)))
    notes.append(Note(GUEST_OS, b"\x1b]52;c;AAAA\x07" + _long_value(77) + b"\0"))
    for k in range(3):
        notes.append(Note(1, b"", name=_long_value(500 + k) + b"\0"))
        notes.append(Note(1, b"", name=b"Xen" + _long_value(600 + k)))
    return xen_kernel(notes)


def _long_value(seed: int, size: int = LONG_VALUE) -> bytes:
    return (f"v{seed}-" * size)[:size].encode()


def features_bomb(count: int = 65000) -> bytes:
    """`count` PT_NOTE segments over one FEATURES note of 4,000 '|': libelf reads 65536 notes
    of 4,001 (empty) names each, 260 million tokens (once a hang and gigabytes)."""
    notes = note_bytes([Note(FEATURES, b"|" * 4000 + b"\0")])
    offset = 64 + 56 * (count + 1) + 0x100 + 16
    seg = Segment(PT_NOTE, vaddr=0, paddr=0, data=notes, offset=offset)
    text = Segment(data=b"\x90" * 0x100)
    return xz_bzimage(build_elf([text] + [seg] * count, with_section_headers=False))


def gnu_property_segments(count: int = 20000) -> bytes:
    """`count` 8-aligned PT_NOTE segments, each with a PVH entry and a .note.gnu.property
    note, as an ELF the PVH loaders read (XL502 once looked for each misaligned segment's
    property note through every foreign note of the image, for each loader: n^2 per cell)."""
    text = Segment(data=b"\x90" * 0x100)
    prop = Note(5, bytes(16), name=b"GNU\0")
    segs = [
        Segment(PT_NOTE, vaddr=0, data=note_bytes([Note(18, u32(0x100000)), prop]), align=8)
        for _ in range(count)
    ]
    return build_elf([text, *segs], with_section_headers=False)


def overlapping_descriptors(count: int = 0xFFFF - 1, span: int = 8 << 20) -> bytes:
    """`count` PT_NOTE segments 16 bytes apart over one `span`-byte region, each starting with
    a Xen note whose descriptor claims the rest of the region: once a copy of up to 8 MiB
    per note (300 segments: 2.4 GB), as an xz bzImage of a few KB."""
    return xz_bzimage(_overlapping(count, span, u32(4) + u32(span) + u32(GUEST_OS)))


def overlapping_entries(count: int = 0xFFFF - 1, span: int = 8 << 20) -> bytes:
    """The same layout as a plain 12 MB ELF (PVH loaders do not read a bzImage's ELF), with
    PHYS32_ENTRY notes whose names claim the rest of the region: linux-loader's walk copied
    each name (2 MiB, 65534 times) before comparing it with "Xen"."""
    return _overlapping(count, span, u32(span) + u32(4) + u32(PHYS32_ENTRY))


def _overlapping(count: int, span: int, header: bytes) -> bytes:
    """The ELF of overlapping_descriptors, each note starting with `header` then "Xen\\0"."""
    at = 0x1000 + 56 * (count + 2)
    region = bytearray(span)
    for i in range(count):
        region[i * 16 : i * 16 + 16] = header + b"Xen\0"
    segs = [Segment(PT_NOTE, vaddr=0, data=bytes(region), offset=at)]
    segs += [
        Segment(PT_NOTE, vaddr=0, data=b"", offset=at + k * 16, filesz=span - k * 16)
        for k in range(1, count)
    ]
    return build_elf([Segment(data=b"\x90" * 0x100), *segs], with_section_headers=False)


def huge_descriptor(directory: Path, size: int = 1 << 30) -> Path:
    """A sparse 1 GiB ELF whose one SUPPORTED_FEATURES note claims a descriptor of almost all
    of it: once 5 GB of memory and a rule stopped by the time limit."""
    note = u32(4) + u32(size - 0x2000) + u32(SUPPORTED_FEATURES) + b"Xen\0"
    elf = build_elf(
        [Segment(data=b"\x90" * 0x100), Segment(PT_NOTE, vaddr=0, data=note, offset=0x1000)],
        with_section_headers=False,
    )
    path = directory / "huge-descriptor.elf"
    with path.open("wb") as fh:
        fh.write(elf)
        fh.truncate(size)  # sparse: a few KB on disk
    return path


def _writer(make: Callable[[], bytes], name: str) -> Callable[[Path], Path]:
    def write(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(make())
        return path

    return write


# name -> writer; the names are also the file names.
INPUTS: dict[str, Callable[[Path], Path]] = {
    "overlap-4000": _writer(lambda: overlapping_notes(4000), "overlap-4000.elf"),
    "overlap-65535": _writer(lambda: xz_bzimage(overlapping_notes(0xFFFF - 1)), "overlap-65535"),
    "note-segments-65535": _writer(lambda: xz_bzimage(many_note_segments()), "segs-65535"),
    "notes-1e6": _writer(million_notes, "notes-1e6"),
    "supported-1mib": _writer(lambda: all_ones_supported_features(1 << 20), "supported-1mib"),
    "supported-4mib": _writer(lambda: all_ones_supported_features(4 << 20), "supported-4mib"),
    "unknown-features": _writer(unknown_feature_names, "unknown-features.elf"),
    "features-bomb": _writer(features_bomb, "features-bomb"),
    "features-distinct": _writer(distinct_feature_strings, "features-distinct"),
    "strings-past-budget": _writer(strings_past_budget, "strings-past-budget"),
    "strings-at-budget": _writer(strings_at_budget, "strings-at-budget"),
    "long-strings": _writer(long_strings, "long-strings.elf"),
    "gnu-property-segments": _writer(gnu_property_segments, "gnu-property-segments.elf"),
    "descriptors-overlapping": _writer(overlapping_descriptors, "descriptors-overlapping"),
    "entries-overlapping": _writer(overlapping_entries, "entries-overlapping.elf"),
    "descriptor-1gib": huge_descriptor,
}
