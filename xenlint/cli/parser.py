"""The `xenlint` argument parser: one argparse subparser per command, each with its own --help.

`xenlint PATH...` stays the `check` command: `split_command` finds the first positional
argument (skipping option values) and treats it as the command only if it names one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from xenlint.errors import XenlintError
from xenlint.record import Frozen

COMMANDS: dict[str, str] = {
    "check": "check kernel images (the default: 'xenlint PATH...' is 'xenlint check PATH...')",
    "rules": "list the rules",
    "explain": "what a rule checks, what each release does, how to fix it",
    "notes": "decode every Xen note of kernel images",
    "targets": "list the known targets; '*' marks the selected ones",
    "matrix": "a table of targets x modes, each cell 'ok' or the failing codes",
}
#: The listing commands' formats; check's come from the xenlint_output_formats plugins.
COMMAND_FORMATS: dict[str, tuple[str, ...]] = {"explain": ("text", "json", "markdown")}


class UsageError(XenlintError):
    """A bad command line: reported as one line, exit status 2."""


def _columns() -> int:
    """The terminal width as shutil.get_terminal_size() finds it (COLUMNS, then the
    terminal of stdout, else 80), without importing shutil on every start."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    # argparse's default width comes from shutil.get_terminal_size(), and importing shutil
    # (with its fnmatch, bz2, lzma...) costs more than the rest of argparse at start-up.
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _Option(Frozen):
    __slots__ = ("flags", "kwargs", "shown")

    flags: tuple[str, ...]
    kwargs: dict[str, Any]
    #: Commands whose --help shows the option; the others accept it (as before the split)
    #: but it changes nothing there, so their help hides it.
    shown: frozenset[str]

    def __init__(
        self, flags: tuple[str, ...], kwargs: dict[str, Any], shown: frozenset[str] | None = None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "flags", flags)
        set_(self, "kwargs", kwargs)
        set_(self, "shown", frozenset() if shown is None else shown)


_CONFIGURED = frozenset({"check", "notes", "targets", "matrix"})
_SELECTING = frozenset({"check", "matrix"})
_CHECK = frozenset({"check"})

_OPTIONS: tuple[_Option, ...] = (
    _Option(("--version",), {"action": "store_true", "help": "show version and loaded plugins"}),
    _Option(
        ("--config",),
        {"metavar": "FILE", "help": "use this config file instead of searching"},
        _CONFIGURED,
    ),
    _Option(
        ("--isolated",),
        {"action": "store_true", "help": "ignore all configuration files"},
        _CONFIGURED,
    ),
    _Option(
        ("--target",),
        {
            "action": "append",
            "metavar": "T",
            "help": "target release(s): xen, xen-4.6, xen-4.10.0, 'xen>=4.7', 'xen>=4.2,<4.5'; "
            "PVH loaders: qemu, qemu-i386, linux-loader, firecracker, cloud-hypervisor "
            "(repeatable; overrides the config)",
        },
        _CONFIGURED,
    ),
    _Option(
        ("--mode",),
        {
            "action": "append",
            "metavar": "M",
            "help": "guest mode(s): auto, pv, pvh, pv-dom0, pvh-dom0 (comma-separated or repeated)",
        },
        _CONFIGURED,
    ),
    _Option(
        ("--select",),
        {"metavar": "CODES", "help": "rules to run (codes, prefixes or names)"},
        _SELECTING,
    ),
    _Option(("--ignore",), {"metavar": "CODES", "help": "rules not to run"}, _SELECTING),
    _Option(
        ("--extend-select",),
        {"metavar": "CODES", "help": "rules to add to the selection"},
        _SELECTING,
    ),
    _Option(
        ("--format",),
        {"default": "text", "metavar": "FORMAT", "help": "output format"},
        frozenset(COMMANDS),
    ),
    _Option(
        ("-o", "--output-file"),
        {"metavar": "FILE", "help": "write the output to FILE instead of standard output"},
        frozenset(COMMANDS),
    ),
    _Option(
        ("--statistics",),
        {
            "action": "store_true",
            "help": "print the number of findings per code instead of the findings (text or json)",
        },
        _CHECK,
    ),
    _Option(
        ("--skip-non-elf",),
        {
            "action": "store_true",
            "help": "skip named files that are not kernel images (not ELF, gzip-wrapped ELF or "
            "bzImage; objects, host programs, shared objects, boot sectors) as a directory "
            "scan does (for hooks)",
        },
        _CHECK,
    ),
    _Option(
        ("--show-fixes",), {"action": "store_true", "help": "print how to fix each finding"}, _CHECK
    ),
    _Option(
        ("--show-info",),
        {
            "action": "store_true",
            "help": "also print info-level findings (always in json and sarif)",
        },
        _CHECK,
    ),
    _Option(
        ("--stderr",),
        {
            "action": "store_true",
            "help": "print the text findings on standard error, as compilers do: build tools "
            "hide standard output (Kbuild's make -s); machine formats stay on standard output",
        },
        _CHECK,
    ),
    _Option(
        ("-v", "--verbose"),
        {
            "action": "store_true",
            "help": "list the files a directory scan skips, and why (on stderr); implies "
            "--show-info",
        },
        _CHECK,
    ),
    _Option(
        ("--exit-zero",),
        {"action": "store_true", "help": "exit 0 even with error findings"},
        _CHECK,
    ),
    _Option(
        ("-q", "--quiet"), {"action": "store_true", "help": "no summary line on stderr"}, _CHECK
    ),
    _Option(
        ("--max-decompressed-size",),
        {
            "metavar": "SIZE",
            "help": "stop decompressing a gzip or bzImage kernel past SIZE bytes (e.g. 512M, 4G; "
            "default 2G)",
        },
        _CONFIGURED,
    ),
)

