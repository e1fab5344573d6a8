"""Run the selected rules over one image and turn their per-cell results into findings."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from xenlint.abi import notes as N
from xenlint.abi.profile import MODE_ORDER, Mode, Profile
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.engine.targets import collapse
from xenlint.image.model import Image, ImageError
from xenlint.replay.engines import LoaderEngine

UNREADABLE = "XL000"
# A real kernel has a few dozen notes, so a rule yields at most a few hundred results on it.
# A hostile image with 65536 notes (libelf's own cap) would make a per-note rule yield
# millions across all cells; past this many results the rule's output is cut short.
MAX_RESULTS_PER_RULE = 5000


@dataclass(frozen=True)
class Finding:
    path: str
    code: str
    name: str
    severity: Severity
    message: str
    targets: tuple[str, ...]  # target names, collapsed into ranges for display by reporters
    modes: tuple[str, ...]
    location: Location | None
    fix: str
    cells: tuple[Cell, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "message": self.message,
            "targets": list(self.targets),
            "modes": list(self.modes),
            "location": self.location.as_dict() if self.location else None,
            "fix": self.fix,
        }


class RuleCrash(Exception):
    """A rule raised; reported as an internal error naming the rule, never a traceback."""


def declared_modes(image: Image) -> tuple[Mode, ...]:
    """The domU modes an image declares (`auto`): PVH with PHYS32_ENTRY; PV with PV notes,
    `__xen_guest`, or no PHYS32_ENTRY at all."""
    pvh = image.has_note(N.PHYS32_ENTRY)
    pv_notes = any(image.has_note(t) for t in N.PV_DECLARING) or image.xen_guest is not None
    modes = []
    if pv_notes or not pvh:
        modes.append(Mode.PV)
    if pvh:
        modes.append(Mode.PVH)
    return tuple(modes)


def cells_for(
    image: Image, profiles: Sequence[Profile], modes: Sequence[Mode] | None
) -> list[Cell]:
    """Named modes are checked on every target; `auto` checks the declared modes on the
    targets that have them, and all of them on a target that has none."""
    cells = []
    wanted = tuple(modes) if modes else declared_modes(image)
    for profile in profiles:
        if profile.fixed_modes:
            chosen = [m for m in profile.modes if not modes or m in modes]
        else:
            chosen = [m for m in wanted if modes or m in profile.modes] or list(wanted)
        cells.extend(Cell(profile, m) for m in MODE_ORDER if m in chosen)
    return cells


def run_rules(
    image: Image,
    rules: Iterable[Rule],
    cells: Sequence[Cell],
    universe: Sequence[Profile],
    severity: dict[str, Severity] | None = None,
    engines: Mapping[str, LoaderEngine] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Findings for one image, plus one-line errors for rules that crashed. `engines`: the
    registered loader replay engines (None: the built-in ones)."""
    ctx = Context(image, cells, engines)
    findings: list[Finding] = []
    errors: list[str] = []
    for rule in rules:
        try:
            results = list(itertools.islice(rule.check(ctx), MAX_RESULTS_PER_RULE + 1))
        except Exception as exc:  # a plugin bug must not hide the other rules' findings
            errors.append(
                f"rule {rule.code} ({rule.name}) failed on {image.path}: "
                f"{type(exc).__name__}: {exc}"
            )
            continue
        if len(results) > MAX_RESULTS_PER_RULE:
            results[-1] = Result(
                ctx.cells,
                f"more than {MAX_RESULTS_PER_RULE} results for this image; the rest are not "
                "reported (an image this broken is probably not a kernel)",
                severity=Severity.INFO,
            )
        if image.origin:
            results = [_with_origin(res, image.origin) for res in results]
        findings.extend(merge(image.path, rule, results, universe, severity or {}))
    findings.sort(key=_order)
    return findings, errors


def _order(f: Finding) -> tuple[int, str, int]:
    """Most severe first, then by code, then by file offset (findings without one first)."""
    offset = f.location.offset if f.location is not None else None
    return (-f.severity, f.code, -1 if offset is None else offset)


def _with_origin(res: Result, origin: str) -> Result:
    """Findings on a wrapped image say where its ELF came from (offsets are in that ELF)."""
    return replace(res, location=replace(res.location or Location(), origin=origin))


def merge(
    path: str,
    rule: Rule,
    results: Iterable[Result],
    universe: Sequence[Profile],
    overrides: dict[str, Severity],
) -> list[Finding]:
    """Merge equal results across cells; split so each finding's targets × modes is exact."""
    groups: dict[tuple[object, ...], list[Cell]] = {}
    seen: dict[tuple[object, ...], set[tuple[str, Mode]]] = {}
    for res in results:
        sev = overrides.get(rule.code, res.severity if res.severity is not None else rule.severity)
        key = (res.message, res.location, sev, res.fix or rule.fix)
        cells = groups.setdefault(key, [])
        known = seen.setdefault(key, set())
        for cell in res.cells:
            # by name and mode: comparing whole Cells compares every profile field (slow with
            # all releases x modes, as the libelf differential runs)
            if (cell.profile.name, cell.mode) not in known:
                known.add((cell.profile.name, cell.mode))
                cells.append(cell)
    findings = []
    for (message, location, sev, fix), cells in groups.items():
        by_profile: dict[str, list[Cell]] = {}
        for cell in cells:
            by_profile.setdefault(cell.profile.name, []).append(cell)
        buckets: dict[tuple[Mode, ...], list[Cell]] = {}
        for profile_cells in by_profile.values():
            modes = tuple(m for m in MODE_ORDER if any(c.mode is m for c in profile_cells))
            buckets.setdefault(modes, []).extend(profile_cells)
        for modes, bucket in buckets.items():
            profiles = list({c.profile.name: c.profile for c in bucket}.values())
            findings.append(
                Finding(
                    path=path,
                    code=rule.code,
                    name=rule.name,
                    severity=sev,  # type: ignore[arg-type]
                    message=message,  # type: ignore[arg-type]
                    targets=tuple(p.name for p in profiles),
                    modes=tuple(m.value for m in modes),
                    location=location,  # type: ignore[arg-type]
                    fix=fix,  # type: ignore[arg-type]
                    cells=tuple(bucket),
                )
            )
    return findings


def unreadable(path: str, error: ImageError, rule: Rule | None) -> Finding:
    return Finding(
        path=path,
        code=UNREADABLE,
        name=rule.name if rule else "image-unreadable",
        severity=Severity.ERROR,
        message=str(error),
        targets=(),
        modes=(),
        location=None,
        fix=rule.fix if rule else "",
    )


def target_label(finding: Finding, universe: Sequence[Profile]) -> str:
    """'xen-4.0–4.3; pv, pvh' for text output."""
    chosen = [p for p in universe if p.name in finding.targets]
    names = ", ".join(collapse(chosen, universe))
    return f"{names}; {', '.join(finding.modes)}" if finding.modes else names
