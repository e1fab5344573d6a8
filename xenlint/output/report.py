"""Reporters: findings to text or JSON. They know findings and targets, nothing of ELF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xenlint.abi.profile import Profile
from xenlint.engine.check import Finding, target_label
from xenlint.engine.rule import Rule, Severity
from xenlint.escape import escape
from xenlint.record import Frozen


class Run(Frozen):
    """One `xenlint check` as the machine reporters see it."""

    __slots__ = (
        "errors",
        "exit_status",
        "files",
        "findings",
        "rules",
        "show_fixes",
        "show_info",
        "universe",
    )

    findings: Sequence[Finding]
    errors: Sequence[str]  # one line each: rules that crashed
    files: Sequence[str]  # every path checked, in order
    rules: Mapping[str, Rule]  # every registered rule, by code
    universe: Sequence[Profile]  # every known target, for collapsing target lists
    exit_status: int
    show_fixes: bool  # --show-fixes: text lines carry each finding's fix
    show_info: bool  # whether the human formats (text, github) print info findings

    def __init__(
        self,
        findings: Sequence[Finding],
        errors: Sequence[str],
        files: Sequence[str],
        rules: Mapping[str, Rule],
        universe: Sequence[Profile],
        exit_status: int,
        show_fixes: bool = False,
        show_info: bool = True,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "findings", findings)
        set_(self, "errors", errors)
        set_(self, "files", files)
        set_(self, "rules", rules)
        set_(self, "universe", universe)
        set_(self, "exit_status", exit_status)
        set_(self, "show_fixes", show_fixes)
        set_(self, "show_info", show_info)

    def label(self, finding: Finding) -> str:
        """The finding's targets and modes as text prints them: 'xen-4.0–4.3; pv, pvh'
        (ranges of consecutive releases collapsed; empty for XL000)."""
        return target_label(finding, self.universe)


class Mistake(Frozen):
    """One line of the text report: every finding of one rule at one place of one file.

    A rule judges each (target, mode) cell on its own, and its message can say what each
    release does (refuse the kernel, start it at a wrong address), so one mistake comes back
    as several findings whose wording differs by target range. The text report shows one
    line per mistake; the per-range findings stay in `findings` (and in JSON and SARIF,
    which report every finding)."""

    __slots__ = ("findings",)

    findings: tuple[Finding, ...]  # the headline first: most severe, then newest target

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        object.__setattr__(self, "findings", findings)

    @property
    def headline(self) -> Finding:
        return self.findings[0]

    @property
    def severity(self) -> Severity:
        return self.headline.severity

    @property
    def fixes(self) -> list[str]:
        """The distinct fixes, the headline's first."""
        return list(dict.fromkeys(f.fix.strip() for f in self.findings if f.fix.strip()))

    def variants(self) -> list[tuple[Severity, str, list[Finding]]]:
        """(severity, message, findings) per distinct statement, the headline's first: findings
        that say the same thing on different modes are one statement."""
        out: dict[tuple[Severity, str], list[Finding]] = {}
        for f in self.findings:
            out.setdefault((f.severity, f.message), []).append(f)
        return [(sev, message, fs) for (sev, message), fs in out.items()]


def mistakes(findings: Sequence[Finding], universe: Sequence[Profile]) -> list[Mistake]:
    """Group findings by (path, code, location), in the order of their first finding (the
    check sorts most severe first). Within a group the headline is the most severe finding;
    among equals, the one of the first target family (Xen before the PVH loaders) that
    reaches the newest version of it: what current releases do is what readers need first."""
    rank = {p.name: i for i, p in enumerate(universe)}
    family_rank: dict[str, int] = {}
    for p in universe:
        family_rank.setdefault(p.family, len(family_rank))
    family_of = {p.name: p.family for p in universe}

    def order(f: Finding) -> tuple[int, int, int]:
        known = [t for t in f.targets if t in rank]
        if not known:
            return (-f.severity, 0, 0)
        first = min(family_rank[family_of[t]] for t in known)
        newest = max(rank[t] for t in known if family_rank[family_of[t]] == first)
        return (-f.severity, first, -newest)

    groups: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.path, f.code, f.location), []).append(f)
    return [Mistake(tuple(sorted(fs, key=order))) for fs in groups.values()]


def visible(findings: Sequence[Finding], show_info: bool) -> list[Finding]:
    """The findings a person reads: info-level ones only when asked for (`--show-info`, `-v`).
    Info findings say that something is fine as it is (Xen reads a padded string as meant,
    QEMU boots a bzImage another way); printed on every link of a good kernel they teach
    people to skip the lines. JSON and SARIF carry them always."""
    return [f for f in findings if show_info or f.severity is not Severity.INFO]


def _label(fs: Sequence[Finding], universe: Sequence[Profile]) -> str:
    """'xen-4.0–4.6; pv, pvh' for findings that share a message; their target lists differ
    only by mode set, so they are joined with 'and'."""
    return " and ".join(dict.fromkeys(label for f in fs if (label := target_label(f, universe))))


