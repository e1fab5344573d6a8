"""`xenlint check PATH...` (also plain `xenlint PATH...`): run the rules, report findings."""

from __future__ import annotations

import argparse
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
    for warning in config.warnings:
        print(f"xenlint: warning: {warning}", file=sys.stderr)
    if not args.paths:
        args.paths = config.paths
        refuse_overwrite(args.output_file, args.paths)
    if not args.paths:
        raise UsageError(
            "no PATH given: name kernel images or directories, or set 'paths' in the config"
        )
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    show_info = args.show_info or args.verbose
    outcome = lint(args.paths, config, registry, args.skip_non_elf, on_skip=_skipped(args))
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
        findings,
        errors,
        checked,
        registry.rules,
        registry.profiles,
        status,
        args.show_fixes,
        show_info=show_info,
    )
    report = _report(args, result, fmt.render)
    # Text goes where the build shows it: standard output, or standard error with --stderr
    # (Kbuild's make -s sends a command's standard output to /dev/null). A machine format is
    # data: standard output or the -o file.
    text_format = args.format in TEXT_FORMATS and not args.statistics
    if text_format and args.stderr and args.output_file in (None, "-"):
        sys.stderr.write(report)
        sys.stderr.flush()
    else:
        write(report, args.output_file)
    to_file = args.output_file not in (None, "-")
    # A machine report written to a file still leaves the findings in the build or CI log.
    log_text = args.format in TEXT_FORMATS or (to_file and not args.statistics)
    if log_text:
        from xenlint.output.report import summary, text

        if args.format not in TEXT_FORMATS:
            log = sys.stderr if args.stderr else sys.stdout
            log.write(text(findings, registry.profiles, args.show_fixes, show_info=show_info))
            log.flush()
        if not args.quiet:
            print(summary(findings, files, show_info, len(errors)), file=sys.stderr)
    if files == 0 and not args.skip_non_elf:
        print("xenlint: warning: no kernel image found in the given paths", file=sys.stderr)
    return status


TEXT_FORMATS = ("text", "full")


def _skipped(args: argparse.Namespace) -> Callable[[str, str], None] | None:
    """-v says which files were not judged, and why, so a scan never hides a kernel."""
    if not args.verbose:
        return None

    def say(path: str, reason: str) -> None:
        print(f"xenlint: skipped {path}: {reason}", file=sys.stderr)

    return say


def _report(args: argparse.Namespace, run: Run, render: Callable[[Run], str]) -> str:
    """The report: --statistics, or the chosen format's rendering (xenlint_output_formats)."""
    if args.statistics:
        from xenlint.output import report

        rows = report.statistics(run.findings, run.show_info)
        if args.format == "json":
            from xenlint.output import jsontext

            return jsontext.dumps(rows) + "\n"
        return report.statistics_text(rows)
    return render(run)
