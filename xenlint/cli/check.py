"""`xenlint check PATH...` (also plain `xenlint PATH...`): run the rules, report findings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from xenlint.cli.inputs import expand, load_image, settings
from xenlint.cli.parser import UsageError
from xenlint.cli.stream import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, refuse_overwrite, write
from xenlint.engine.check import (
    DEFAULT_RULE_TIME_LIMIT,
    Finding,
    cells_for,
    run_rules,
    unreadable,
)
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Severity
from xenlint.image import scan
from xenlint.image.model import ImageError
from xenlint.source import kind as source_kind

if TYPE_CHECKING:
    from xenlint.output.report import Run


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Check every image named (or the config's `paths`); returns the exit status."""
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
    findings: list[Finding] = []
    errors: list[str] = []
    status = EXIT_OK
    files = 0
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    checked: list[str] = []
    disabled: set[str] = set()  # rules that misbehaved: reported once, then not run again
    sources: list[str] = []
    show_info = args.show_info or args.verbose
    named = set(args.paths)
    for path, problem in expand(args.paths, args.skip_non_elf):
        if problem is None:
            # A directory's files are judged only when they can be kernel images (issue 10:
            # not a build tree's objects, host programs, boot sectors); so are named files
            # with --skip-non-elf; other named files are checked as given.
            item = scan.classify(path, path not in named, args.skip_non_elf)
            if isinstance(item, scan.Skipped):
                _skipped(args, item.path, item.reason)
                continue
        else:
            item = scan.Candidate(path, path not in named)
        if problem is None and source_kind(path) is not None:
            files += 1
            checked.append(path)
            sources.append(path)  # checked together below: pieces of one tree
            continue
        try:
            if problem is not None:  # an entry of a directory that cannot be read
                raise ImageError(problem)
            image = load_image(path, config.max_decompressed)
        except ImageError as exc:
            files += 1
            checked.append(path)
            findings.append(unreadable(path, exc, registry.rules.get("XL000")))
            status = EXIT_ERROR
            continue
        reason = scan.guest_reason(image, item)
        if reason is not None:
            _skipped(args, path, reason)
            continue
        files += 1
        checked.append(path)
        cells = cells_for(image, config.profiles_for(image), config.modes)
        found, crashed = run_rules(
            image,
            config.rules_for(path),
            cells,
            registry.profiles,
            config.severity,
            registry.engines,
            time_limit=config.rule_time_limit or DEFAULT_RULE_TIME_LIMIT,
            disabled=disabled,
        )
        findings.extend(found)
        errors.extend(crashed)
    if sources:
        from xenlint.source.run import check_paths

        found, crashed, bad = check_paths(sources, config, registry)
        findings.extend(found)
        errors.extend(crashed)
        if bad:
            status = EXIT_ERROR
    for error in errors:
        print(f"xenlint: error: {error}", file=sys.stderr)
    if errors:
        status = EXIT_ERROR
    has_error = any(f.severity is Severity.ERROR and f.code != "XL000" for f in findings)
    if has_error and not args.exit_zero:
        status = max(status, EXIT_FINDINGS)
    from xenlint.output.report import Run

    result = Run(
        findings, errors, checked, registry.rules, registry.profiles, status, show_info=show_info
    )
    report = _report(args, result)
    # Text goes where the build shows it: standard output, or standard error with --stderr
    # (Kbuild's make -s sends a command's standard output to /dev/null). A machine format is
    # data: standard output or the -o file.
    text_format = args.format in ("text", "full") and not args.statistics
    if text_format and args.stderr and args.output_file in (None, "-"):
        sys.stderr.write(report)
        sys.stderr.flush()
    else:
        write(report, args.output_file)
    to_file = args.output_file not in (None, "-")
    # A machine report written to a file still leaves the findings in the build or CI log.
    log_text = args.format in ("text", "full") or (to_file and not args.statistics)
    if log_text:
        from xenlint.output.report import summary, text

        if args.format not in ("text", "full"):
            log = sys.stderr if args.stderr else sys.stdout
            log.write(text(findings, registry.profiles, args.show_fixes, show_info=show_info))
            log.flush()
        if not args.quiet:
            print(summary(findings, files, show_info), file=sys.stderr)
    if files == 0 and not args.skip_non_elf:
        print("xenlint: warning: no kernel image found in the given paths", file=sys.stderr)
    return status


def _skipped(args: argparse.Namespace, path: str, reason: str) -> None:
    """-v says which files were not judged, and why, so a scan never hides a kernel."""
    if args.verbose:
        print(f"xenlint: skipped {path}: {reason}", file=sys.stderr)


def _report(args: argparse.Namespace, run: Run) -> str:
    """The report in the chosen format; machine formats are imported only when chosen."""
    from xenlint.output import report

    if args.statistics:
        rows = report.statistics(run.findings, run.show_info)
        if args.format == "json":
            return json.dumps(rows, indent=2) + "\n"
        return report.statistics_text(rows)
    if args.format == "json":
        return report.as_json(run.findings, run.errors)
    if args.format in ("text", "full"):
        return report.text(
            run.findings,
            run.universe,
            args.show_fixes,
            full=args.format == "full",
            show_info=run.show_info,
        )
    from xenlint import output as reporters

    return reporters.load(args.format)(run)
