"""Reporters: findings to text or JSON. They know findings and targets, nothing of ELF."""

from __future__ import annotations

import json
from collections.abc import Sequence

from xenlint.abi.profile import Profile
from xenlint.check import Finding, target_label


def text(findings: Sequence[Finding], universe: Sequence[Profile], show_fixes: bool) -> str:
    """One compiler-style line per finding:
    `path: severity: CODE name: message [targets] (where)`."""
    lines = []
    for f in findings:
        line = f"{f.path}: {f.severity}: {f.code} {f.name}: {f.message}"
        label = target_label(f, universe)
        if label:
            line += f" [{label}]"
        if f.location is not None:
            line += f" ({f.location.describe()})"
        lines.append(line)
        if show_fixes and f.fix:
            lines.append(f"  fix: {f.fix}")
    return "\n".join(lines) + ("\n" if lines else "")


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
