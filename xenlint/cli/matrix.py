"""`xenlint matrix PATH...`: targets x modes, each cell `ok`, `-` or the failing codes."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from xenlint.abi.profile import MODE_ORDER, Mode, Profile
from xenlint.cli.inputs import readable, settings
from xenlint.cli.stream import EXIT_ERROR
from xenlint.engine.check import cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Severity
from xenlint.escape import escape

#: (target name, mode) -> the error codes there, or None where the target cannot run the mode.
Grid = dict[tuple[str, Mode], "list[str] | None"]


def run(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Write one table per readable image to `out`; returns 2 on an unreadable image or a
    crashed rule, else 0 (error findings are the table's content, not a failure)."""
    from xenlint.output import jsontext

    config = settings(args, registry)
    modes = config.modes or MODE_ORDER
    profiles = config.profiles
    if not config.targets_given:
        # Beside the default releases, one row per profile of every other family (the PVH
        # loaders), so the table shows where else the kernel boots.
        shown = {p.family for p in profiles}
        profiles += tuple(p for p in registry.profiles if p.family not in shown)
    images, status = readable(args.paths, "matrix", config.max_decompressed, registry)
    tables: list[tuple[str, Grid]] = []
    for image in images:
        path = image.path
        cells = cells_for(image, profiles, modes)
        judged = {(c.profile.name, c.mode) for c in cells}
        findings, errors = run_rules(
            image,
            config.rules_for(path),
            cells,
            registry.profiles,
            config.severity,
            registry.engines,
            config.rule_options,
        )
        for error in errors:
            print(f"xenlint: error: {error}", file=sys.stderr)
            status = EXIT_ERROR
        grid: Grid = {
            (p.name, m): None for p in profiles for m in modes if (p.name, m) not in judged
        }
        for f in findings:
            if f.severity is Severity.ERROR:
                for c in f.cells:
                    codes = grid.setdefault((c.profile.name, c.mode), [])
                    if codes is not None and f.code not in codes:
                        codes.append(f.code)
        tables.append((f"{path} ({image.origin})" if image.origin else path, grid))
    if args.format == "json":
        print(jsontext.dumps(_json(tables, profiles, modes)), file=out)
    else:
        for path, grid in tables:
            _text(path, grid, profiles, modes, out)
    return status


def _json(
    tables: list[tuple[str, Grid]], profiles: tuple[Profile, ...], modes: tuple[Mode, ...]
) -> list[dict[str, object]]:
    return [
        {
            "path": path,
            "cells": [
                {
                    "target": p.name,
                    "mode": m.value,
                    "applies": grid.get((p.name, m), []) is not None,
                    "errors": sorted(grid.get((p.name, m)) or []),
                }
                for p in profiles
                for m in modes
            ],
        }
        for path, grid in tables
    ]


def _text(
    path: str, grid: Grid, profiles: tuple[Profile, ...], modes: tuple[Mode, ...], out: TextIO
) -> None:
    print(f"{escape(path)}:", file=out)
    width = max(len(p.name) for p in profiles)
    cols = [max(8, len(m.value)) for m in modes]
    cells_text = {key: "-" if v is None else ",".join(sorted(v)) for key, v in grid.items()}
    cols = [
        max(cols[i], *(len(cells_text.get((p.name, m), "ok")) for p in profiles))
        for i, m in enumerate(modes)
    ]
    print(
        "  "
        + " " * width
        + "  "
        + "  ".join(m.value.ljust(w) for m, w in zip(modes, cols, strict=True)),
        file=out,
    )
    for p in profiles:
        row = [cells_text.get((p.name, m), "ok").ljust(w) for m, w in zip(modes, cols, strict=True)]
        print(f"  {p.name:<{width}}  " + "  ".join(row).rstrip(), file=out)
