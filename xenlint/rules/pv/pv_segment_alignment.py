"""XL307: the domU toolstack allocates the kernel segment from VIRT_BASE in whole pages, so the
kernel's virtual start must be page-aligned (xen.md §6.3)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi.xen import PAGE_SIZE
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.xen import addresses


class PvSegmentAlignment(Rule):
    code = "XL307"
    name = "pv-segment-alignment"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the kernel's virtual start is not page-aligned (the toolstack refuses it)"
    explanation = f"""
The domain builder (xc_dom_build_image) places the kernel first: it allocates the segment
[virt_kstart, virt_kend) starting from VIRT_BASE in {PAGE_SIZE}-byte pages, and its
allocator refuses a start that is not page-aligned ("segment boundary isn't page aligned";
"segment start isn't page aligned" before 4.7) or below VIRT_BASE ("segment boundary too
low"; libelf already refuses that case, see XL301). virt_kstart is the lowest p_paddr of
the loadable segments plus VIRT_BASE - PADDR_OFFSET (for PVH from 4.16: the lowest
p_paddr). This binds PV and PVH domUs; a dom0 is built by the hypervisor, which does not
check it.
"""
    fix = """
Align the first loadable segment's p_paddr (and VIRT_BASE - PADDR_OFFSET) to 4 KiB, e.g.
with . = ALIGN(4096) before the first output section in the linker script.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        segments = ctx.image.load_segments()
        where = None
        if segments:
            first = min(segments, key=lambda s: s.paddr)
            where = Location(None, f"PT_LOAD segment {first.index}", first.offset)
        for cell, parse in ctx.parsed_cells():
            if cell.mode.is_dom0:
                continue
            calc = addresses(ctx.image, parse)
            if calc.out_of_bounds is not None or not calc.kstart % PAGE_SIZE:
                continue
            assert cell.xen is not None
            yield Result(
                (cell,),
                f"the kernel's virtual start {calc.kstart:#x} (p_paddr {calc.pstart:#x}) is not "
                f"{PAGE_SIZE}-byte aligned: the toolstack refuses the kernel segment with "
                f"'{cell.xen.segment_align_message}'",
                where,
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [PvSegmentAlignment()]
