"""XL205: PHYS32_RELOC's align/min/max are not checked by Xen; values that cannot work only
show up when a PVH dom0 has to be relocated, as a failed or misplaced build (xen.md §7)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.xen import Phys32Reloc

_USE = "Xen does not check this, and uses PHYS32_RELOC only when booting as PVH dom0"


class Phys32RelocCheck(Rule):
    code = "XL205"
    name = "phys32-reloc"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "PHYS32_RELOC's align, min or max cannot place the kernel"
    explanation = f"""
PHYS32_RELOC (4.19 and later, dfc9fab003) marks a PVH kernel relocatable; its descriptor
holds up to three 32-bit words: align (default: the largest loadable p_align if at least
4 KiB, else 2 MiB; 0xffffffff also means default), min (default {N.RELOC_MIN_DEFAULT}) and max,
the highest last byte (default {N.RELOC_MAX_DEFAULT:#x}). A descsz that is not a multiple of 4
makes every word present read as 0. Xen checks none of the values. They are used only when
booting as PVH dom0, and only when the kernel's own p_paddr range is not free RAM: Xen then
scans the E820 map from the top, takes (end of region, clipped to max + 1, - size) rounded
down with ~(align - 1), and fails ("Failed find a load address") as soon as that is below
min. So, with no message before that point:
- align not a power of two (or 0): the mask clears the wrong bits (0 always fails);
- min above max, or [min, max] smaller than the kernel: no address can work;
- min not a multiple of align: the highest aligned start may fall below min.
The PV and domU builders ignore the note.
"""
    fix = """
Emit ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_RELOC, .long align, min, max) with align a power of two,
min a multiple of align, and max - min + 1 at least the kernel's load size.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        if not ctx.image.is_x86:
            return
        span = ctx.image.paddr_range()
        size = span[1] - span[0] if span else None
        for cell, parse in ctx.xen_pairs:
            reloc = parse.phys32_reloc
            if reloc is None:
                continue
            for message, fix in _problems(reloc, size):
                yield Result((cell,), f"{message}; {_USE}", Location.of_note(reloc.note), fix=fix)


def _problems(reloc: Phys32Reloc, size: int | None) -> Iterator[tuple[str, str]]:
    """(message, fix) for each way the words defeat the relocation search."""
    if reloc.zeroed is reloc.note:
        names = ("align", "min", "max")[: min(reloc.note.descsz // 4, 3)]
        yield (
            f"PHYS32_RELOC has descsz {reloc.note.descsz}, not a multiple of 4, so Xen reads "
            f"{', '.join(names)} as 0",
            "make the descriptor 4, 8 or 12 bytes: .long align, min, max",
        )
        return
    align, low, high = reloc.align, reloc.min, reloc.max
    power = align != 0 and align & (align - 1) == 0
    if not power:
        better = 1 << align.bit_length() if align else reloc.default_align
        effect = (
            "the mask ~(align - 1) is 0, so every placement is 0, which fails"
            if not align
            else "the mask ~(align - 1) does not align the load address"
        )
        yield (
            f"PHYS32_RELOC align {align:#x} is not a power of two: {effect}",
            f"set align (word 0) to a power of two, e.g. {better:#x}",
        )
    if low > high:
        yield (
            f"PHYS32_RELOC min {low:#x} is above max {high:#x}: no load address fits",
            f"swap them: min {high:#x}, max {low:#x}",
        )
    elif size is not None and size > high - low + 1:
        yield (
            f"PHYS32_RELOC range [{low:#x}, {high:#x}] ({high - low + 1:#x} bytes) cannot hold "
            f"the kernel's {size:#x} bytes",
            f"widen the range to at least {size:#x} bytes, e.g. max {low + size - 1:#x}"
            if low + size - 1 <= N.RELOC_MAX_DEFAULT
            else f"widen the range to at least {size:#x} bytes by lowering min",
        )
    elif power and low % align:
        up = (low + align - 1) // align * align
        yield (
            f"PHYS32_RELOC min {low:#x} is not a multiple of align {align:#x}: the lowest "
            f"start Xen can choose is {up:#x}",
            f"round min up to {up:#x} (or down to {up - align:#x})",
        )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Phys32RelocCheck()]
