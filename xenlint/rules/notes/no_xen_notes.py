"""XL001: an x86 kernel in which Xen finds no Xen information at all is refused by every
release; which of two errors it gets depends on whether any note region exists."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import messages as M
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Location, Result, Rule, Severity
from xenlint.image.model import Image
from xenlint.replay.reach import xen_misses
from xenlint.replay.xen import uses_xen_guest

_NO_NOTES = M.NO_XEN_NOTES
_LOADER = M.LOADER_OR_GUEST_OS


class NoXenNotes(Rule):
    code = "XL001"
    name = "no-xen-notes"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "an x86 kernel without any Xen note (or usable __xen_guest string)"
    explanation = f"""
Xen looks for notes owned by "Xen" in the PT_NOTE segments (skipping any at file offset 0),
then in the SHT_NOTE sections, then in the legacy __xen_guest section. When it finds none,
elf_xen_note_check() refuses every x86 (EM_386, EM_X86_64) kernel, in one of two ways:
- no PT_NOTE segment (at a non-zero offset) and no SHT_NOTE section at all, and no
  __xen_guest: "{_NO_NOTES}";
- note regions exist but hold only other owners' notes (e.g. a GNU build-id): Xen passes
  that test and fails the next one, "{_LOADER}", because LOADER and GUEST_OS are empty.
Xen 4.16 and later ignore __xen_guest for PVH, so a kernel whose only Xen information is
that string has no Xen information at all in a PVH boot there.
Other machines (ARM, AArch64, ...) are accepted without notes; this rule ignores them.
"""
    fix = """
Add the Xen notes in a PT_NOTE segment at a non-zero file offset, e.g. for a PV kernel
    ELFNOTE(Xen, XEN_ELFNOTE_GUEST_OS, .asciz "linux")
    ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
    ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "generic")
and for a PVH kernel ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long <physical entry>).
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        image = ctx.image
        if not image.is_x86 or image.notes or xen_misses(image):
            return  # XL008 says where Xen's walk lost the notes that are there
        for cell in ctx.xen_cells:
            assert cell.xen is not None  # ctx.xen_cells are Xen cells
            if image.xen_guest is not None and uses_xen_guest(cell.xen, cell.mode):
                continue  # Xen reads the legacy string instead (XL005)
            yield Result((cell,), _message(image), _location(image), fix=_fix(image))


def _message(image: Image) -> str:
    """What Xen finds in this cell, and which of its two errors follows."""
    if image.xen_guest is not None:
        head = (
            f"the kernel's only Xen information is the {N.XEN_GUEST_SECTION} section, which "
            "this release ignores for PVH, so Xen sees no Xen notes at all"
        )
    elif image.skipped_segment_notes:
        head = (
            f"the kernel's {len(image.skipped_segment_notes)} Xen note(s) are in a PT_NOTE "
            "segment at file offset 0, which Xen skips, and in no SHT_NOTE section"
        )
    elif image.skipped_segments:
        indexes = ", ".join(str(s.index) for s in image.skipped_segments)
        head = (
            f"the kernel's PT_NOTE segment {indexes} has file offset 0, which Xen skips (an "
            "old binutils bug), and no SHT_NOTE section holds Xen notes"
        )
    else:
        head = "the kernel has no Xen notes and no __xen_guest section"
    if image.note_regions_scanned:
        owners = sorted({_owner(n.owner) for n in image.foreign_notes})
        found = f"only {'/'.join(owners)} notes" if owners else "no Xen notes"
        return (
            f"{head}; Xen finds note regions ({found}), so it refuses the kernel with "
            f"'{_LOADER}' (LOADER and GUEST_OS are empty)"
        )
    return f"{head}: Xen refuses the kernel with '{_NO_NOTES}'"


def _owner(name: bytes) -> str:
    """An owner name as a reader can see it: "(empty name)" for namesz 0 or a leading NUL,
    other bytes that do not print escaped."""
    if not name:
        return "(empty name)"
    return "".join(chr(c) if 32 <= c < 127 else f"\\x{c:02x}" for c in name)


def _location(image: Image) -> Location | None:
    if image.xen_guest is not None:
        return Location.of_xen_guest(image.xen_guest)
    if image.skipped_segment_notes:
        return Location.of_note(image.skipped_segment_notes[0])
    if image.skipped_segments:
        segment = image.skipped_segments[0]
        return Location(None, f"PT_NOTE segment {segment.index}", segment.offset)
    return None


def _fix(image: Image) -> str:
    if image.xen_guest is not None:
        return (
            f"move the {N.XEN_GUEST_SECTION} items into Xen ELF notes in a PT_NOTE segment; "
            f"a PVH kernel needs at least a PHYS32_ENTRY note (type {N.PHYS32_ENTRY.number})"
        )
    if image.skipped_segment_notes or image.skipped_segments:
        return (
            "give the PT_NOTE segment holding the Xen notes a non-zero p_offset (place the "
            ".note.Xen section after the headers, in its own PHDRS entry of type PT_NOTE)"
        )
    return NoXenNotes.fix.strip()


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [NoXenNotes()]
