"""Reporters: findings to text or JSON. They know findings and targets, nothing of ELF."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xenlint.abi.profile import Profile
from xenlint.engine.check import Finding, target_label
from xenlint.engine.rule import Rule
from xenlint.escape import escape


@dataclass(frozen=True)
class Run:
    """One `xenlint check` as the machine reporters see it."""

    findings: Sequence[Finding]
    errors: Sequence[str]  # one line each: rules that crashed
    files: Sequence[str]  # every path checked, in order
    rules: Mapping[str, Rule]  # every registered rule, by code
    universe: Sequence[Profile]  # every known target, for collapsing target lists
    exit_status: int
    show_fixes: bool = False  # --show-fixes: text lines carry each finding's fix

    def label(self, finding: Finding) -> str:
        """The finding's targets and modes as text prints them: 'xen-4.0–4.3; pv, pvh'
        (ranges of consecutive releases collapsed; empty for XL000)."""
        return target_label(finding, self.universe)


def text(findings: Sequence[Finding], universe: Sequence[Profile], show_fixes: bool) -> str:
    """One compiler-style line per finding:
    `path: severity: CODE name: message [targets] (where)`."""
    lines = []
    for f in findings:
        line = f"{escape(f.path)}{_position(f)}: {f.severity}: {f.code} {f.name}: {f.message}"
        label = target_label(f, universe)
        if label:
            line += f" [{label}]"
        if f.location is not None:
            line += f" ({f.location.describe()})"
        lines.append(line)
        if show_fixes and f.fix.strip():
            # Multi-line fixes stay under their finding, indented past "  fix: ".
            lines.append("  fix: " + f.fix.strip().replace("\n", "\n       "))
    return "\n".join(lines) + ("\n" if lines else "")


def _position(f: Finding) -> str:
    """`:line:column` for a finding in a source file, as GCC prints it; empty for images."""
    loc = f.location
    if loc is None or loc.line is None:
        return ""
    return f":{loc.line}:{loc.column or 1}"


def as_json(findings: Sequence[Finding], errors: Sequence[str] = ()) -> str:
    payload = {
        "version": 1,
        "findings": [f.as_dict() for f in findings],
        "errors": list(errors),
    }
    return json.dumps(payload, indent=2) + "\n"


def summary(findings: Sequence[Finding], files: int) -> str:
    counts = {s: sum(1 for f in findings if str(f.severity) == s) for s in ("error", "warning")}
    counts["info"] = len(findings) - counts["error"] - counts["warning"]
    parts = [f"{n} {name}{'s' if n != 1 else ''}" for name, n in counts.items() if n]
    checked = f"{files} file{'s' if files != 1 else ''}"
    return f"xenlint: {', '.join(parts) or 'no problems'} in {checked}"


def statistics(findings: Sequence[Finding]) -> list[dict[str, object]]:
    """Findings per code, most frequent first (ties in code order), like ruff --statistics;
    `severity` is the worst one the code was reported at."""
    counts: dict[str, int] = {}
    worst: dict[str, Finding] = {}
    for f in findings:
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
