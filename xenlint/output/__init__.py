"""Reports: the built-in formats (`xenlint.output.formats`, registered through the
`xenlint_output_formats` hook like a plugin's), text/json helpers, SARIF, GitHub, GitLab, JUnit.
"""

from __future__ import annotations

from collections.abc import Callable

from xenlint.output.report import Run


def load(fmt: str) -> Callable[[Run], str]:
    """The built-in renderer of `fmt` (KeyError for another name)."""
    from xenlint.output.formats import xenlint_output_formats

    return {f.name: f.render for f in xenlint_output_formats()}[fmt]