#: Per-command help for the options whose meaning differs between commands.
_HELP: dict[tuple[str, str], str] = {
    ("check", "--format"): "report format: text (one compiler-style line per mistake), full "
    "(text, plus what each other target range does and the fix), json, sarif (SARIF 2.1.0), "
    "sarif-github (SARIF for GitHub code scanning), github (workflow annotations), "
    "gitlab (GitLab Code Quality), junit (JUnit XML), or one a plugin adds",
    ("explain", "--format"): "output format: text, json or markdown (the docs/rules/ page)",
    ("check", "-o"): "write the report to FILE (also on failure); with a machine format the "
    "findings are still printed as text lines, for the build or CI log",
}

_POSITIONALS: dict[str, dict[str, Any]] = {
    "check": {
        "metavar": "PATH",
        "help": "kernel images or directories (default: 'paths' in the config)",
    },
    "explain": {"metavar": "CODE", "help": "a rule code or name, e.g. XL402 or feature-unknown"},
    "notes": {"metavar": "PATH", "help": "kernel images or directories"},
    "matrix": {"metavar": "PATH", "help": "kernel images or directories"},
    # rules and targets take no arguments; extra ones were always ignored, so still are.
    "rules": {"help": argparse.SUPPRESS},
    "targets": {"help": argparse.SUPPRESS},
}

_EPILOG = "Exit status: 0 clean, 1 errors found, 2 usage, config or unreadable."
_LISTING_EPILOG = "Exit status: 0 done, 2 usage, config or unreadable."


def _value_options() -> frozenset[str]:
    return frozenset(
        flag for o in _OPTIONS if o.kwargs.get("action") != "store_true" for flag in o.flags
    )


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one command (`xenlint COMMAND --help` prints its help)."""
    p = _Parser(
        prog=f"xenlint {command}",
        description=COMMANDS[command][0].upper() + COMMANDS[command][1:] + ".",
        epilog=_EPILOG if command == "check" else _LISTING_EPILOG,
    )
    _fill(p, command)
    return p


def _fill(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("paths", nargs="*", **_POSITIONALS[command])
    for option in _OPTIONS:
        kwargs = dict(option.kwargs)
        help_text = _HELP.get((command, option.flags[0]), kwargs.get("help"))
        kwargs["help"] = help_text if command in option.shown else argparse.SUPPRESS
        if option.flags == ("--format",):
            names = ", ".join(COMMAND_FORMATS.get(command, ("text", "json")))
            if (command, "--format") not in _HELP:
                kwargs["help"] = f"output format: {names}"
        p.add_argument(*option.flags, **kwargs)


def top_parser() -> argparse.ArgumentParser:
    """The `xenlint --help` parser: lists the commands, each of which has its own --help."""
    p = _Parser(
        prog="xenlint",
        usage="xenlint [check] [OPTIONS] PATH...\n       xenlint COMMAND [OPTIONS] [ARGS...]",
        description="Check the Xen boot-ABI ELF notes of guest kernel images against the Xen "
        "releases and guest modes a project targets.",
        epilog="'xenlint COMMAND --help' shows a command's options. " + _EPILOG,
    )
    p.add_argument("--version", action="store_true", help="show version and loaded plugins")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, summary in COMMANDS.items():
        _fill(sub.add_parser(name, help=summary), name)
    return p


def split_options(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(options and arguments, arguments after '--'): a '--' that is not an option's value
    ends the options, so 'xenlint -- --version' checks a file named '--version'."""
    values = _value_options()
    longs = sorted({f for o in _OPTIONS for f in o.flags if f.startswith("--")})
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return list(argv[:i]), list(argv[i + 1 :])
        if token.startswith("--") and "=" not in token:
            matches = [f for f in longs if f == token] or [f for f in longs if f.startswith(token)]
            i += len(matches) == 1 and matches[0] in values
        elif token.startswith("-") and token != "-" and not token.startswith("--"):
            for j, char in enumerate(token[1:], start=1):
                if f"-{char}" in values:
                    i += j == len(token) - 1
                    break
        i += 1
    return list(argv), []


def split_command(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """(command, its arguments) from the whole command line.

    The command is the first positional argument if it names one, else `check` with every
    argument kept as given; None when there is no positional argument but a --help (the
    top-level help). Option values are skipped ('--select rules x.elf' checks x.elf), as are
    arguments after '--' (files named like a command)."""
    values = _value_options()
    longs = sorted({f for o in _OPTIONS for f in o.flags if f.startswith("--")} | {"--help"})
    wants_help = False
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            break
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            # argparse accepts unambiguous abbreviations (--form json).
            matches = [f for f in longs if f == name] or [f for f in longs if f.startswith(name)]
            full = matches[0] if len(matches) == 1 else name
            wants_help |= full == "--help"
            if "=" not in token and full in values:
                i += 1
        elif token.startswith("-") and token != "-":
            for j, char in enumerate(token[1:], start=1):
                wants_help |= char == "h"
                if f"-{char}" in values:
                    i += j == len(token) - 1  # '-o FILE' (not '-oFILE') takes the next one
                    break
        elif token in COMMANDS:
            return token, [*argv[:i], *argv[i + 1 :]]
        else:
            return "check", list(argv)
        i += 1
    return (None if wants_help else "check"), list(argv)
