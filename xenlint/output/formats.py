"""The built-in report formats, registered through the `xenlint_output_formats` hook exactly
as a third-party format is (pyproject.toml: `output-formats = "xenlint.output.formats"`).

Each renderer imports its module when called, so start-up pays for none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenlint import hookimpl
from xenlint.engine.formats import OutputFormat

if TYPE_CHECKING:  # every plugin is imported at start-up; the report code only when used
    from xenlint.output.report import Run


def _text(run: Run) -> str:
    from xenlint.output.report import text

    return text(run.findings, run.universe, run.show_fixes, show_info=run.show_info)


def _full(run: Run) -> str:
    from xenlint.output.report import text

    return text(run.findings, run.universe, True, full=True, show_info=run.show_info)


def _json(run: Run) -> str:
    from xenlint.output.report import as_json

    return as_json(run.findings, run.errors)


def _sarif(run: Run) -> str:
    from xenlint.output.sarif import render

    return render(run)


def _sarif_github(run: Run) -> str:
    from xenlint.output.sarif import render_github

    return render_github(run)


def _github(run: Run) -> str:
    from xenlint.output.github import render

    return render(run)


def _gitlab(run: Run) -> str:
    from xenlint.output.gitlab import render

    return render(run)


def _junit(run: Run) -> str:
    from xenlint.output.junit import render

    return render(run)


@hookimpl
def xenlint_output_formats() -> list[OutputFormat]:
    return [
        OutputFormat("text", "compiler-style lines, one per mistake", _text),
        OutputFormat("full", "the text lines with each target range's message and the fix", _full),
        OutputFormat("json", "xenlint's JSON report (docs/schemas)", _json),
        OutputFormat("sarif", "SARIF 2.1.0", _sarif),
        OutputFormat("sarif-github", "SARIF for GitHub code scanning", _sarif_github),
        OutputFormat("github", "GitHub workflow annotations", _github),
        OutputFormat("gitlab", "GitLab Code Quality JSON", _gitlab),
        OutputFormat("junit", "JUnit XML (Jenkins, GitLab test reports)", _junit),
    ]
