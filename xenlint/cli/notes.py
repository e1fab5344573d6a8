"""`xenlint notes PATH...`: every Xen note decoded by name, value and container."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from xenlint.cli.inputs import readable, settings
from xenlint.engine.plugin import Registry
from xenlint.image.model import Image


def run(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Write each readable image's notes to `out`; returns 2 if one was unreadable, else 0."""
    images, status = readable(args.paths, "notes", settings(args, registry).max_decompressed)
    records = [record(image) for image in images]
    if args.format == "json":
        print(json.dumps(records, indent=2), file=out)
        return status
    for rec in records:
        inside = f" ({rec['origin']})" if rec["origin"] else ""
        print(
            f"{rec['path']}{inside}: ELF{rec['class']} {rec['byte_order']}-endian "
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
            print(
                f"  {n['offset']:#08x}  {n['type']:>3} {n['name']:<18} {n['display']}"
                f"  [{n['container']}]",
                file=out,
            )
        if rec["xen_guest"] is not None:
            print(f"  __xen_guest: {rec['xen_guest']!r}", file=out)
    return status


def record(image: Image) -> dict[str, object]:
    """The `--format json` record of one image: ELF identity, note source, decoded notes."""
    from xenlint.image import decode as d

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
            }
            for n in image.notes
        ],
        "xen_guest": image.xen_guest.text if image.xen_guest else None,
    }
