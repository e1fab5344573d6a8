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
        # What came from outside (the path, and image strings in the message, location and
        # fix) is escaped; the target label is xenlint's own and keeps its en dash
        # ('xen-4.0–4.3', which escaping the whole line turned into 'xen-4.0\u20134.3').
        label = target_label(f, run.universe)
        message = f"{escape(f.path)}: {f.code} {escape(f.message)}"
        if label:
            message += f" [{label}]"
        if f.location is not None:
            message += f" ({escape(f.location.describe())})"
        if f.fix.strip():
            message += f"\nfix: {escape(f.fix.strip(), newlines=True)}"
        props = f"title={_property(f'xenlint {f.code} ({f.name})')},file={_property(f.path)}"
        lines.append(f"::{COMMAND[f.severity]} {props}::{_runner(message)}")
    lines.extend(f"::error title=xenlint internal error::{_data(e)}" for e in run.errors)
    return "\n".join(lines) + ("\n" if lines else "")


def _data(text: str) -> str:
    """Escape a command's message as the runner expects (%, CR, LF), after xenlint's own
    escaping of anything else from outside (control bytes, '::', '##[' from a file name)."""
    return _runner(escape(text, newlines=True))


def _runner(text: str) -> str:
    """The runner's own escapes of a command's data: %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """Escape a property value: the message escapes plus ':' and ','."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")
