"""Notes that are in a PT_NOTE segment but that a loader's walk never reaches.

Every walker (Xen's libelf, QEMU, linux-loader) steps from note header to note header by the
sizes each header declares, padded to 4 bytes or to the segment's p_align. One header whose
sizes do not match the bytes (4 bytes of 8-alignment padding read as a header, a note laid out
with 8-byte padding among 4-padded ones) throws the walk off, and every note after it is lost.
This module scans each PT_NOTE's bytes for well-formed Xen note headers independently of any
walk, replays a walk, and says where it lost step and which notes it missed.
"""

from __future__ import annotations

import struct

from xenlint.abi import notes as N
from xenlint.image.model import Image, NoteBytes, Segment
from xenlint.record import Frozen, replace

XEN_NAME = N.XEN_OWNER + b"\0"
MAX_NAME = 256  # a plausible owner name: NUL-terminated printable bytes, at most this long


class Desync(Frozen):
    """One walk that loses step in one PT_NOTE and misses Xen notes after it."""

    __slots__ = ("align", "at", "cause", "foreign", "missed", "segment")

    segment: Segment
    align: int  # the padding the walk used
    at: int  # file offset of the first header the walk misreads
    cause: str  # what the bytes there are, in words
    foreign: str  # the note whose layout caused it ("owner 'GNU' type 5 ..."), or ""
    missed: tuple[tuple[int, int], ...]  # (file offset, type) of the Xen notes it never reaches

    def __init__(
        self,
        segment: Segment,
        align: int,
        at: int,
        cause: str,
        foreign: str,
        missed: tuple[tuple[int, int], ...],
    ) -> None:
        set_ = object.__setattr__
        set_(self, "segment", segment)
        set_(self, "align", align)
        set_(self, "at", at)
        set_(self, "cause", cause)
        set_(self, "foreign", foreign)
        set_(self, "missed", missed)

    def describe(self, walker: str) -> str:
        """One sentence: where `walker` lost step and what it missed."""
        names = ", ".join(f"{N.type_name(t)} at {off:#x}" for off, t in self.missed[:3])
        if len(self.missed) > 3:
            names += f" and {len(self.missed) - 3} more"
        notes = "note" if len(self.missed) == 1 else "notes"
        return (
            f"{walker} loses step at {self.at:#x} in PT_NOTE segment {self.segment.index}: "
            f"{self.cause}; it never reaches the well-formed Xen {notes} {names}"
        )


def _header(data: bytes, off: int) -> tuple[int, int, int] | None:
    if off < 0 or off + 12 > len(data):
        return None
    return struct.unpack_from("<III", data, off)


def _plausible(data: bytes, off: int, end: int, align: int = 4) -> bool:
    """A header at `off` whose name is a NUL-terminated printable string of namesz bytes and
    whose note, padded to `align`, ends inside the segment."""
    head = _header(data, off)
    if head is None:
        return False
    namesz, descsz, _ = head
    if not 1 <= namesz <= MAX_NAME:
        return False
    name = data[off + 12 : off + 12 + namesz]
    if len(name) < namesz or name[-1:] != b"\0" or not all(32 <= c < 127 for c in name[:-1]):
        return False
    return off + _size(namesz, descsz, align) <= end


