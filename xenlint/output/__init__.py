"""Machine formats for CI (SARIF, GitHub annotations), each imported only when chosen.

The plain `text` and `json` reporters live in `xenlint.output.report`; these modules are larger and
only CI runs need them, so the CLI imports one by name (`load`) instead of at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xenlint.output.report import Run

#: --format value -> (module under xenlint.output, function taking a Run)
FORMATS: dict[str, tuple[str, str]] = {
    "sarif": ("sarif", "render"),
    "sarif-github": ("sarif", "render_github"),
    "github": ("github", "render"),
}


def load(fmt: str) -> Callable[[Run], str]:
    module, function = FORMATS[fmt]
    return getattr(importlib.import_module(f"xenlint.output.{module}"), function)  # type: ignore[no-any-return]
