"""`xenlint check PATH...` (also plain `xenlint PATH...`): run the rules, report findings."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from xenlint.cli.inputs import settings
from xenlint.cli.parser import COMMAND_FORMATS, UsageError
from xenlint.cli.stream import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, refuse_overwrite, write
from xenlint.engine.check import UNREADABLE
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Severity
from xenlint.session import lint

if TYPE_CHECKING:
    from xenlint.output.report import Run


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Check every image named (or the config's `paths`); returns the exit status."""
    fmt = registry.output_formats.get(args.format)
    if fmt is None:
        names = ", ".join(registry.output_formats)
        if any(args.format in formats for formats in COMMAND_FORMATS.values()):
            raise UsageError(f"check has no {args.format} format (use {names})")
        raise UsageError(
            f"argument --format: invalid choice: {args.format!r} (choose from {names}) "
            "(see 'xenlint check --help')"
        )
    config = settings(args, registry)
    if not args.paths:
        args.paths = config.paths
        refuse_overwrite(args.output_file, args.paths)
    if not args.paths:
        raise UsageError(
            "no PATH given: name kernel images or directories, or set 'paths' in the config"
        )
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    outcome = lint(args.paths, config, registry, args.skip_non_elf)
    findings, errors, checked = outcome.findings, outcome.errors, outcome.checked
    files = len(checked)
    status = EXIT_ERROR if outcome.unreadable else EXIT_OK
    for error in errors:
        print(f"xenlint: error: {error}", file=sys.stderr)
    if errors:
        status = EXIT_ERROR
    has_error = any(f.severity is Severity.ERROR and f.code != UNREADABLE for f in findings)
    if has_error and not args.exit_zero:
        status = max(status, EXIT_FINDINGS)
    from xenlint.output.report import Run

    result = Run(
        findings, errors, checked, registry.rules, registry.profiles, status, args.show_fixes
    )
    write(_report(args, result, fmt.render), args.output_file)
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


def _report(args: argparse.Namespace, run: Run, render: Callable[[Run], str]) -> str:
    """The report: --statistics, or the chosen format's rendering (xenlint_output_formats)."""
    if args.statistics:
        from xenlint.output import report

        rows = report.statistics(run.findings)
        if args.format == "json":
            return json.dumps(rows, indent=2) + "\n"
        return report.statistics_text(rows)
    return render(run)
