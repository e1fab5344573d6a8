"""Where a command's output goes: standard output, or the file named by -o."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from xenlint.cli.parser import UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def fail(message: str) -> int:
    """Print `message` as xenlint's one-line error on stderr; return the usage exit status."""
    print(f"xenlint: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def write(output: str, output_file: str | None) -> None:
    """Standard output, or the named file; a file that cannot be written is a usage error."""
    if output_file is None or output_file == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
        return
    try:
        Path(output_file).write_text(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output_file}: {exc.strerror or exc}") from None


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
