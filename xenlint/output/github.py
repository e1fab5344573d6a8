"""GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per finding,
which the runner turns into annotations on the run and, for files in the repository, on
the file. An ELF image has no lines, so no `line=` is given (GitHub's workflow-commands docs
make `file`, `line` and `col` all optional)."""

from __future__ import annotations

from xenlint.engine.check import target_label
from xenlint.engine.rule import Severity
from xenlint.escape import escape
from xenlint.output.report import Run, visible

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(run: Run) -> str:
    lines = []
    for f in visible(run.findings, run.show_info):
        label = target_label(f, run.universe)
        message = f"{f.path}: {f.code} {f.message}"
        if label:
            message += f" [{label}]"
        if f.location is not None:
            message += f" ({f.location.describe()})"
        if f.fix.strip():
            message += f"\nfix: {f.fix.strip()}"
        props = f"title={_property(f'xenlint {f.code} ({f.name})')},file={_property(f.path)}"
        lines.append(f"::{COMMAND[f.severity]} {props}::{_data(message)}")
    lines.extend(f"::error title=xenlint internal error::{_data(e)}" for e in run.errors)
    return "\n".join(lines) + ("\n" if lines else "")


def _data(text: str) -> str:
    """Escape a command's message as the runner expects (%, CR, LF), after xenlint's own
    escaping of anything else from outside (control bytes, '::', '##[' from a file name)."""
    text = escape(text, newlines=True)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """Escape a property value: the message escapes plus ':' and ','."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")
