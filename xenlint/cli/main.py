"""The `xenlint` command: check images, list rules and targets, decode notes, show a matrix.

Exit status: 0 no error-severity finding, 1 at least one, 2 usage, config, plugin or
unreadable input (takes precedence; the other files are still checked).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xenlint import __version__
from xenlint.abi.profile import MODE_ORDER, Mode
from xenlint.config.file import Config, ConfigError, find, load, split_list
from xenlint.config.settings import Overrides, Settings, build
from xenlint.engine.check import Finding, cells_for, run_rules, unreadable
from xenlint.engine.plugin import Registry
from xenlint.engine.plugin import load as load_plugins
from xenlint.engine.rule import Severity
from xenlint.image.model import Image, ImageError

if TYPE_CHECKING:
    from xenlint.output.report import Run

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
COMMANDS = ("check", "rules", "explain", "notes", "targets", "matrix")
FORMATS = ("text", "json", "sarif", "sarif-github", "github", "markdown")
COMMAND_FORMATS = {
    "check": ("text", "json", "sarif", "sarif-github", "github"),
    "explain": ("text", "json", "markdown"),
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see 'xenlint --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="xenlint",
        description="Check the Xen boot-ABI ELF notes of guest kernel images against the Xen "
        "releases and guest modes a project targets.",
        epilog="Commands: check (default) PATH..., rules, explain CODE, notes PATH..., targets, "
        "matrix PATH.... Exit status: 0 clean, 1 errors found, 2 usage, config or unreadable.",
    )
    p.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("paths", nargs="*", metavar="PATH", help="kernel images or directories")
    p.add_argument("--version", action="store_true", help="show version and loaded plugins")
    p.add_argument("--config", metavar="FILE", help="use this config file instead of searching")
    p.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    p.add_argument(
        "--target",
        action="append",
        metavar="T",
        help="target release(s): xen, xen-4.6, xen-4.10.0, 'xen>=4.7', 'xen>=4.2,<4.5'; PVH "
        "loaders: qemu, qemu-i386, linux-loader, firecracker, cloud-hypervisor "
        "(repeatable; overrides the config)",
    )
    p.add_argument(
        "--mode",
        action="append",
        metavar="M",
        help="guest mode(s): auto, pv, pvh, pv-dom0, pvh-dom0 (comma-separated or repeated)",
    )
    p.add_argument("--select", metavar="CODES", help="rules to run (codes, prefixes or names)")
    p.add_argument("--ignore", metavar="CODES", help="rules not to run")
    p.add_argument("--extend-select", metavar="CODES", help="rules to add to the selection")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output format: text (compiler-style lines), json, sarif (SARIF 2.1.0), "
        "sarif-github (SARIF for GitHub code scanning), github (workflow annotations); "
        "'explain' also takes markdown",
    )
    p.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="write the report to FILE (also on failure); with a machine format the findings "
        "are still printed as text lines, for the build or CI log",
    )
    p.add_argument(
        "--statistics",
        action="store_true",
        help="print the number of findings per code instead of the findings (text or json)",
    )
    p.add_argument(
        "--skip-non-elf",
        action="store_true",
        help="silently skip named files that are not kernel images (ELF, gzip-wrapped ELF, "
        "bzImage), as inside directories (for hooks)",
    )
    p.add_argument("--show-fixes", action="store_true", help="print how to fix each finding")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with error findings")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    p.add_argument(
        "--max-decompressed-size",
        metavar="SIZE",
        help="stop decompressing a gzip or bzImage kernel past SIZE bytes (e.g. 512M, 4G; "
        "default 2G)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(args_list)
    except UsageError as exc:
        return _fail(str(exc))
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        return EXIT_ERROR


def _fail(message: str) -> int:
    print(f"xenlint: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _main(argv: list[str]) -> int:
    args = _parser().parse_intermixed_args(argv)
    if args.command is not None and args.command not in COMMANDS:
        args.paths.insert(0, args.command)
        args.command = "check"
    command = args.command or "check"
    registry = load_plugins()
    for error in registry.errors:
        print(f"xenlint: error: {error}", file=sys.stderr)
    status = EXIT_ERROR if registry.errors else EXIT_OK
    if args.version:
        _print_version(registry)
        return status
    handler = {
        "check": _check,
        "rules": _rules,
        "explain": _explain,
        "notes": _notes,
        "targets": _targets,
        "matrix": _matrix,
    }[command]
    formats = COMMAND_FORMATS.get(command, ("text", "json"))
    if args.format not in formats:
        raise UsageError(f"{command} has no {args.format} format (use {', '.join(formats)})")
    if command in ("check", "explain") or args.output_file in (None, "-"):
        return max(status, handler(args, registry))
    # The listing commands print as they go; -o sends what they print to the file.
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = handler(args, registry)
    _write(buffer.getvalue(), args.output_file)
    return max(status, result)


def _settings(args: argparse.Namespace, registry: Registry) -> Settings:
    if args.isolated:
        cfg = Config()
    elif args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"config file {args.config} not found")
        cfg = load(path)
    else:
        env = os.environ.get("XENLINT_CONFIG")
        found = Path(env) if env else find(Path.cwd())
        cfg = load(found) if found else Config()
    modes = [m for value in args.mode or [] for m in split_list(value)] or None
    cli = Overrides(
        targets=args.target,
        modes=modes,
        select=split_list(args.select) if args.select is not None else None,
        ignore=split_list(args.ignore) if args.ignore is not None else None,
        extend_select=split_list(args.extend_select) if args.extend_select else None,
        max_decompressed=args.max_decompressed_size,
    )
    return build(cfg, cli, registry)


def _expand(paths: Sequence[str], skip_non_elf: bool = False) -> Iterator[tuple[str, bool]]:
    """Files to check; files found inside a directory are taken only if their content looks
    like a kernel image (ELF, gzip-compressed ELF, bzImage), and so are named files with
    `skip_non_elf` (pre-commit hands over any binary file)."""
    from xenlint.image.read import looks_like_image

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                if looks_like_image(str(sub)):
                    yield str(sub), True
        elif not skip_non_elf or looks_like_image(raw):
            yield raw, False


def _load(path: str, max_decompressed: int | None = None) -> Image:
    from xenlint.image.read import DEFAULT_MAX_DECOMPRESSED, load_image

    return load_image(path, max_decompressed=max_decompressed or DEFAULT_MAX_DECOMPRESSED)


def _check(args: argparse.Namespace, registry: Registry) -> int:
    settings = _settings(args, registry)
    if not args.paths:
        args.paths = settings.paths
    if not args.paths:
        raise UsageError(
            "no PATH given: name kernel images or directories, or set 'paths' in the config"
        )
    findings: list[Finding] = []
    errors: list[str] = []
    status = EXIT_OK
    files = 0
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    checked: list[str] = []
    for path, _ in _expand(args.paths, args.skip_non_elf):
        files += 1
        checked.append(path)
        try:
            image = _load(path, settings.max_decompressed)
        except ImageError as exc:
            findings.append(unreadable(path, exc, registry.rules.get("XL000")))
            status = EXIT_ERROR
            continue
        cells = cells_for(image, settings.profiles_for(image), settings.modes)
        found, crashed = run_rules(
            image, settings.rules_for(path), cells, registry.profiles, settings.severity
        )
        findings.extend(found)
        errors.extend(crashed)
    for error in errors:
        print(f"xenlint: error: {error}", file=sys.stderr)
    if errors:
        status = EXIT_ERROR
    has_error = any(f.severity is Severity.ERROR and f.code != "XL000" for f in findings)
    if has_error and not args.exit_zero:
        status = max(status, EXIT_FINDINGS)
    from xenlint.output.report import Run

    run = Run(findings, errors, checked, registry.rules, registry.profiles, status)
    _write(_report(args, run), args.output_file)
    to_file = args.output_file not in (None, "-")
    # A machine report written to a file still leaves the findings in the build or CI log.
    log_text = args.format == "text" or (to_file and not args.statistics)
    if log_text:
        from xenlint.output.report import summary, text

        if args.format != "text":
            sys.stdout.write(text(findings, registry.profiles, args.show_fixes))
            sys.stdout.flush()
        if not args.quiet:
            print(summary(findings, files), file=sys.stderr)
    if files == 0 and not args.skip_non_elf:
        print("xenlint: warning: no ELF files found in the given paths", file=sys.stderr)
    return status


def _report(args: argparse.Namespace, run: Run) -> str:
    """The report in the chosen format; machine formats are imported only when chosen."""
    from xenlint.output import report

    if args.statistics:
        rows = report.statistics(run.findings)
        if args.format == "json":
            return json.dumps(rows, indent=2) + "\n"
        return report.statistics_text(rows)
    if args.format == "json":
        return report.as_json(run.findings, run.errors)
    if args.format == "text":
        return report.text(run.findings, run.universe, args.show_fixes)
    from xenlint import output as reporters

    return reporters.load(args.format)(run)


def _write(output: str, output_file: str | None) -> None:
    """Standard output, or the named file; a file that cannot be written is a usage error."""
    if output_file is None or output_file == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
        return
    try:
        Path(output_file).write_text(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output_file}: {exc.strerror or exc}") from None


def _rules(args: argparse.Namespace, registry: Registry) -> int:
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
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        mark = "" if r["default"] else " (only when selected)"
        print(f"{r['code']:<6} {r['name']:<{width}}  {r['severity']:<7}  {r['summary']}{mark}")
    return EXIT_OK


def _explain(args: argparse.Namespace, registry: Registry) -> int:
    if len(args.paths) != 1:
        raise UsageError("explain takes one rule code or name, e.g. 'xenlint explain XL402'")
    rule = registry.rule(args.paths[0])
    if rule is None:
        raise UsageError(f"unknown rule {args.paths[0]!r} (see 'xenlint rules')")
    if args.format == "json":
        output = json.dumps(explanation_dict(rule, registry), indent=2) + "\n"
    elif args.format == "markdown":
        from xenlint.output.ruledoc import markdown

        output = markdown(rule)
    else:
        output = explanation_text(rule, registry) + "\n"
    _write(output, args.output_file)
    return EXIT_OK


def explanation_dict(rule: object, registry: Registry) -> dict[str, str]:
    return {
        "code": rule.code,  # type: ignore[attr-defined]
        "name": rule.name,  # type: ignore[attr-defined]
        "severity": str(rule.severity),  # type: ignore[attr-defined]
        "summary": rule.summary,  # type: ignore[attr-defined]
        "explanation": rule.explanation.strip(),  # type: ignore[attr-defined]
        "fix": rule.fix.strip(),  # type: ignore[attr-defined]
        "plugin": registry.rule_plugin[rule.code],  # type: ignore[attr-defined]
    }


def explanation_text(rule: object, registry: Registry) -> str:
    """The same text as the rule's page in docs/rules/ (both come from xenlint.output.ruledoc)."""
    from xenlint.output.ruledoc import text

    return text(rule)  # type: ignore[arg-type]


