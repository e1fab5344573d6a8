"""Load rule and target plugins from the `xenlint` entry-point group with pluggy.

Entry points are loaded one by one rather than with `load_setuptools_entrypoints`, so a
broken plugin is reported by name and the others still load (conventions.md §1.8).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import pluggy

from xenlint.abi.loaders import LoaderProfile
from xenlint.abi.profile import Profile
from xenlint.engine import discovery, hookspecs
from xenlint.engine.discovery import EntryPoint
from xenlint.engine.formats import OutputFormat
from xenlint.engine.options import TYPES, Option
from xenlint.engine.rule import Rule, Severity
from xenlint.image.format import ImageFormat
from xenlint.record import Frozen, Record
from xenlint.replay.engines import LoaderEngine

GROUP = "xenlint"
PREFIX = "xenlint_"


class _Manager(pluggy.PluginManager):
    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        # Only `xenlint_*` attributes can be hooks, as pytest does with `pytest_*`.
        if not name.startswith(PREFIX):
            return None
        return super().parse_hookimpl_opts(plugin, name)


class PluginInfo(Frozen):
    __slots__ = ("dist", "name", "version")

    name: str  # entry-point name
    dist: str
    version: str

    def __init__(self, name: str, dist: str, version: str) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "dist", dist)
        set_(self, "version", version)


class Registry(Record):
    """Everything the plugins contributed, validated."""

    __slots__ = (
        "engines",
        "errors",
        "image_formats",
        "manager",
        "options",
        "output_formats",
        "plugins",
        "profiles",
        "rule_plugin",
        "rules",
        "warnings",
    )

    manager: pluggy.PluginManager
    plugins: list[PluginInfo]
    rules: dict[str, Rule]  # by code, in code order
    rule_plugin: dict[str, str]  # code -> plugin name
    profiles: list[Profile]
    engines: dict[str, LoaderEngine]  # by name
    errors: list[str]
    warnings: list[str]  # one line each, the run goes on
    output_formats: dict[str, OutputFormat]  # by --format name
    image_formats: list[ImageFormat]  # in the order asked
    options: dict[str, list[Option]]  # plugin name -> options

    def __init__(
        self,
        manager: pluggy.PluginManager,
        plugins: list[PluginInfo] | None = None,
        rules: dict[str, Rule] | None = None,
        rule_plugin: dict[str, str] | None = None,
        profiles: list[Profile] | None = None,
        engines: dict[str, LoaderEngine] | None = None,
        errors: list[str] | None = None,
        warnings: list[str] | None = None,
        output_formats: dict[str, OutputFormat] | None = None,
        image_formats: list[ImageFormat] | None = None,
        options: dict[str, list[Option]] | None = None,
    ) -> None:
        self.manager = manager
        self.plugins = list() if plugins is None else plugins
        self.rules = dict() if rules is None else rules
        self.rule_plugin = dict() if rule_plugin is None else rule_plugin
        self.profiles = list() if profiles is None else profiles
        self.engines = dict() if engines is None else engines
        self.errors = list() if errors is None else errors
        self.warnings = list() if warnings is None else warnings
        self.output_formats = dict() if output_formats is None else output_formats
        self.image_formats = list() if image_formats is None else image_formats
        self.options = dict() if options is None else options

    def rule(self, code_or_name: str) -> Rule | None:
        key = code_or_name.strip()
        if key.upper() in self.rules:
            return self.rules[key.upper()]
        return next((r for r in self.rules.values() if r.name == key.lower()), None)


def _entry_points() -> list[tuple[EntryPoint, str, str]]:
    """The `xenlint` entry points with their distribution's name and version, built-ins
    first, then by distribution and name so the order does not depend on sys.path (found
    by importlib.metadata, memoised: see xenlint.engine.discovery)."""
    return discovery.entry_points()


def load(extra: list[tuple[str, object]] | None = None) -> Registry:
    """Load every plugin; errors are collected in `Registry.errors`, one line each."""
    pm = _Manager("xenlint")
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm)
    # Plugin code (imports, hooks) runs with standard output sent to standard error: a
    # plugin's print() must not land in a JSON or SARIF report on standard output. One
    # redirection for the whole loading, not one per plugin and hook.
    with contextlib.redirect_stdout(sys.stderr):
        _load_all(registry, extra)
    return registry


def _load_all(registry: Registry, extra: list[tuple[str, object]] | None) -> None:
    pm = registry.manager
    known = {n for n in dir(hookspecs) if n.startswith(PREFIX)}
    for ep, dist, version in _entry_points():
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
            registry.warnings.extend(_unknown_hooks(module, ep.name, dist, known))
        except (Exception, SystemExit) as exc:  # foreign code's failure is reported, not raised
            registry.errors.append(
                f'failed to load plugin "{ep.name}" from {dist} {version}: '
                f"{type(exc).__name__}: {exc}"
            )
            continue
        registry.plugins.append(PluginInfo(ep.name, dist, version))
    for name, obj in extra or []:
        pm.register(obj, name=name)
        registry.plugins.append(PluginInfo(name, "<local>", ""))
    _collect(registry)


def _unknown_hooks(module: object, name: str, dist: str, known: set[str]) -> list[str]:
    """A `xenlint_*` attribute that is no hook (not in `known`) is most likely a typo
    (`xenlint_rulez`) that would leave the plugin silently inert."""
    found = []
    for attr in sorted(a for a in dir(module) if a.startswith(PREFIX) and a not in known):
        if callable(getattr(module, attr, None)):
            import difflib  # only for a typo: difflib costs a millisecond of every start-up

            close = difflib.get_close_matches(attr, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            found.append(
                f'plugin "{name}" from {dist} defines {attr}, which is no xenlint hook{hint}; '
                f"it is never called (hooks: {', '.join(sorted(known))})"
            )
    return found


def _collect(registry: Registry) -> None:
    pm = registry.manager
    rules: dict[str, Rule] = {}
    names: dict[str, str] = {}
    for impl in pm.hook.xenlint_rules.get_hookimpls():  # registration order: first wins
        contributed = _call(registry, impl, "xenlint_rules")
        for rule in contributed:
            problem = _rule_problem(rule)
            if problem:
                registry.errors.append(f'plugin "{impl.plugin_name}": {problem}')
                continue
            if rule.code in rules:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": rule code {rule.code} is already defined '
                    f'by plugin "{registry.rule_plugin[rule.code]}"; the second one is refused'
                )
                continue
            if rule.name in names:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": rule name {rule.name} is already used by '
                    f"{names[rule.name]}; the second one is refused"
                )
                continue
            rules[rule.code] = rule
            names[rule.name] = rule.code
            registry.rule_plugin[rule.code] = impl.plugin_name
    registry.rules = dict(sorted(rules.items()))
    for impl in pm.hook.xenlint_loader_engines.get_hookimpls():
        engines = _call(registry, impl, "xenlint_loader_engines")
        for engine in engines:
            if not isinstance(engine, LoaderEngine) or not getattr(engine, "name", None):
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": {engine!r} is no named '
                    "xenlint.replay.engines.LoaderEngine"
                )
            elif engine.name in registry.engines:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": loader engine {engine.name} is already '
                    "registered; the second one is refused"
                )
            else:
                registry.engines[engine.name] = engine
    seen: set[str] = set()
    for impl in pm.hook.xenlint_targets.get_hookimpls():
        contributed = _call(registry, impl, "xenlint_targets")
        for profile in contributed:
            if not isinstance(profile, Profile):
                registry.errors.append(f'plugin "{impl.plugin_name}": {profile!r} is no Profile')
            elif profile.name in seen:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": target {profile.name} is already defined'
                )
            elif isinstance(profile, LoaderProfile) and profile.engine not in registry.engines:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": target {profile.name} names loader engine '
                    f"{profile.engine!r}, which no plugin registers"
                )
            else:
                seen.add(profile.name)
                registry.profiles.append(profile)
    for impl in pm.hook.xenlint_output_formats.get_hookimpls():
        for fmt in _call(registry, impl, "xenlint_output_formats"):
            if not isinstance(fmt, OutputFormat):
                registry.errors.append(f'plugin "{impl.plugin_name}": {fmt!r} is no OutputFormat')
            elif fmt.name in registry.output_formats:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": output format {fmt.name} is already defined'
                )
            else:
                registry.output_formats[fmt.name] = fmt
    image_names: set[str] = set()
    for impl in pm.hook.xenlint_image_formats.get_hookimpls():
        for image_format in _call(registry, impl, "xenlint_image_formats"):
            if not isinstance(image_format, ImageFormat):
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": {image_format!r} is no ImageFormat'
                )
            elif image_format.name in image_names:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": image format {image_format.name} is already '
                    "defined"
                )
            else:
                image_names.add(image_format.name)
                registry.image_formats.append(image_format)
    for impl in pm.hook.xenlint_options.get_hookimpls():
        declared = registry.options.setdefault(impl.plugin_name, [])
        for option in _call(registry, impl, "xenlint_options"):
            if not isinstance(option, Option) or option.type not in TYPES:
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": {option!r} is no Option of a type in '
                    f"{', '.join(TYPES)}"
                )
            elif any(o.name == option.name for o in declared):
                registry.errors.append(
                    f'plugin "{impl.plugin_name}": option {option.name} is declared twice'
                )
            else:
                declared.append(option)


def _short(value: object, limit: int = 80) -> str:
    """repr() of a plugin's value, cut short (a plugin's object may print anything)."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ is the plugin's, not a reason to stop
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call(registry: Registry, impl: Any, hook: str) -> list[Any]:
    try:
        found = impl.function()
        if found is None:
            return []
        if isinstance(found, (str, bytes)) or not hasattr(found, "__iter__"):
            registry.errors.append(
                f'plugin "{impl.plugin_name}" returned {_short(found)} from {hook}, not a list'
            )
            return []
        return list(found)
    except (Exception, SystemExit) as exc:
        registry.errors.append(
            f'plugin "{impl.plugin_name}" failed in {hook}: {type(exc).__name__}: {exc}'
        )
        return []


def _rule_problem(rule: object) -> str | None:
    if not isinstance(rule, Rule):
        return f"{_short(rule)} is not a xenlint.engine.rule.Rule"
    for attr in ("code", "name", "summary", "explanation", "fix"):
        value = getattr(rule, attr, None)
        if not isinstance(value, str):
            what = f"no {attr}" if value is None else f"{attr} {_short(value)}, not a string"
            return f"rule {_short(getattr(rule, 'code', rule))} has {what}"
        if not value.strip():
            return f"rule {_short(getattr(rule, 'code', rule))} has an empty {attr}"
    if not isinstance(getattr(rule, "severity", None), Severity):
        return (
            f"rule {rule.code!r} has severity {_short(getattr(rule, 'severity', None))}, "
            "not a xenlint.engine.rule.Severity"
        )
    if not callable(getattr(rule, "check", None)):
        return f"rule {rule.code!r} has no check method"
    code = rule.code
    if not (code[:1].isalpha() and code.isupper() and any(c.isdigit() for c in code)):
        return f"rule code {code!r} must be capital letters followed by digits (like XL402)"
    return None
