"""Resolve the configuration against the loaded plugins: which rules run, at which severity,
on which targets and modes. Every name that matches nothing is an error here."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING

from xenlint.abi import notes as N
from xenlint.abi.profile import Mode, Profile
from xenlint.abi.xen import DEFAULT_TARGETS
from xenlint.config.file import Config, ConfigError, parse_size
from xenlint.engine.check import UNREADABLE, declared_modes
from xenlint.engine.options import resolve as resolve_options
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Rule, Severity
from xenlint.engine.targets import TargetError, resolve
from xenlint.image.model import Image
from xenlint.record import Record, replace

if TYPE_CHECKING:
    from pathlib import Path

AUTO = "auto"


class Settings(Record):
    __slots__ = (
        "base",
        "default_loaders",
        "max_decompressed",
        "modes",
        "paths",
        "per_file_ignores",
        "profiles",
        "rule_options",
        "rule_time_limit",
        "rules",
        "severity",
        "targets_given",
        "warnings",
    )

    rules: list[Rule]
    severity: dict[str, Severity]
    profiles: tuple[Profile, ...]
    modes: tuple[Mode, ...] | None  # None = auto
    per_file_ignores: list[tuple[str, list[Rule]]]
    base: Path | None  # directory the per-file-ignore globs are relative to
    paths: list[str]  # configured images, resolved
    max_decompressed: int | None  # decompression cap in bytes; None = default
    targets_given: bool  # targets named by the config or --target (not the default)
    rule_time_limit: float | None  # seconds per rule and image; None = the default
    # rule code -> its plugin's options (declared defaults, overridden by the config)
    rule_options: dict[str, Mapping[str, object]]
    # Without named targets: the PVH loader profiles, judged for ELF images that declare a
    # PVH entry (see `profiles_for`).
    default_loaders: tuple[Profile, ...]
    # One line each for the user: configuration that silently leaves something out.
    warnings: list[str]

    def __init__(
        self,
        rules: list[Rule],
        severity: dict[str, Severity],
        profiles: tuple[Profile, ...],
        modes: tuple[Mode, ...] | None,
        per_file_ignores: list[tuple[str, list[Rule]]] | None = None,
        base: Path | None = None,
        paths: list[str] | None = None,
        max_decompressed: int | None = None,
        targets_given: bool = False,
        rule_time_limit: float | None = None,
        rule_options: dict[str, Mapping[str, object]] | None = None,
        default_loaders: tuple[Profile, ...] = (),
        warnings: list[str] | None = None,
    ) -> None:
        self.rules = rules
        self.severity = severity
        self.profiles = profiles
        self.modes = modes
        self.per_file_ignores = list() if per_file_ignores is None else per_file_ignores
        self.base = base
        self.paths = list() if paths is None else paths
        self.max_decompressed = max_decompressed
        self.targets_given = targets_given
        self.rule_time_limit = rule_time_limit
        self.rule_options = dict() if rule_options is None else rule_options
        self.default_loaders = default_loaders
        self.warnings = list() if warnings is None else warnings

    def profiles_for(self, image: Image) -> tuple[Profile, ...]:
        """The targets an image is judged on. Named targets are used as named. The default
        is every Xen 4.x release that boots one of the modes the image declares (a PVH-only
        kernel is not judged on 4.0-4.6, which have no PVH: that is no mistake of the
        kernel's) and, for an ELF image with a PHYS32_ENTRY note, the PVH loaders that can
        boot its ELF class and machine (QEMU, linux-loader, Firecracker and Cloud Hypervisor
        boot a `vmlinux` through that note): a kernel that declares a PVH entry is meant to
        boot there, and a PV-only or wrapped kernel (bzImage, xen.gz), which these loaders do
        not boot as PVH, gets no loader findings."""
        if self.targets_given:
            return self.profiles
        # Asked for every image: the answer depends on the image only through what this key
        # holds (the modes it declares; for an ELF with a PVH entry, what _boots reads), so a
        # directory of thousands of kernels works it out a handful of times. The entry keeps
        # the profile tuples it was made from (ids name them; `profiles` may be replaced).
        pvh_elf = image.format == "elf" and image.has_note(N.PHYS32_ENTRY)
        key = (
            id(self.profiles),
            id(self.default_loaders),
            self.modes,
            declared_modes(image),
            (image.machine, image.elf_class) if pvh_elf else None,
        )
        hit = _PROFILES_FOR.get(key)
        if hit is not None and hit[0] is self.profiles and hit[1] is self.default_loaders:
            return hit[2]
        profiles = self.xen_profiles_for(image)
        if pvh_elf:
            profiles += tuple(p for p in self.default_loaders if _boots(p, image))
        if len(_PROFILES_FOR) > 256:
            _PROFILES_FOR.clear()
        _PROFILES_FOR[key] = (self.profiles, self.default_loaders, profiles)
        return profiles

    def xen_profiles_for(self, image: Image) -> tuple[Profile, ...]:
        """The configured targets, less (by default, under `auto`) the Xen releases that boot
        none of the modes the image declares; source checks use this too, so a source and
        the image built from it are judged on the same releases."""
        if self.targets_given or self.modes is not None:
            return self.profiles
        from xenlint.engine.check import declared_modes

        declared = set(declared_modes(image))
        return tuple(p for p in self.profiles if p.fixed_modes or p.modes & declared)

    def rules_for(self, path: str) -> list[Rule]:
        ignored: set[str] = set()
        for glob, rules in self.per_file_ignores:
            if _glob_matches(glob, path, self.base):
                ignored.update(r.code for r in rules)
        return [r for r in self.rules if r.code not in ignored]


class Overrides(Record):
    """Command-line values; each replaces the config's value when given."""

    __slots__ = ("extend_select", "ignore", "max_decompressed", "modes", "select", "targets")

    targets: list[str] | None
    modes: list[str] | None
    select: list[str] | None
    ignore: list[str] | None
    extend_select: list[str] | None
    max_decompressed: str | None

    def __init__(
        self,
        targets: list[str] | None = None,
        modes: list[str] | None = None,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        extend_select: list[str] | None = None,
        max_decompressed: str | None = None,
    ) -> None:
        self.targets = targets
        self.modes = modes
        self.select = select
        self.ignore = ignore
        self.extend_select = extend_select
        self.max_decompressed = max_decompressed


def build(cfg: Config, cli: Overrides, registry: Registry) -> Settings:
    merged = replace(
        cfg,
        targets=cli.targets if cli.targets is not None else cfg.targets,
        modes=cli.modes if cli.modes is not None else cfg.modes,
        select=cli.select if cli.select is not None else cfg.select,
        ignore=cli.ignore if cli.ignore is not None else cfg.ignore,
        extend_select=(cfg.extend_select + (cli.extend_select or [])),
    )
    where = cfg.where
    rules = select_rules(registry, merged.select, merged.extend_select, merged.ignore, where)
    # XL000 rides along with any selection; a selection that chooses no check is still empty.
    chosen = select_rules(
        registry, merged.select, merged.extend_select, merged.ignore, where, implicit=False
    )
    if not chosen:
        raise ConfigError(_nothing_selected(merged, cli, where))
    severity = {}
    for selector, level in merged.severity.items():
        try:
            parsed = Severity.parse(level)
        except ValueError as exc:
            raise ConfigError(f"{where}: severity.{selector}: {exc}") from None
        for rule in match_selector(registry, selector, where, "severity"):
            severity[rule.code] = parsed
    pfi = [
        (
            glob,
            [r for sel in sels for r in match_selector(registry, sel, where, "per-file-ignores")],
        )
        for glob, sels in merged.per_file_ignores.items()
    ]
    try:
        profiles = resolve(merged.targets or list(DEFAULT_TARGETS), registry.profiles)
    except TargetError as exc:
        prefix = f"{where}: " if cfg.path and cli.targets is None else ""
        raise ConfigError(f"{prefix}{exc}") from None
    modes = parse_modes(merged.modes, where)
    if modes and all(p.fixed_modes and not p.modes & set(modes) for p in profiles):
        # Only loaders targeted, none of which boots the named modes: nothing would be checked.
        named = ", ".join(str(m) for m in modes)
        booted = ", ".join(sorted({str(m) for p in profiles for m in p.modes}))
        raise ConfigError(
            f"{where}: no target boots mode {named}: the targeted loaders boot only {booted}"
        )
    warnings = _unselected_plugins(registry, merged.select, merged.ignore, rules, where)
    plugin_options = resolve_options(registry.options, cfg.plugins, f"{where}: ")
    return Settings(
        warnings=warnings,
        rule_options={
            code: plugin_options[plugin]
            for code, plugin in registry.rule_plugin.items()
            if plugin in plugin_options
        },
        rules=rules,
        severity=severity,
        profiles=profiles,
        modes=modes,
        per_file_ignores=pfi,
        base=cfg.path.parent if cfg.path else None,
        paths=cfg.resolved_paths(),
        max_decompressed=(
            parse_size(cli.max_decompressed, "--max-decompressed-size")
            if cli.max_decompressed is not None
            else cfg.max_decompressed
        ),
        targets_given=bool(merged.targets),
        default_loaders=(
            ()
            if merged.targets
            else tuple(
                p
                for p in registry.profiles
                if p.family not in {q.family for q in profiles}
                and getattr(p, "engine", None) in _pvh_note_engines()
            )
        ),
        rule_time_limit=cfg.rule_time_limit,
    )


def _nothing_selected(merged: Config, cli: Overrides, where: str) -> str:
    """'--select '' selects no rule ...': the selection as given, and where it came from."""
    given = []
    for key, values, from_cli in (
        ("select", merged.select, cli.select is not None),
        ("extend-select", merged.extend_select, bool(cli.extend_select)),
        ("ignore", merged.ignore, cli.ignore is not None),
    ):
        if values is not None and (values or key == "select"):
            source = f"--{key}" if from_cli else f"{key} in {where}"
            given.append(f"{source} {','.join(values)!r}")
    return (
        f"{' with '.join(given) or 'the selection'} leaves no rule to run "
        "(give rule codes, prefixes such as XL4, or names; see 'xenlint rules')"
    )


def _unselected_plugins(
    registry: Registry,
    select: list[str] | None,
    ignore: list[str],
    rules: list[Rule],
    where: str,
) -> list[str]:
    """A `select` that names only built-in codes (`select = ["XL"]`) turns every third-party
    plugin's rules off without a word; say so, per plugin, unless `ignore` names them."""
    if select is None:
        return []
    chosen = {r.code for r in rules}
    ignored = {r.code for sel in ignore for r in match_selector(registry, sel, where, "ignore")}
    builtin = {info.name for info in registry.plugins if info.dist == "xenlint"}
    left: dict[str, list[str]] = {}
    for code, rule in registry.rules.items():
        plugin = registry.rule_plugin.get(code, "")
        if plugin in builtin or code in chosen or code in ignored or not rule.default_enabled:
            continue
        left.setdefault(plugin, []).append(code)
    return [
        f"{where}: select leaves out the rules of plugin {plugin!r} ({', '.join(codes)}): "
        "add them to select (or extend-select), or ignore them to silence this"
        for plugin, codes in left.items()
    ]


def _pvh_note_engines() -> frozenset[str]:
    from xenlint.abi.loaders import PVH_NOTE_ENGINES

    return PVH_NOTE_ENGINES


# Settings.profiles_for's answers: key -> (the profiles and default loaders it was made from,
# the answer).
_PROFILES_FOR: dict[
    tuple[object, ...], tuple[tuple[Profile, ...], tuple[Profile, ...], tuple[Profile, ...]]
] = {}


def _boots(profile: Profile, image: Image) -> bool:
    """Whether a loader profile boots this image through its PVH note by default: QEMU and
    linux-loader based VMMs (`PVH_NOTE_ENGINES`) that take an image of this ELF class and
    machine at all (XL505 judges the others when they are named)."""
    from xenlint.abi.loaders import PVH_NOTE_ENGINES

    if getattr(profile, "engine", None) not in PVH_NOTE_ENGINES:
        return False
    machines = getattr(profile, "machines", None)
    if machines is not None and image.machine not in machines:
        return False
    return not (getattr(profile, "elf64_only", False) and image.elf_class == 32)


def parse_modes(values: list[str] | None, where: str) -> tuple[Mode, ...] | None:
    if not values or values == [AUTO]:
        return None
    modes = []
    for value in values:
        try:
            modes.append(Mode(value.strip().lower()))
        except ValueError:
            known = ", ".join([AUTO, *(m.value for m in Mode)])
            raise ConfigError(f"{where}: unknown mode {value!r} (known: {known})") from None
    return tuple(dict.fromkeys(modes))


def match_selector(registry: Registry, selector: str, where: str, key: str) -> list[Rule]:
    """Rules a selector names: a code, a code prefix ('XL2'), a rule name or ALL."""
    import difflib

    sel = selector.strip()
    if sel.upper() == "ALL":
        return list(registry.rules.values())
    by_name = registry.rule(sel)
    if by_name is not None and by_name.name == sel.lower():
        return [by_name]
    found = [r for code, r in registry.rules.items() if code.startswith(sel.upper())]
    if found and sel:
        return found
    choices = [*registry.rules, *(r.name for r in registry.rules.values())]
    hint = difflib.get_close_matches(sel, choices, n=1)
    extra = f" (did you mean {hint[0]}?)" if hint else ""
    raise ConfigError(f"{where}: {key}: unknown rule code or name {selector!r}{extra}")


def select_rules(
    registry: Registry,
    select: list[str] | None,
    extend: list[str],
    ignore: list[str],
    where: str,
    implicit: bool = True,
) -> list[Rule]:
    """ruff's precedence: a more specific selector beats a less specific one; at equal
    specificity ignore wins. Without `select`, every rule enabled by default is selected.
    With `implicit`, XL000 starts selected whatever `select` names (docs/rules/XL000.md)."""
    best: dict[str, tuple[int, bool]] = {}

    def mark(selectors: list[str], key: str, enable: bool) -> None:
        for sel in selectors:
            for rule in match_selector(registry, sel, where, key):
                if sel.upper() == "ALL":
                    rank = 0
                elif sel.lower() == rule.name or sel.upper() == rule.code:
                    rank = 99
                else:
                    rank = len(sel)
                current = best.get(rule.code)
                if current is None or rank > current[0] or (rank == current[0] and not enable):
                    best[rule.code] = (rank, enable)

    if select is None:
        for code, rule in registry.rules.items():
            if rule.default_enabled:
                best[code] = (0, True)
    else:
        # XL000 stays on whatever `select` names: a selection chooses checks, and a file that
        # could not be read was not checked at all. `ignore` and per-file-ignores still
        # drop it like any rule (docs/rules/XL000.md).
        if implicit and UNREADABLE in registry.rules:
            best[UNREADABLE] = (0, True)
        mark(select, "select", True)
    mark(extend, "extend-select", True)
    mark(ignore, "ignore", False)
    return [r for code, r in registry.rules.items() if best.get(code, (0, False))[1]]


def _glob_matches(glob: str, path: str, base: Path | None) -> bool:
    from pathlib import Path, PurePath  # only with per-file-ignores: not at start-up

    candidates = {PurePath(path).as_posix()}
    if base is not None:
        with contextlib.suppress(ValueError):
            candidates.add(Path(path).resolve().relative_to(base.resolve()).as_posix())
    if "/" not in glob:
        candidates.add(PurePath(path).name)
    return any(fnmatch.fnmatch(c, glob) for c in candidates)