def _size(namesz: int, descsz: int, align: int) -> int:
    return 12 + -(-namesz // align) * align + -(-descsz // align) * align


class ScanBudget:
    """What one scan of an image's PT_NOTEs may cost: bytes copied and name hits checked. A
    real kernel uses a few KiB and a few dozen hits; 65535 PT_NOTE segments 16 bytes apart
    over one region of Xen names would copy a MiB and check 65536 hits for each segment
    (hours). Past the budget the remaining segments are not scanned: the rule says nothing
    about them rather than run without bound."""

    BYTES = 16 << 20
    PROBES = 50_000

    def __init__(self) -> None:
        self.bytes, self.probes = self.BYTES, self.PROBES

    @property
    def spent(self) -> bool:
        return self.bytes <= 0 or self.probes <= 0


def candidates(data: bytes, end: int, budget: ScanBudget | None = None) -> list[tuple[int, int]]:
    """(offset in `data`, type) of every 4-aligned well-formed Xen note header: namesz 4, the
    name "Xen\\0", a type Xen defines, and a descriptor that fits the segment. Found by
    searching for the name (a C-speed scan, so a hostile 1 MiB segment costs little); each
    hit checked is charged to `budget`, and the search stops when it is spent."""
    found = []
    at = data.find(XEN_NAME, 12, end)
    while at != -1 and len(found) < N.MAX_NOTES:
        if budget is not None:
            budget.probes -= 1
            if budget.probes <= 0:
                break
        off = at - 12
        head = _header(data, off) if off % 4 == 0 else None
        if head is not None:
            namesz, descsz, ntype = head
            if namesz == 4 and ntype in N.BY_NUMBER and off + _size(4, descsz, 4) <= end:
                found.append((off, ntype))
        at = data.find(XEN_NAME, at + 1, end)
    return found


def walk(data: bytes, end: int, align: int) -> list[int]:
    """Header offsets a walk padding to `align` visits, until a header no longer fits."""
    seen: list[int] = []
    off = 0
    while off + 12 <= end and len(seen) < N.MAX_NOTES:
        head = _header(data, off)
        if head is None:
            break
        seen.append(off)
        namesz, descsz, _ = head
        off += _size(namesz, descsz, align)
    return seen


def desync(
    raw: NoteBytes,
    seg: Segment,
    align: int,
    types: set[int] | None = None,
    budget: ScanBudget | None = None,
) -> Desync | None:
    """How a walk padding to `align` over `seg` misses well-formed Xen notes (of `types`, or
    any), or None when it misses none (or `budget` runs out first)."""
    end = min(seg.filesz, len(raw.data))
    if budget is not None:
        budget.bytes -= end
    data = bytes(raw.data[:end])
    if data.find(XEN_NAME, 13, end) < 0:  # no Xen name past the first header's: nothing missed
        return None
    found = [(off, t) for off, t in candidates(data, end, budget) if not types or t in types]
    if not found or align <= 0 or found[-1][0] == 0:  # a walk always reads the first header
        return None
    visited = walk(data, end, align)
    hit = set(visited)
    missed = [(off, t) for off, t in found if off not in hit]
    if not missed:
        return None
    first_missed = missed[0][0]
    before = [v for v in visited if v < first_missed]
    bad = next((v for v in before if not _plausible(data, v, end, align)), None)
    if bad is None:  # the walk's last step before the note jumps over it
        bad = before[-1] if before else 0
    previous = [v for v in visited if v < bad]
    base = raw.offset
    cause, foreign = _cause(data, end, bad, previous[-1] if previous else None, align, base)
    return Desync(
        seg,
        align,
        base + bad,
        cause,
        foreign,
        tuple((base + off, t) for off, t in missed),
    )


def _describe(data: bytes, off: int, base: int) -> str:
    head = _header(data, off)
    assert head is not None
    namesz, _, ntype = head
    owner = data[off + 12 : off + 12 + namesz].split(b"\0", 1)[0].decode("latin-1")
    known = ".note.gnu.property" if (owner, ntype) == ("GNU", 5) else ""
    label = f" ({known})" if known else ""
    return f"the note at {base + off:#x}, owner {owner!r} type {ntype}{label}"


def _cause(
    data: bytes, end: int, bad: int, previous: int | None, align: int, base: int
) -> tuple[str, str]:
    """Words for the header at `bad` the walk misreads, and the foreign note behind it."""
    head = _header(data, bad)
    if head is None:
        return "the walk runs off the segment", ""
    namesz, descsz, ntype = head
    read_as = f"read as a note header (namesz {namesz}, descsz {descsz}, type {ntype:#x})"
    if data[bad : bad + 4] == bytes(4) and _plausible(data, bad + 4, end, 8):
        foreign = _describe(data, bad + 4, base)
        return (
            f"4 bytes of zero padding (8-byte alignment) {read_as}, before {foreign}, laid "
            "out with 8-byte padding (the ELF64 note layout)",
            foreign,
        )
    if previous is not None and align > 4 and _plausible(data, previous, end, 4):
        foreign = _describe(data, previous, base)
        return (
            f"it pads {foreign} to {align} bytes (the segment's p_align) where the notes are "
            f"padded to 4, and lands inside the next note ({read_as})",
            foreign,
        )
    if previous is not None and align == 4 and _plausible(data, previous, end, 8):
        wide = previous + _size(namesz_of(data, previous), descsz_of(data, previous), 8)
        if wide != bad and (wide >= end or _plausible(data, wide, end, 4)):
            foreign = _describe(data, previous, base)
            return f"{foreign} is laid out with 8-byte padding, not 4 ({read_as})", foreign
    return f"the bytes there are no note ({read_as})", ""


def namesz_of(data: bytes, off: int) -> int:
    return struct.unpack_from("<I", data, off)[0]


def descsz_of(data: bytes, off: int) -> int:
    return struct.unpack_from("<I", data, off + 4)[0]


def xen_desyncs(image: Image) -> list[Desync]:
    """Xen's 4-byte walk of every PT_NOTE it reads (not one at file offset 0)."""
    out = []
    seen: dict[tuple[object, ...], Desync | None] = {}
    budget = ScanBudget()
    for raw in image.note_bytes:
        seg = segment_at(image, raw.segment)
        if budget.spent:
            break
        if seg is None or seg.offset == 0:
            continue
        found = _desync_once(seen, raw, seg, 4, None, budget)
        if found is not None:
            out.append(found)
    return out


def walk_desyncs(image: Image, align_of: dict[int, int], types: set[int]) -> list[Desync]:
    """A loader's walk of each PT_NOTE, padding to `align_of[segment index]`."""
    out = []
    seen: dict[tuple[object, ...], Desync | None] = {}
    budget = ScanBudget()
    for raw in image.note_bytes:
        seg = segment_at(image, raw.segment)
        align = align_of.get(raw.segment, 0)
        if budget.spent:
            break
        if seg is None or align <= 0:
            continue
        found = _desync_once(seen, raw, seg, align, types, budget)
        if found is not None:
            out.append(found)
    return out


def _desync_once(
    seen: dict[tuple[object, ...], Desync | None],
    raw: NoteBytes,
    seg: Segment,
    align: int,
    types: set[int] | None,
    budget: ScanBudget,
) -> Desync | None:
    """desync(), once per distinct (bytes, size, padding): 65535 PT_NOTE segments over the
    same bytes (which then share one kept copy) are scanned once, not 65535 times."""
    key = (raw.offset, min(seg.filesz, len(raw.data)), align)  # an offset means its bytes
    if key not in seen:
        seen[key] = desync(raw, seg, align, types, budget)
    found = seen[key]
    return found if found is None or found.segment is seg else replace(found, segment=seg)


def segment_at(image: Image, index: int) -> Segment | None:
    """Program header `index`: segments are every header in table order, so a lookup by
    position (no scan: an image may have 65535 headers)."""
    segs = image.segments
    return segs[index] if 0 <= index < len(segs) and segs[index].index == index else None


def xen_misses(image: Image) -> list[Desync]:
    """Xen walks that lose Xen notes Xen then reads from nowhere else (a type it finds in no
    note of its parse)."""
    return image.remember((__name__, "xen"), lambda: _xen_misses(image))


def _xen_misses(image: Image) -> list[Desync]:
    read = {n.type for n in image.notes}
    out = []
    for found in xen_desyncs(image):
        missed = tuple((off, t) for off, t in found.missed if t not in read)
        if missed:
            out.append(
                Desync(found.segment, found.align, found.at, found.cause, found.foreign, missed)
            )
    return out


def pads_by_p_align(image: Image, walks_p_align: bool) -> bool:
    """Whether a loader that pads notes to p_align (`walks_p_align`) walks this image
    differently from one that pads to 4: only when some PT_NOTE has a p_align other than 4.
    Replays key their per-image passes on it, so the two kinds of walker share one pass
    over an image whose PT_NOTEs are all 4-aligned (every real kernel's, and 65,534
    hostile ones')."""
    if not walks_p_align:
        return False
    return image.remember(
        (__name__, "p_align"), lambda: any(s.is_note and s.align != 4 for s in image.segments)
    )


def loader_miss(image: Image, walks_p_align: bool) -> Desync | None:
    """The first PT_NOTE where a PVH loader's walk (by p_align, or by 4) loses a well-formed
    PHYS32_ENTRY note."""
    padded = pads_by_p_align(image, walks_p_align)
    return image.remember((__name__, padded), lambda: _loader_miss(image, padded))


def _loader_miss(image: Image, walks_p_align: bool) -> Desync | None:
    align_of = {s.index: (s.align if walks_p_align else 4) for s in image.segments if s.is_note}
    found = walk_desyncs(image, align_of, {N.PHYS32_ENTRY.number})
    return found[0] if found else None
