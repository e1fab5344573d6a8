"""What an output format plugin contributes (the `xenlint_output_formats` hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xenlint.record import Frozen

if TYPE_CHECKING:
    from xenlint.output.report import Run


class OutputFormat(Frozen):
    """A `xenlint check --format NAME` report.

    `render(run)` returns the whole report as text, written to standard output or the -o
    file; it is called once per run, after every file was checked. Import heavy modules inside
    `render`, not at plugin import: every plugin is imported at every start.
    """

    name: str  # the --format value: lower case, unique across plugins
    description: str  # one line for `xenlint check --help`
    render: Callable[[Run], str]

    __slots__ = ("description", "name", "render")

    def __init__(self, name: str, description: str, render: Callable[[Run], str]) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "description", description)
        set_(self, "render", render)
