"""The hooks a xenlint plugin can implement. Every hook is named `xenlint_*`.

A plugin is a module (or object) registered under the `xenlint` entry-point group, for example::

    [project.entry-points.xenlint]
    mycheck = "xenlint_mycheck"

and implements hooks with the marker `xenlint.hookimpl`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from xenlint.abi.profile import Profile
    from xenlint.engine.formats import OutputFormat
    from xenlint.engine.options import Option
    from xenlint.engine.rule import Rule
    from xenlint.image.format import ImageFormat
    from xenlint.replay.engines import LoaderEngine

hookspec = pluggy.HookspecMarker("xenlint")


@hookspec
def xenlint_rules() -> list[Rule]:  # type: ignore[empty-body]
    """Return the rules this plugin contributes.

    Each is a `xenlint.engine.rule.Rule` instance with a code unique across all plugins, a
    kebab-case name, a default severity, a summary, an explanation and a fix, and a
    `check(ctx)` method yielding `xenlint.engine.rule.Result` objects for the (target, mode)
    cells it judges.
    """


@hookspec
def xenlint_targets() -> list[Profile]:  # type: ignore[empty-body]
    """Return the target profiles this plugin contributes (hypervisor releases, loaders).

    Profile names must be unique; a family (the part before the version, e.g. "xen") groups
    profiles for range selectors such as `xen>=4.7`.
    """


@hookspec
def xenlint_loader_engines() -> list[LoaderEngine]:  # type: ignore[empty-body]
    """Return the loader replay engines this plugin contributes.

    Each is a `xenlint.replay.engines.LoaderEngine` instance whose `name` is unique across
    all plugins; its `read(image, profile)` replays one loader on an image and returns a
    `xenlint.replay.pvh.Reading` (the entry it boots, or the `Failure` that stops it). A
    target profile (`xenlint_targets`) selects it with `LoaderProfile(engine=<name>, ...)`;
    a profile naming an engine no plugin registers is refused. Set `reads_pvh_note = False`
    for a loader that does not boot the kernel through its PHYS32_ENTRY note: the PVH-note
    rules then leave it alone and XL514 reports its verdict.
    """


@hookspec
def xenlint_output_formats() -> list[OutputFormat]:  # type: ignore[empty-body]
    """Return the report formats this plugin adds to `xenlint check --format`.

    Each is a `xenlint.api.OutputFormat(name, description, render)`: `name` is the --format
    value (unique across plugins; a clash is a plugin error), `render(run)` takes a
    `xenlint.api.Run` (findings, crashed-rule errors, files checked, rules, targets, exit
    status) and returns the whole report as text, which goes to standard output or the
    `-o` file. The built-in text, json, sarif, sarif-github, github, gitlab and junit formats
    are registered this way (`xenlint.output.formats`).

    :return: the formats, in the order `--help` lists them.
    """


@hookspec
def xenlint_image_formats() -> list[ImageFormat]:  # type: ignore[empty-body]
    """Return the file formats this plugin can read kernel images from.

    Each is a `xenlint.api.ImageFormat(name, description, sniff, load)`. For every file the
    formats are asked in registration order (built-ins first: ELF, bzImage, gzip-compressed
    ELF) whether `sniff(head)` claims it, `head` being the file's first `HEAD_BYTES` bytes
    (fewer for a short file); the first that does `load(path, max_decompressed)`s it and
    returns a `xenlint.api.Image` (typically `xenlint.api.load_image` on the ELF inside,
    given an `origin` such as "xz"), or raises `xenlint.api.ImageError` with a one-line
    reason, which becomes an XL000 finding.

    :return: the formats this plugin reads.
    """


@hookspec
def xenlint_options() -> list[Option]:  # type: ignore[empty-body]
    """Return the configuration options this plugin's rules read.

    Each is a `xenlint.api.Option(name, type, default, help)`. A project sets them in the
    table named after the plugin's entry point, `[tool.xenlint.plugins.NAME]` in
    pyproject.toml or `[plugins.NAME]` in xenlint.toml, found like every other setting
    (`--config`, `--isolated`, $XENLINT_CONFIG). Unknown keys, values of the wrong type and
    tables of plugins that declare no options are configuration errors (one line, exit 2).
    Rules read the values, defaults filled in, as `ctx.options[name]`.

    :return: the options this plugin declares.
    """
