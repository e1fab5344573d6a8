"""What the XL2xx rules share: the PVH cells that read PHYS32_ENTRY, libelf's physical bounds,
and how to name a virtual address written where a physical one belongs."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint.abi import notes as N
from xenlint.abi.guests import offset_name
from xenlint.engine.rule import Cell, Context, Location
from xenlint.escape import escape
from xenlint.image.model import Image, Segment
from xenlint.replay.xen import XenParse


def phys32_cells(ctx: Context, any_machine: bool = False) -> tuple[tuple[Cell, XenParse], ...]:
    """PVH cells of releases that boot that mode and parse PHYS32_ENTRY: x86 images, or with
    `any_machine` every image (libelf's entry bounds check has no machine test)."""
    if not ctx.image.is_x86 and not any_machine:
        return ()
    return ctx.remember((__name__, "phys32_cells"), lambda: tuple(_phys32_cells(ctx)))


def _phys32_cells(ctx: Context) -> Iterator[tuple[Cell, XenParse]]:
    for cell, parse in ctx.xen_pairs:
        release = cell.xen
        assert release is not None
        if (
            cell.mode.is_pvh
            and cell.mode in release.modes
            and N.PHYS32_ENTRY.number in release.known_notes
        ):
            yield cell, parse


def paddr_bounds(image: Image) -> tuple[int, int]:
    """[pstart, pend] as libelf computes them; all-ones and 0 without a loadable segment."""
    return image.paddr_range() or ((1 << 64) - 1, 0)


def virtual_hit(image: Image, value: int) -> tuple[Segment, int] | None:
    """The loadable segment whose *virtual* range holds `value` (when that differs from its
    physical range), and the physical address value - p_vaddr + p_paddr."""
    for seg in image.load_segments():
        if seg.vaddr != seg.paddr and seg.vaddr <= value < seg.vaddr + seg.memsz:
            return seg, value - seg.vaddr + seg.paddr
    return None


def describe_vaddr(seg: Segment) -> str:
    """'segment 1 (p_vaddr [start, end), p_paddr P)' for messages."""
    end = seg.vaddr + seg.memsz
    return f"segment {seg.index} (p_vaddr [{seg.vaddr:#x}, {end:#x}), p_paddr {seg.paddr:#x})"


def entry_location(image: Image) -> Location | None:
    """The last PHYS32_ENTRY note: the one Xen keeps."""
    # Rules ask for every cell they report: once per image.
    return image.remember((__name__, "entry_location"), lambda: _entry_location(image))


def _entry_location(image: Image) -> Location | None:
    notes = image.notes_of(N.PHYS32_ENTRY)
    return Location.of_note(notes[-1]) if notes else None


def entry_fix(image: Image, *values: int) -> str:
    """Name the physical address when one of `values` is a virtual address in the image, in
    the kernel's own words when its symbol table names the entry code."""
    # Rules ask for every cell they report, usually with the same values: once per image
    # and values.
    return image.remember((__name__, "entry_fix", values), lambda: _entry_fix(image, values))


def _entry_fix(image: Image, values: tuple[int, ...]) -> str:
    for value in values:
        hit = virtual_hit(image, value)
        if hit and hit[1] < N.PHYS32_UNSET:
            return virtual_fix(image, value, *hit)
    pstart, pend = paddr_bounds(image)
    if pstart > pend:
        return (
            "give the kernel a loadable PT_LOAD segment (flags R, W or X) holding its code, "
            "and set PHYS32_ENTRY to the physical address of the 32-bit entry code in it"
        )
    return (
        "set PHYS32_ENTRY to the physical address of the 32-bit entry code, inside the "
        f"kernel's p_paddr range [{pstart:#x}, {pend:#x}), as a 4-byte .long"
    )


def virtual_entry_fix(image: Image, *values: int) -> str | None:
    """The symbol-aware fix when one of `values`, or the PHYS32_ENTRY note's own number (a
    loader may have read only its low bytes), is a virtual address of the image; None when
    none is, so the rule's own fix stands."""
    key = (__name__, "virtual_entry_fix", values)  # asked per loader cell: once per image
    return image.remember(key, lambda: _virtual_entry_fix(image, values))


def _virtual_entry_fix(image: Image, values: tuple[int, ...]) -> str | None:
    from xenlint.image.decode import value as note_value

    notes = image.notes_of(N.PHYS32_ENTRY)
    raw = note_value(image, notes[-1]) if notes else None
    for candidate in (*values, *([raw] if isinstance(raw, int) else [])):
        hit = virtual_hit(image, candidate)
        if hit and hit[1] < N.PHYS32_UNSET:
            return virtual_fix(image, candidate, *hit)
    return None


def virtual_fix(image: Image, value: int, seg: Segment, phys: int) -> str:
    """`pvh_start_xen` (0xffffffff810005f0) is a virtual address; write `pvh_start_xen -
    __START_KERNEL_map` (0x10005f0)`: the symbol at `value` from .symtab/.dynsym, the offset
    by the name the guest's sources give it (xenlint.abi.guests) or as the number p_vaddr -
    p_paddr; without a symbol, the address arithmetic."""
    symbol = image.symbols.at(value)
    if symbol is None:
        return (
            f"set PHYS32_ENTRY to the physical address {phys:#x} ({value:#x} - p_vaddr "
            f"{seg.vaddr:#x} + p_paddr {seg.paddr:#x} of segment {seg.index}), as a "
            "4-byte .long"
        )
    # The symbol's name is the image's: escaped here, as the fix keeps its own newlines.
    symbol_name = escape(symbol.name)
    offset = seg.vaddr - seg.paddr
    name = offset_name(guest_os(image), image.machine, offset)
    minus = name or f"{offset:#x}"
    where = "" if name else f", p_vaddr - p_paddr of segment {seg.index}"
    return (
        f"`{symbol_name}` ({value:#x}) is a virtual address; write "
        f"`{symbol_name} - {minus}` ({phys:#x}{where})"
    )


def guest_os(image: Image) -> str | None:
    """The GUEST_OS note Xen keeps (the last one), or the legacy __xen_guest value."""
    notes = image.notes_of(N.GUEST_OS)
    if notes:
        return notes[-1].string.decode("latin-1")
    if image.xen_guest is not None:
        return dict(image.xen_guest.items).get("GUEST_OS")
    return None
