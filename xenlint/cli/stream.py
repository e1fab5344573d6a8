"""Where a command's output goes: standard output, or the file named by -o."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from xenlint.abi import bzimage as B
from xenlint.abi.elf import ELF_MAGIC
from xenlint.cli.parser import UsageError
from xenlint.escape import escape

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def fail(message: str) -> int:
    """Print `message` as xenlint's one-line error on stderr; return the usage exit status."""
    print(f"xenlint: error: {escape(message)}", file=sys.stderr)
    return EXIT_ERROR


def write(output: str, output_file: str | None) -> None:
    """Standard output, or the named file; a file that cannot be written is a usage error."""
    if output_file is None or output_file == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
        return
    try:
        with open(output_file, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output_file}: {exc.strerror or exc}") from None


def refuse_overwrite(output_file: str | None, inputs: Sequence[str]) -> None:
    """-o must not destroy what it is given: not one of the inputs (under any name), nor an
    existing file that is no report (an image, any binary file, a FIFO or device)."""
    if output_file is None or output_file == "-" or not os.path.lexists(output_file):
        return
    try:
        info = os.stat(output_file)
    except OSError:
        return  # a dangling link: writing creates its target, as for a new file
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"refusing to write the report to {output_file}: not a regular file")
    for path in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, output_file):
                raise UsageError(f"refusing to write the report over {output_file}: it is an input")
    try:
        with open(output_file, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return  # unreadable: the write reports the real problem
    if b"\0" in head or head.startswith((ELF_MAGIC, *B.GZIP_MAGIC)):
        raise UsageError(
            f"refusing to write the report over {output_file}: it is a binary file, not a "
            "report (remove it first if it really is to go)"
        )
    if not is_report(head):
        raise UsageError(
            f"refusing to write the report over {output_file}: it exists and is no xenlint "
            "report or listing (remove it first, or name a new file)"
        )


# How the outputs xenlint writes begin, so that -o replaces an earlier report (CI and make
# write the same file on every run) and refuses anything else: a source file, a Makefile,
# someone's notes. tests/test_hostile_io.py writes every format and listing and checks each
# is recognised. (Patterns, not compiled objects: re compiles them on the first -o over an
# existing file, not at every start.)
_TEXT_STARTS = rb"""\A(?:
        \s*\Z                                        # a clean run's text report: empty
      | [^\n]*\bXL\d{3}\b                           # findings, github, rules, explain
      | [^\n]*:\ ELF(?:32|64)\ [^\n]*;\ Xen\ (?:reads|finds)     # notes
      | [^\n]*:\n\ {8,}pv\b                         # matrix
      | [+\ ]\ \S+\ +pv                             # targets
      | <\?xml[^>]*>\s*<testsuites\ name="xenlint"   # junit
    )"""
# JSON outputs: findings, SARIF, GitLab, notes, rules and targets name one of these early.
_JSON_MARKS = (
    rb'\A\s*\[\s*\]\s*\Z|"xenlint"|"XL\d{3}|"findings"|"byte_order"|"selected_for_pvh_elf"'
)


def is_report(head: bytes) -> bool:
    """Whether `head`, the first 4 KiB of a file, is the start of an output xenlint writes."""
    if head.lstrip()[:1] in (b"{", b"["):
        return re.search(_JSON_MARKS, head) is not None
    return re.match(_TEXT_STARTS, head, re.VERBOSE) is not None


def to_output(output_file: str | None, produce: Callable[[TextIO], int]) -> int:
    """Run `produce(out)`, which writes a listing to `out`: standard output as it goes, or,
    with -o FILE, a buffer written to FILE once the listing is complete (a listing that
    raises leaves no file). Returns what `produce` returns (an exit status)."""
    if output_file is None or output_file == "-":
        return produce(sys.stdout)
    buffer = io.StringIO()
    status = produce(buffer)
    write(buffer.getvalue(), output_file)
    return status
