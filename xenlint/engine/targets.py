"""Turn target names from the config or command line into profiles.

`xen` is every Xen profile, `xen-4.6` the newest profile of the 4.6 series, `xen-4.10.0` that
exact release (a point release without a profile of its own maps to the one covering it),
and `xen>=4.2,<4.5` a range. Other families (loaders) contributed by plugins work the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from xenlint.abi.profile import Profile, parse_version
from xenlint.errors import XenlintError


class TargetError(XenlintError, ValueError):
    """A target name that selects nothing or cannot be read; one line."""


_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([0-9][0-9.]*)\s*$")
_NAME = re.compile(r"^([a-z][a-z0-9_]*(?:-[a-z][a-z0-9_]*)*)(?:-([0-9][0-9.]*))?$")


def _pad(version: tuple[int, ...]) -> tuple[int, ...]:
    return version + (0,) * (3 - len(version))


def families(profiles: Iterable[Profile]) -> dict[str, list[Profile]]:
    out: dict[str, list[Profile]] = {}
    for p in profiles:
        out.setdefault(p.family, []).append(p)
    for members in out.values():
        members.sort(key=lambda p: _pad(p.version))
    return out


def resolve(specs: Sequence[str], profiles: Sequence[Profile]) -> tuple[Profile, ...]:
    """Resolve target names to profiles, in family and version order, without duplicates."""
    fams = families(profiles)
    chosen: set[str] = set()
    for spec in specs:
        chosen.update(p.name for p in resolve_one(spec, fams))
    order = [p for members in fams.values() for p in members]
    return tuple(p for p in order if p.name in chosen)


def resolve_one(spec: str, fams: dict[str, list[Profile]]) -> list[Profile]:
    text = spec.strip()
    match = re.match(r"^([a-z][a-z0-9_-]*?)\s*((?:>=|<=|==|!=|>|<).*)$", text)
    if match:
        family, clauses = match.groups()
        members = _family(family, spec, fams)
        tests = []
        for clause in clauses.split(","):
            m = _CLAUSE.match(clause)
            if not m:
                raise TargetError(f"target {spec!r}: cannot read {clause.strip()!r} (use >=4.7)")
            tests.append((m.group(1), _pad(parse_version(m.group(2).rstrip(".")))))
        found = [p for p in members if _in_range(p, members, tests)]
        if not found:
            oldest = members[0]
            if _only_older(oldest.version, tests):
                raise TargetError(_predates(spec, oldest))
            raise TargetError(f"target {spec!r} matches no known {family} release")
        return found
    m = _NAME.match(text)
    if not m:
        raise TargetError(f"cannot read target {spec!r} (examples: xen, xen-4.6, xen>=4.7)")
    family, version_text = m.groups()
    members = _family(family, spec, fams)
    if version_text is None:
        return list(members)
    try:
        version = parse_version(version_text)
    except ValueError:
        raise TargetError(f"cannot read the version in target {spec!r}") from None
    return [_one(spec, version, members)]


def _span(profile: Profile, members: list[Profile]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The versions a profile stands for, [start, end): up to the next profile of its family,
    and for a family that lists every series (Xen) no further than its own series."""
    start = _pad(profile.version)
    # `members` are in version order (families()): the next profile is the first later one.
    # (Not a list of every later one: that made selecting the default targets O(n^2).)
    later = next((v for v in (_pad(p.version) for p in members) if v > start), None)
    series_end = (start[0], start[1] + 1, 0)
    if profile.covers_later:
        return start, later if later is not None else (10**9, 0, 0)
    return start, series_end if later is None else min(series_end, later)


def _in_range(
    profile: Profile, members: list[Profile], tests: list[tuple[str, tuple[int, ...]]]
) -> bool:
    """Whether some version the profile stands for satisfies every clause, so `qemu>=7.2`
    selects the profile covering 7.2 and `xen>=4.10.3` the 4.10.1 one."""
    start, end = _span(profile, members)
    low, low_strict = start, False
    high, high_strict = end, True
    for op, version in tests:
        if op == "!=":
            if _pad(profile.version) == version:
                return False
            continue
        if op in (">=", ">", "==") and (version, op == ">") > (low, low_strict):
            low, low_strict = version, op == ">"
        if op in ("<=", "<", "==") and (version, op != "<") < (high, not high_strict):
            high, high_strict = version, op == "<"
    return low < high or (low == high and not low_strict and not high_strict)


def _family(family: str, spec: str, fams: dict[str, list[Profile]]) -> list[Profile]:
    if family not in fams:
        known = ", ".join(sorted(fams)) or "none"
        raise TargetError(f"unknown target {spec!r}: no target family {family!r} (known: {known})")
    return fams[family]


def _one(spec: str, version: tuple[int, ...], members: list[Profile]) -> Profile:
    """`xen-4.6`: the newest profile of the series; `xen-4.10.3`: the profile covering it."""
    if len(version) < 3:
        series = [p for p in members if p.version[: len(version)] == version]
        if series:
            return series[-1]
    else:
        series = [p for p in members if p.version[:2] == version[:2] and p.version <= version]
        if series:
            return series[-1]
    covering = [p for p in members if p.covers_later and _pad(p.version) <= _pad(version)]
    if covering:
        return covering[-1]
    if members and members[0].covers_later and _pad(version) < _pad(members[0].version):
        raise TargetError(_predates(spec, members[0]))
    names = ", ".join(p.name for p in members)
    raise TargetError(f"unknown target {spec!r} (known: {names})")


def _only_older(oldest: tuple[int, ...], tests: list[tuple[str, tuple[int, ...]]]) -> bool:
    """Whether the clauses select only versions older than `oldest` (`firecracker<1.0`)."""
    start = _pad(oldest)
    return any(
        (op == "<" and version <= start) or (op in ("<=", "==") and version < start)
        for op, version in tests
    )


def _predates(spec: str, oldest: Profile) -> str:
    """The one line for a version older than everything a family's profiles model."""
    before = f"; {oldest.before}" if oldest.before else ""
    return (
        f"target {spec!r} predates what xenlint models for {oldest.family}: its oldest profile "
        f"is {oldest.name}, for {oldest.label} and later{before}"
    )


def collapse(selected: Iterable[Profile], universe: Sequence[Profile]) -> list[str]:
    """Names of `selected`, runs of consecutive profiles collapsed ('xen-4.0–4.3')."""
    wanted = {p.name for p in selected}
    out: list[str] = []
    for members in families(universe).values():
        run: list[Profile] = []
        for p in [*members, None]:
            if p is not None and p.name in wanted:
                run.append(p)
                continue
            if len(run) == 1:
                out.append(run[0].name)
            elif run:
                out.append(f"{run[0].name}–{run[-1].label}")
            run = []
    return out
