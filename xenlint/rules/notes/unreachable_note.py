"""XL008: a well-formed Xen note sits in a PT_NOTE segment, but a walk loses step before it."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.replay.pvh import read_as_if_4
from xenlint.replay.reach import Desync, loader_miss, xen_misses


class UnreachableNote(Rule):
    code = "XL008"
    name = "unreachable-note"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a Xen note is in a PT_NOTE segment, but the loader's note walk never reaches it"
    explanation = """
Xen, QEMU and linux-loader step from note to note by the sizes each header declares, padded to
4 bytes (Xen, linux-loader 0.9+) or to the PT_NOTE's p_align (QEMU, linux-loader up to 0.8.1).
When one header's sizes do not match the bytes, the walk loses step and every note after it is
lost, although it is there, well formed: 4 bytes of 8-alignment padding read as a header, or a
note laid out with 8-byte padding (the ELF64 layout of .note.gnu.property) in a 4-padded
segment. A shipped Xen image repacked as ELF32 had a build-id note, 4 bytes of padding, an
ELF64-layout .note.gnu.property and then its PHYS32_ENTRY note: Xen and QEMU both missed the
entry and refused the kernel as if it had no Xen notes. xenlint scans each PT_NOTE for
well-formed Xen note headers independently of the walks and, where a walk misses one, says
where the walk lost step, which bytes threw it off, and the offset of the note it missed
(instead of XL001/XL103/XL510's "add the notes"). For a Xen target it is an error where Xen
then refuses the kernel (no Xen note left on x86: the note check fails; PHYS32_ENTRY lost in
a PVH boot), and a warning where Xen reads the kernel without the lost notes.
"""
    fix = """
Keep every note in the segment that holds the Xen notes padded to 4 bytes: discard the
8-aligned note (/DISCARD/ : { *(.note.gnu.property) } in the linker script, or objcopy
--remove-section .note.gnu.property), or give .note.Xen a PT_NOTE of its own (PHDRS
{ ... xen PT_NOTE; }, .note.Xen : { *(.note.Xen) } :text :xen).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        misses = xen_misses(ctx.image)
        for miss in misses:
            text = miss.describe("Xen's 4-byte note walk")
            for cell in ctx.xen_cells:
                outcome, severity = _xen_outcome(ctx, cell, miss)
                yield Result((cell,), text + outcome, _where(miss), severity, _fix(miss))
        for cell in ctx.loader_cells:
            loader = cell.loader
            reading = ctx.loader(cell)
            if loader is None or reading.note is not None or reading.path != "pvh":
                continue
            if reading.failure is not None and reading.failure.kind != "absent":
                continue  # the loader stops before its walk (XL505-XL508 say why)
            lost = loader_miss(ctx.image, loader.walks_p_align)
            if lost is None:
                continue
            if lost.align != 4 and read_as_if_4(ctx.image, reading).note is not None:
                continue  # padding by 4 would find it: XL502 says p_align is the cause
            how = f"{lost.align}-byte" if not loader.walks_p_align else f"p_align ({lost.align})"
            yield Result(
                (cell,),
                lost.describe(f"the {how} note walk of {loader.program}"),
                _where(lost),
                fix=_fix(lost),
            )


def _xen_outcome(ctx: Context, cell: Cell, miss: Desync) -> tuple[str, Severity]:
    """What the lost notes cost this Xen cell (checked against each release's own libelf in
    tests/test_libelf_differential.py): an error only where Xen then refuses the kernel."""
    parse = ctx.xen(cell)
    if parse.source is None and ctx.image.is_x86:
        # no Xen note left, but a note region was walked: elf_xen_note_check's content check
        # fails on the empty LOADER/GUEST_OS (XL001 leaves this case to this rule)
        return f"; Xen finds no Xen note and refuses the kernel with '{M.LOADER_OR_GUEST_OS}'", (
            Severity.ERROR
        )
    lost_entry = any(t == N.PHYS32_ENTRY.number for _, t in miss.missed)
    if lost_entry and cell.mode.is_pvh and parse.phys32_entry is None:
        # XL103 leaves this case to this rule: the toolstack (4.10+) and the PVH dom0 builder
        # refuse a PVH kernel without PHYS32_ENTRY
        return "; without PHYS32_ENTRY Xen cannot boot the kernel as PVH", Severity.ERROR
    return "; Xen ignores the lost notes and reads the kernel without them", Severity.WARNING


def _where(miss: Desync) -> Location:
    return Location(None, f"PT_NOTE segment {miss.segment.index}", miss.at)


def _fix(miss: Desync) -> str | None:
    if ".note.gnu.property" in miss.foreign:
        return (
            "discard .note.gnu.property (/DISCARD/ : { *(.note.gnu.property) } in the linker "
            "script, or objcopy --remove-section .note.gnu.property), or give .note.Xen a "
            "PT_NOTE of its own with 4-byte alignment"
        )
    return None


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [UnreachableNote()]
