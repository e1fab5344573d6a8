"""GitLab Code Quality report: a JSON array of issues, one per finding.

GitLab's "Code Quality report format" (docs.gitlab.com, ci/testing/code_quality) requires per
issue `description`, `check_name`, `fingerprint` (unique per issue), `severity` (one of info,
minor, major, critical, blocker), `location.path` and `location.lines.begin`. An ELF image has
no lines, so every issue is on line 1, as sarif-github does for GitHub.
"""

from __future__ import annotations

import hashlib

from xenlint.engine.rule import Severity
from xenlint.output import jsontext
from xenlint.output.report import Run

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def render(run: Run) -> str:
    """The report as GitLab's `artifacts:reports:codequality` expects it."""
    issues = []
    seen: set[str] = set()
    for f in run.findings:
        description = f"{f.code} {f.message}"
        label = run.label(f)
        if label:
            description += f" [{label}]"
        if f.location is not None:
            description += f" ({f.location.describe()})"
        key = "\0".join((f.path, f.code, description))
        # A file name that is not UTF-8 holds surrogates (PEP 383): hash its real bytes.
        fingerprint = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        if fingerprint in seen:  # GitLab requires unique fingerprints; equal issues are one
            continue
        seen.add(fingerprint)
        issues.append(
            {
                "description": description,
                "check_name": f"{f.code} {f.name}",
                "fingerprint": fingerprint,
                "severity": SEVERITY[f.severity],
                "location": {"path": f.path, "lines": {"begin": 1}},
            }
        )
    return jsontext.dumps(issues) + "\n"