def _readable(
    paths: Sequence[str], command: str, max_decompressed: int | None
) -> tuple[list[Image], int]:
    """Load every image for `notes` and `matrix`; an unreadable one is a one-line error."""
    if not paths:
        raise UsageError(f"{command} needs a PATH")
    images, status = [], EXIT_OK
    for path, _ in _expand(paths):
        try:
            images.append(_load(path, max_decompressed))
        except ImageError as exc:
            print(f"xenlint: error: {path}: {exc}", file=sys.stderr)
            status = EXIT_ERROR
    return images, status


def _notes(args: argparse.Namespace, registry: Registry) -> int:
    images, status = _readable(args.paths, "notes", _settings(args, registry).max_decompressed)
    out = [_notes_record(image) for image in images]
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return status
    for rec in out:
        inside = f" ({rec['origin']})" if rec["origin"] else ""
        print(
            f"{rec['path']}{inside}: ELF{rec['class']} {rec['byte_order']}-endian "
            f"{rec['machine']}, "
            f"entry {rec['entry']:#x}; "
            + (
                f"Xen reads notes from {rec['source']}"
                if rec["source"]
                else "Xen finds no Xen note (nor a __xen_guest string)"
            )
        )
        for n in rec["notes"]:
            print(
                f"  {n['offset']:#08x}  {n['type']:>3} {n['name']:<18} {n['display']}"
                f"  [{n['container']}]"
            )
        if rec["xen_guest"] is not None:
            print(f"  __xen_guest: {rec['xen_guest']!r}")
    return status


