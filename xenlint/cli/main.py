"""The `xenlint` command: check images, list rules and targets, decode notes, show a matrix.

Each command lives in its own module (check, explain, notes, matrix, listings), imported only
when run; `xenlint.cli.parser` holds the argument parsers.

Exit status: 0 no error-severity finding, 1 at least one, 2 usage, config, plugin or
unreadable input (takes precedence; the other files are still checked).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from xenlint import __version__
from xenlint.cli.parser import (
    COMMAND_FORMATS,
    UsageError,
    command_parser,
    split_command,
    split_options,
)
from xenlint.cli.stream import EXIT_ERROR, EXIT_OK, fail, refuse_overwrite, to_output
from xenlint.engine.plugin import Registry
from xenlint.engine.plugin import load as load_plugins
from xenlint.errors import XenlintError
from xenlint.escape import escape

#: command -> (module under xenlint.cli, function(args, registry[, out]) -> exit status)
_HANDLERS: dict[str, tuple[str, str]] = {
    "check": ("check", "run"),
    "explain": ("explain", "run"),
    "rules": ("listings", "rules"),
    "targets": ("listings", "targets"),
    "notes": ("notes", "run"),
    "matrix": ("matrix", "run"),
}
#: Commands that write their own output (a report, or a file even on failure); the listings
#: write to a stream that -o points at a file.
_SELF_WRITING = ("check", "explain")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    # A run builds many small acyclic objects (a hostile image: hundreds of thousands of
    # headers and notes) and keeps most of them to the end, so the default collector
    # thresholds make it traverse the growing heap again and again (a third of such a run's
    # CPU) for almost no cycles. Collect far less often, as mypy does for the same reason.
    gc.set_threshold(100_000, 50, 100)
    # The modules, classes and ABI tables that exist now live until the process exits: frozen,
    # the collector never walks them again. Objects made later are collected as usual.
    gc.freeze()
    if sys.stdout is None:  # started with standard output closed (>&-)
        if sys.stderr is not None:
            print("xenlint: error: standard output is closed", file=sys.stderr)
        return EXIT_ERROR
    for stream in (sys.stdout, sys.stderr):
        # A strict encoding (PYTHONIOENCODING=ascii, LANG=C on old Pythons) must not turn an
        # en dash or an escaped file name into a UnicodeEncodeError traceback.
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        status = _main(args_list)
        sys.stdout.flush()
        return status
    except XenlintError as exc:  # usage, config, target: one line
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted")
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_ERROR
    except OSError as exc:  # standard output full (/dev/full) or gone
        _discard_stdout()
        return fail(f"cannot write the output: {exc.strerror or exc}")


def _discard_stdout() -> None:
    """Point standard output at the null device, so the interpreter's last flush of what is
    still buffered cannot fail again (and print a second, multi-line error)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _main(argv: list[str]) -> int:
    command, rest = split_command(argv)
    if command is None:
        from xenlint.cli.parser import top_parser

        top_parser().print_help()
        return EXIT_OK
    options, operands = split_options(rest)
    args = command_parser(command).parse_intermixed_args(options)
    args.paths = [*args.paths, *operands]
    args.command = command
    refuse_overwrite(args.output_file, args.paths)
    registry = load_plugins()
    gc.freeze()  # the plugins' modules and rules, too
    for error in registry.errors:
        print(f"xenlint: error: {escape(error)}", file=sys.stderr)
    for warning in registry.warnings:
        print(f"xenlint: warning: {escape(warning)}", file=sys.stderr)
    status = EXIT_ERROR if registry.errors else EXIT_OK
    if args.version:
        _print_version(registry)
        return status
    formats = COMMAND_FORMATS.get(command, ("text", "json"))
    if command != "check" and args.format not in formats:
        raise UsageError(f"{command} has no {args.format} format (use {', '.join(formats)})")
    module, function = _HANDLERS[command]
    handler = getattr(importlib.import_module(f"xenlint.cli.{module}"), function)
    if command in _SELF_WRITING:
        return max(status, handler(args, registry))
    listing: Callable[[argparse.Namespace, Registry, TextIO], int] = handler
    return max(status, to_output(args.output_file, lambda out: listing(args, registry, out)))


def _print_version(registry: Registry) -> None:
    print(f"xenlint {__version__}")
    by_dist: dict[tuple[str, str], list[str]] = {}
    for info in registry.plugins:
        by_dist.setdefault((info.dist, info.version), []).append(info.name)
    for (dist, version), names in by_dist.items():
        rules = [c for c, plugin in registry.rule_plugin.items() if plugin in names]
        what = f"{len(rules)} rules" if len(rules) != 1 else "1 rule"
        print(f"  plugin {dist} {version}: {what}" + (f" ({', '.join(rules)})" if rules else ""))
