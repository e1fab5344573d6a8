"""xenlint's public API: everything a plugin or a script may import, in one module.

Plugins subclass `Rule`, yield `Result`s from `Rule.check(ctx: Context)` and register with
`@hookimpl` (see `xenlint.engine.hookspecs` for every hook). Scripts call `check()`.
Names not listed in `__all__` (here or elsewhere in the package) may change without notice.
Third-party rule codes use a prefix of their own, never `XL` (README, "Writing a plugin").
The value classes (`Image`, `Result`, `Finding`, `Location`, ...) are plain `__slots__`
classes, not dataclasses (xenlint.record says why): copy one with changes with `replace`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from xenlint import __version__, hookimpl
from xenlint.abi.profile import Mode, Profile
from xenlint.engine.check import Finding
from xenlint.engine.formats import OutputFormat
from xenlint.engine.options import Option
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.errors import XenlintError
from xenlint.image.format import ImageFormat
from xenlint.image.model import Image, ImageError
from xenlint.image.read import load_image
from xenlint.output.report import Run
from xenlint.record import replace

__all__ = [
    "Cell",
    "Context",
    "Finding",
    "Image",
    "ImageError",
    "ImageFormat",
    "Location",
    "Mode",
    "Option",
    "OutputFormat",
    "Profile",
    "Result",
    "Rule",
    "Run",
    "Severity",
    "XenlintError",
    "__version__",
    "check",
    "hookimpl",
    "load_image",
    "replace",
]


def check(
    paths: Iterable[str | os.PathLike[str]],
    targets: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> list[Finding]:
    """Lint kernel images the way `xenlint check` does and return the findings.

    `paths` are image files or directories (every ELF, gzip-compressed ELF, bzImage or image of
    a plugin's format below them). `targets` and `modes` take the command line's spellings
    (["xen>=4.7", "qemu"], ["pv", "pvh"]); None means the config's, else the defaults (every Xen
    release, the modes each image declares). `select`/`ignore` are rule codes, prefixes or
    names. No config file is read unless `config` names one (a pyproject.toml or xenlint.toml),
    as `--isolated`.

    An unreadable image is an XL000 finding, as on the command line. Raises XenlintError
    (one line) for an unknown target, mode or rule, a bad config file, a plugin that failed to
    load, or a rule that raised.
    """
    from xenlint.config.file import Config, load
    from xenlint.config.settings import Overrides, build
    from xenlint.engine.plugin import load as load_plugins
    from xenlint.session import lint

    registry = load_plugins()
    if registry.errors:
        raise XenlintError(registry.errors[0])
    cfg = load(Path(config)) if config is not None else Config()
    overrides = Overrides(
        targets=list(targets) if targets is not None else None,
        modes=list(modes) if modes is not None else None,
        select=list(select) if select is not None else None,
        ignore=list(ignore) if ignore is not None else None,
    )
    settings = build(cfg, overrides, registry)
    # No timer signal (rule-time-limit only if the config sets one): a library may run in
    # any thread, where SIGALRM cannot be used.
    outcome = lint([os.fspath(p) for p in paths], settings, registry, time_limit=None)
    if outcome.errors:
        raise XenlintError(outcome.errors[0])
    return outcome.findings