def _notes_record(image: Image) -> dict[str, object]:
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


def _targets(args: argparse.Namespace, registry: Registry) -> int:
    settings = _settings(args, registry)
    chosen = {p.name for p in settings.profiles}
    rows = [
        {
            "name": p.name,
            "family": p.family,
            "version": ".".join(map(str, p.version)),
            "modes": [m.value for m in MODE_ORDER if m in p.modes],
            "selected": p.name in chosen,
            "note": p.note,
        }
        for p in registry.profiles
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max([12, *(len(str(r["name"])) for r in rows)])
    for r in rows:
        mark = "*" if r["selected"] else " "
        modes = ",".join(r["modes"])  # type: ignore[arg-type]
        print(f"{mark} {r['name']:<{width}} {modes:<26} {r['note']}".rstrip())
    print("(* = selected by the configuration and --target)")
    return EXIT_OK


def _matrix(args: argparse.Namespace, registry: Registry) -> int:
    settings = _settings(args, registry)
    modes = settings.modes or MODE_ORDER
    profiles = settings.profiles
    if not settings.targets_given:
        # Beside the default releases, one row per profile of every other family (the PVH
        # loaders), so the table shows where else the kernel boots.
        shown = {p.family for p in profiles}
        profiles += tuple(p for p in registry.profiles if p.family not in shown)
    images, status = _readable(args.paths, "matrix", settings.max_decompressed)
    tables = []
    for image in images:
        path = image.path
        cells = cells_for(image, profiles, modes)
        judged = {(c.profile.name, c.mode) for c in cells}
        findings, errors = run_rules(
            image, settings.rules_for(path), cells, registry.profiles, settings.severity
        )
        for error in errors:
            print(f"xenlint: error: {error}", file=sys.stderr)
            status = EXIT_ERROR
        grid: dict[tuple[str, Mode], list[str] | None] = {
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
        data = [
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
        print(json.dumps(data, indent=2))
        return status
    for path, grid in tables:
        print(f"{path}:")
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
            + "  ".join(m.value.ljust(w) for m, w in zip(modes, cols, strict=True))
        )
        for p in profiles:
            row = [
                cells_text.get((p.name, m), "ok").ljust(w) for m, w in zip(modes, cols, strict=True)
            ]
            print(f"  {p.name:<{width}}  " + "  ".join(row).rstrip())
    return status


def _print_version(registry: Registry) -> None:
    print(f"xenlint {__version__}")
    by_dist: dict[tuple[str, str], list[str]] = {}
    for info in registry.plugins:
        by_dist.setdefault((info.dist, info.version), []).append(info.name)
    for (dist, version), names in by_dist.items():
        rules = [c for c, plugin in registry.rule_plugin.items() if plugin in names]
        what = f"{len(rules)} rules" if len(rules) != 1 else "1 rule"
        print(f"  plugin {dist} {version}: {what}" + (f" ({', '.join(rules)})" if rules else ""))
