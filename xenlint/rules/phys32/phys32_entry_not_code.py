"""XL203: a PHYS32_ENTRY that passes Xen's bounds check can still point at no code: into a
segment's zero-filled tail, a gap between segments, the end of the image, or data."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi.elf import PF_X
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.image.model import Image, Segment
from xenlint.rules.phys32.helpers import entry_location, phys32_cells


class Phys32EntryNotCode(Rule):
    code = "XL203"
    name = "phys32-entry-not-code"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "PHYS32_ENTRY is inside the image but not at code the kernel loads"
    explanation = """
Xen's only check of PHYS32_ENTRY (4.16 and later, for PVH boots) is pstart <= entry <= pend
over the loadable segments' p_paddr range; 4.7 to 4.15 check nothing. libelf then copies
p_filesz bytes of each loadable PT_LOAD to p_paddr and zero-fills the rest up to p_memsz, and
the vCPU starts at PHYS32_ENTRY. So an entry can pass and still not be code:
- in the zero-filled tail [p_paddr + p_filesz, p_paddr + p_memsz) (.bss): error;
- exactly at pend, which the inclusive end check lets through: error, nothing is loaded there;
- between two loadable segments: error, nothing is loaded there;
- in a loadable segment without the X flag: warning. With paging off the CPU does not care,
  but a kernel's entry code lives in its executable segment, so the address is likely wrong.
Only PVH boots use PHYS32_ENTRY; PV boots ignore it.
"""
    fix = """
Point PHYS32_ENTRY at the physical address of the 32-bit entry code, inside the file-backed
part of the executable PT_LOAD segment that holds it.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        loads = image.load_segments()
        if not loads:
            return  # XL202: nothing can be inside
        pend = max(s.paddr + s.memsz for s in loads)
        pstart = min(s.paddr for s in loads)
        judged: dict[int, tuple[str, Severity, str] | None] = {}  # per entry, not per cell:
        for cell, parse in phys32_cells(ctx):  # each scans every PT_LOAD (65535 of them)
            entry = parse.phys32_entry
            if entry is None or not pstart <= entry <= pend:
                continue  # XL103 / XL202
            if entry not in judged:
                verdict = _verdict(loads, entry, pend)
                judged[entry] = None if verdict is None else (*verdict, _fix(image, entry))
            found = judged[entry]
            if found is not None:
                message, severity, fix = found
                yield Result((cell,), message, entry_location(image), severity, fix)


def _verdict(loads: tuple[Segment, ...], entry: int, pend: int) -> tuple[str, Severity] | None:
    """Why the code at `entry` is not the kernel's, and how bad that is; None if it is."""
    holding = [s for s in loads if s.paddr <= entry < s.paddr + s.memsz]
    if not holding:
        if entry == pend:
            return (
                f"PHYS32_ENTRY {entry:#x} is the end of the image (pend, the highest p_paddr + "
                "p_memsz): Xen's bounds check includes that address, but nothing is loaded "
                "there",
                Severity.ERROR,
            )
        return (
            f"PHYS32_ENTRY {entry:#x} lies in a gap between the loadable segments: nothing "
            "is loaded there",
            Severity.ERROR,
        )
    loaded = [s for s in holding if entry < s.paddr + min(s.filesz, s.memsz)]
    if any(s.flags & PF_X for s in loaded):
        return None
    if loaded:
        return (
            f"PHYS32_ENTRY {entry:#x} lies in {_describe(loaded[0])}, which is not "
            "executable: the entry code is unlikely to be there",
            Severity.WARNING,
        )
    seg = holding[0]
    return (
        f"PHYS32_ENTRY {entry:#x} lies in the zero-filled tail of {_describe(seg)}: "
        "Xen loads zeros there (.bss), not code",
        Severity.ERROR,
    )


def _describe(seg: Segment) -> str:
    end = seg.paddr + seg.memsz
    text = f"segment {seg.index} ({seg.perms}, p_paddr [{seg.paddr:#x}, {end:#x})"
    if seg.filesz < seg.memsz:
        text += f", file bytes up to {seg.paddr + seg.filesz:#x}"
    return text + ")"


def _fix(image: Image, entry: int) -> str:
    code = [s for s in image.load_segments() if s.flags & PF_X and s.filesz]
    if not code:
        return (
            "the kernel has no executable loadable segment: put the 32-bit entry code in an "
            "R-X PT_LOAD and point PHYS32_ENTRY at its physical address"
        )
    near = min(code, key=lambda s: abs(s.paddr - entry))
    return (
        "point PHYS32_ENTRY at the physical address of the 32-bit entry code, e.g. inside "
        f"the file-backed part of {_describe(near)}"
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [Phys32EntryNotCode()]
