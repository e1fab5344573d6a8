"""`xenlint notes PATH...`: every Xen note decoded by name, value and container."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TextIO

from xenlint.cli.inputs import readable, settings
from xenlint.engine.plugin import Registry
from xenlint.escape import escape
from xenlint.image.model import Image, Note


def run(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Write each readable image's notes to `out`; returns 2 if one was unreadable, else 0.
    Assembly sources and objects list their notes as written (xenlint.source.listing)."""
    from xenlint.output import jsontext  # here: json costs a millisecond of start-up
    from xenlint.source import kind

    sources = [p for p in args.paths if kind(p) in ("gas", "nasm", "object")]
    images_paths = [p for p in args.paths if p not in sources]
    images, status = (
        readable(images_paths, "notes", settings(args, registry).max_decompressed, registry)
        if images_paths or not sources
        else ([], 0)
    )
    records = [record(image) for image in images]
    source_records, source_status = _source_records(sources)
    status = max(status, source_status)
    if args.format == "json":
        print(jsontext.dumps(records + source_records), file=out)
        return status
    from xenlint.source.listing import text

    for rec in source_records:
        out.write(text(rec))
    for rec in records:
        inside = f" ({rec['origin']})" if rec["origin"] else ""
        print(
            f"{escape(str(rec['path']))}{inside}: ELF{rec['class']} {rec['byte_order']}-endian "
            f"{rec['machine']}, "
            f"entry {rec['entry']:#x}; "
            + (
                f"Xen reads notes from {rec['source']}"
                if rec["source"]
                else "Xen finds no Xen note (nor a __xen_guest string)"
            ),
            file=out,
        )
        for n in rec["notes"]:  # type: ignore[attr-defined]
            again = (
                f" (read {n['reads']} times: PT_NOTE segments overlap)" if n["reads"] > 1 else ""
            )
            print(
                f"  {n['offset']:#08x}  {n['type']:>3} {n['name']:<18} {n['display']}"
                f"  [{n['container']}]{again}",
                file=out,
            )
        if rec["xen_guest"] is not None:
            print(f"  __xen_guest: '{escape(str(rec['xen_guest']))}'", file=out)
    return status


def _source_records(paths: list[str]) -> tuple[list[dict[str, object]], int]:
    """Listing records of the sources; 2 when one could not be read (said on stderr)."""
    import sys

    from xenlint.source import SourceError
    from xenlint.source.listing import records
    from xenlint.source.run import read

    out, status = [], 0
    for path in paths:
        try:
            src = read(path)
        except SourceError as exc:
            print(f"xenlint: error: {path}: {exc}", file=sys.stderr)
            status = 2
            continue
        if src is not None:
            out.append(records(src))
    return out, status


def _distinct(image: Image) -> list[Note]:
    """Each note once, where Xen's walk reads it for the last time: PT_NOTE segments that
    overlap make it read one note again and again (65,000 segments over one 4 KiB FEATURES
    note listed it 65,000 times, 260 MB); a note's bytes, hence its value, are its offset's."""
    last = {n.offset: i for i, n in enumerate(image.notes)}
    return [n for i, n in enumerate(image.notes) if last[n.offset] == i]


def record(image: Image) -> dict[str, object]:
    """The `--format json` record of one image: ELF identity, note source, decoded notes."""
    from xenlint.image import decode as d

    reads = Counter(n.offset for n in image.notes)
    return {
        "path": image.path,
        "format": image.format,
        "origin": image.origin or None,
        "class": image.elf_class,
        "byte_order": "little" if image.little_endian else "big",
        "machine": image.machine_name,
        "entry": image.entry,
        "source": image.note_source,
        "notes": [
            {
                "offset": n.offset,
                "container": n.container.describe(),
                "type": n.type,
                "name": n.type_name,
                "descsz": n.descsz,
                "value": d.value(image, n),
                "display": d.display(image, n),
                "reads": reads[n.offset],
            }
            for n in _distinct(image)
        ],
        "xen_guest": image.xen_guest.text if image.xen_guest else None,
    }
