"""What the XL2xx rules share: the PVH cells that read PHYS32_ENTRY, libelf's physical bounds,
and how to name a virtual address written where a physical one belongs."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Location
from xenlint.image.model import Image, Segment
from xenlint.replay.xen import XenParse


def phys32_cells(ctx: Context, any_machine: bool = False) -> Iterator[tuple[Cell, XenParse]]:
    """PVH cells of releases that boot that mode and parse PHYS32_ENTRY: x86 images, or with
    `any_machine` every image (libelf's entry bounds check has no machine test)."""
    if not ctx.image.is_x86 and not any_machine:
        return
    for cell in ctx.xen_cells:
        release = cell.xen
        assert release is not None
        if (
            cell.mode.is_pvh
            and cell.mode in release.modes
            and N.PHYS32_ENTRY.number in release.known_notes
        ):
            yield cell, ctx.xen(cell)


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
    notes = image.notes_of(N.PHYS32_ENTRY)
    return Location.of_note(notes[-1]) if notes else None


def entry_fix(image: Image, *values: int) -> str:
    """Name the physical address when one of `values` is a virtual address in the image."""
    for value in values:
        hit = virtual_hit(image, value)
        if hit and hit[1] < N.PHYS32_UNSET:
            seg, phys = hit
            return (
                f"set PHYS32_ENTRY to the physical address {phys:#x} ({value:#x} - p_vaddr "
                f"{seg.vaddr:#x} + p_paddr {seg.paddr:#x} of segment {seg.index}), as a "
                "4-byte .long"
            )
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
