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
    from xenlint.engine.rule import Rule
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
