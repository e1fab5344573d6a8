"""Lint an example kernel from Python and print one line per error finding."""

from xenlint.api import Severity, check

findings = check(["examples/freebsd-features.elf"], targets=["xen>=4.0,<4.8"], modes=["pvh"])
for f in findings:
    if f.severity is Severity.ERROR:
        print(f.code, f.name, f.targets[0], "...", f.targets[-1])