def text(
    findings: Sequence[Finding],
    universe: Sequence[Profile],
    show_fixes: bool = False,
    *,
    full: bool = False,
    show_info: bool = False,
) -> str:
    """One compiler-style line per mistake:
    `path: severity: CODE name: message [targets; modes] (where)`, the message of the most
    severe, newest-target finding. When other target ranges get another message (a release
    that refuses the kernel beside one that starts it at a wrong address), they are named
    after it: `[also xen-4.7–4.15; pvh: see --format full]`. `full` prints each of those
    messages on its own `  also TARGETS: message` line instead; `show_fixes` (or `full`)
    adds the `  fix:` line(s). Info-level findings are left out unless `show_info`."""
    lines = []
    for mistake in mistakes(visible(findings, show_info), universe):
        head = mistake.headline
        (sev, message, same), *others = mistake.variants()
        line = f"{escape(head.path)}{_position(head)}: {sev}: {head.code} {head.name}: {message}"
        label = _label(same, universe)
        if label:
            line += f" [{label}]"
        if others and not full:
            line += f" [also {_also(others, sev, label, universe)}: see --format full]"
        if head.location is not None:
            line += f" ({head.location.describe()})"
        lines.append(line)
        if full:
            for o_sev, o_message, fs in others:
                lines.append(f"  also {_other(o_sev, fs, sev, universe)}: {o_message}")
        if show_fixes or full:
            for fix in mistake.fixes:
                # Multi-line fixes stay under their finding, indented past "  fix: ".
                lines.append("  fix: " + fix.replace("\n", "\n       "))
    return "\n".join(lines) + ("\n" if lines else "")


MAX_ALSO = 4  # target ranges named after the headline before '...'


def _also(
    others: Sequence[tuple[Severity, str, list[Finding]]],
    head: Severity,
    head_label: str,
    universe: Sequence[Profile],
) -> str:
    """The other ranges, each once: a FEATURES note naming 40 unknown features is one line
    whose other messages share two ranges, not a line listing 40 copies of them. Another
    message on the headline's own targets is said so, not named by those targets again
    (`[xen-3.1; pv] [also xen-3.1; pv: ...]` read as a duplicate)."""
    same = "the same targets"
    labels = list(
        dict.fromkeys(
            same if label == head_label else label
            for label in (_other(sev, fs, head, universe) for sev, _, fs in others)
        )
    )
    shown = "; ".join(labels[:MAX_ALSO]) + ("; ..." if len(labels) > MAX_ALSO else "")
    if len(others) > len(labels):
        return f"{len(others)} other messages on {shown}"
    return shown


def _other(
    sev: Severity, fs: Sequence[Finding], head: Severity, universe: Sequence[Profile]
) -> str:
    label = _label(fs, universe) or "other targets"
    return label if sev is head else f"{label} ({sev})"


def _position(f: Finding) -> str:
    """`:line:column` for a finding in a source file, as GCC prints it; empty for images."""
    loc = f.location
    if loc is None or loc.line is None:
        return ""
    return f":{loc.line}:{loc.column or 1}"


def as_json(findings: Sequence[Finding], errors: Sequence[str] = ()) -> str:
    from xenlint.output import jsontext

    payload = {
        "version": 1,
        "findings": [f.as_dict() for f in findings],
        "errors": list(errors),
    }
    return jsontext.dumps(payload) + "\n"


def summary(
    findings: Sequence[Finding], files: int, show_info: bool = False, errors: int = 0
) -> str:
    """`xenlint: 1 error, 2 warnings in 3 files`, counting mistakes (the text report's
    lines), not per-target findings; info-level ones left out of the report are counted as
    hidden, so `--show-info` is discoverable. `errors`: how many run errors (a rule that
    failed or ran out of time and was disabled) were printed above; then the check is
    incomplete, and the line does not say "no problems"."""
    shown = mistakes(visible(findings, show_info), ())
    counts = {s: sum(1 for m in shown if str(m.severity) == s) for s in ("error", "warning")}
    counts["info"] = len(shown) - counts["error"] - counts["warning"]
    parts = [f"{n} {name}{'s' if n != 1 else ''}" for name, n in counts.items() if n]
    checked = f"{files} file{'s' if files != 1 else ''}"
    nothing = "no findings" if errors else "no problems"
    line = f"xenlint: {', '.join(parts) or nothing} in {checked}"
    hidden = len(mistakes(findings, ())) - len(shown)
    if hidden:
        line += f" ({hidden} info not shown: --show-info)"
    if errors:
        line += f"; incomplete: {errors} rule{'s' if errors != 1 else ''} disabled (see above)"
    return line


def statistics(findings: Sequence[Finding], show_info: bool = False) -> list[dict[str, object]]:
    """Mistakes (text report lines) per code, most frequent first (ties in code order), like
    ruff --statistics; `severity` is the worst one the code was reported at. Info-level
    findings count only with `show_info`, as in the text report."""
    counts: dict[str, int] = {}
    worst: dict[str, Finding] = {}
    for m in mistakes(visible(findings, show_info), ()):
        f = m.headline
        counts[f.code] = counts.get(f.code, 0) + 1
        if f.code not in worst or f.severity > worst[f.code].severity:
            worst[f.code] = f
    order = sorted(counts, key=lambda code: (-counts[code], code))
    return [
        {
            "code": code,
            "name": worst[code].name,
            "severity": str(worst[code].severity),
            "count": counts[code],
        }
        for code in order
    ]


def statistics_text(rows: Sequence[Mapping[str, object]]) -> str:
    """`count  CODE   name  worst-severity`, one aligned line per code."""
    if not rows:
        return ""
    width = max(len(str(r["count"])) for r in rows)
    name_width = max(len(str(r["name"])) for r in rows)
    lines = [
        f"{r['count']!s:>{width}}  {r['code']!s:<6} {r['name']!s:<{name_width}}  {r['severity']}"
        for r in rows
    ]
    return "\n".join(lines) + "\n"
