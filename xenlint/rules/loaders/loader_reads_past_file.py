"""XL512: a segment or the entry note must lie inside the file for the loaders to load it."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import consequence, describe_segment


class LoaderReadsPastFile(Rule):
    code = "XL512"
    name = "loader-reads-past-file"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a PT_LOAD, PT_NOTE or note the loader reads runs past the end of the file"
    explanation = """
QEMU's load_elf gives up ("Error while loading elf kernel") when any PT_LOAD or PT_NOTE claims
file bytes past the end of the file; linux-loader fails with ReadKernelImage or ReadNoteHeader
when a PT_LOAD's bytes or a note header it walks to are missing. Xen reports such notes as
malformed (XL003) and may still boot the kernel; these loaders do not. A truncated image (an
interrupted copy, objcopy with a wrong --pad-to, a hand-made header) is the usual cause.
"""
    fix = """
Rebuild or re-copy the image so that every segment's p_offset + p_filesz is within the file,
and every note's size fields match the bytes written.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell in ctx.loader_cells:
            reading = ctx.loader(cell)
            failure = reading.failure
            if failure is None or failure.kind != "past-file":
                continue
            seg = failure.segment
            yield Result(
                (cell,),
                (f"{describe_segment(ctx.image, seg)}: " if seg else "")
                + f"reads past the end of the file ({ctx.image.size:#x} bytes): "
                + consequence(ctx.image, reading),
                Location(None, describe_segment(ctx.image, seg), seg.offset) if seg else None,
            )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LoaderReadsPastFile()]
