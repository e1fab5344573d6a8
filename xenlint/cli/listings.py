"""`xenlint rules` and `xenlint targets`: the tables of what the loaded plugins provide."""

from __future__ import annotations

import argparse
from typing import TextIO

from xenlint.abi.profile import MODE_ORDER
from xenlint.cli.inputs import settings
from xenlint.cli.stream import EXIT_OK
from xenlint.engine.plugin import Registry


def rules(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Write the rule table (code, name, default severity, summary) to `out`."""
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "severity": str(r.severity),
            "summary": r.summary,
            "plugin": registry.rule_plugin[r.code],
            "default": r.default_enabled,
        }
        for r in registry.rules.values()
    ]
    if args.format == "json":
        from xenlint.output import jsontext  # only here: json costs a millisecond of start-up

        print(jsontext.dumps(rows), file=out)
        return EXIT_OK
    width = max((len(str(r["name"])) for r in rows), default=4)
    for r in rows:
        mark = "" if r["default"] else " (only when selected)"
        print(
            f"{r['code']:<6} {r['name']:<{width}}  {r['severity']:<7}  {r['summary']}{mark}",
            file=out,
        )
    return EXIT_OK


def targets(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Write the known targets to `out`, marking those the config and --target select."""
    config = settings(args, registry)
    chosen = {p.name for p in config.profiles}
    pvh_default = {p.name for p in config.default_loaders}
    rows = [
        {
            "name": p.name,
            "family": p.family,
            "version": ".".join(map(str, p.version)),
            "modes": [m.value for m in MODE_ORDER if m in p.modes],
            "selected": p.name in chosen,
            # Judged by default for an ELF image with a PVH entry (Settings.profiles_for).
            "selected_for_pvh_elf": p.name in pvh_default,
            "note": p.note,
        }
        for p in registry.profiles
    ]
    if args.format == "json":
        from xenlint.output import jsontext  # only here: json costs a millisecond of start-up

        print(jsontext.dumps(rows), file=out)
        return EXIT_OK
    width = max([12, *(len(str(r["name"])) for r in rows)])
    for r in rows:
        mark = "*" if r["selected"] else "+" if r["selected_for_pvh_elf"] else " "
        modes = ",".join(r["modes"])  # type: ignore[arg-type]
        print(f"{mark} {r['name']:<{width}} {modes:<26} {r['note']}".rstrip(), file=out)
    legend = "(* = selected by the configuration and --target"
    if pvh_default:
        legend += "; + = also judged for an ELF image with a PVH entry, by default"
    print(legend + ")", file=out)
    return EXIT_OK
