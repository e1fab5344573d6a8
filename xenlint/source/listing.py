"""`xenlint notes` for sources: each note as written, its value or the symbol it waits for."""

from __future__ import annotations

from xenlint.abi import notes as N
from xenlint.source.check import NoteAt, walk_notes
from xenlint.source.model import SourceFile

LINK_TIME = "checked in the linked image by the post-link step"


def describe(note: NoteAt) -> dict[str, object]:
    """One note: where it is written, its type, and its value when the source decides it,
    else the expression the linker fills in (`link_time`)."""
    origin = note.origin
    known = N.BY_NUMBER.get(note.type)
    record: dict[str, object] = {
        "line": origin.line or None,
        "column": origin.column or None,
        "offset": note.offset
        if note.section.file_offset is None
        else note.section.file_offset + note.offset,
        "type": note.type,
        "name": note.type_name,
        "section": note.section.name,
        "allocated": note.section.alloc,
    }
    exprs = [i.expr for i in note.desc_items if i.expr is not None]
    raw = bytes(note.section.data[note.desc_start : note.desc_end])
    if exprs:
        record["link_time"] = " | ".join(e.text for e in exprs)
        record["display"] = f"link-time: {record['link_time']} ({LINK_TIME})"
    elif known is not None and known.kind is N.DescKind.STRING:
        text = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        record["value"] = text
        record["display"] = repr(text)
    else:
        value = int.from_bytes(raw, "little") if raw else 0
        record["value"] = value
        record["display"] = f"{value:#x} ({len(raw)} bytes)"
    return record


def records(src: SourceFile) -> dict[str, object]:
    """The `--format json` record of one source file."""
    notes = [
        describe(n) for sec in src.sections for n in walk_notes(src, sec) if n.owner == N.XEN_OWNER
    ]
    return {"path": src.path, "format": src.syntax, "notes": notes}


def text(rec: dict[str, object]) -> str:
    """The text listing: `path: N Xen notes as written`, then one line per note."""
    notes = rec["notes"]
    assert isinstance(notes, list)
    lines = [f"{rec['path']}: {len(notes)} Xen note{'s' if len(notes) != 1 else ''} as written"]
    for n in notes:
        where = f"{n['line']}:{n['column']}" if n["line"] else f"{n['offset']:#x}"
        lines.append(
            f"  {where:<8} {n['type']:>3} {n['name']:<18} {n['display']}  [{n['section']}]"
        )
    return "\n".join(lines) + "\n"
