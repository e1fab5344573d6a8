"""Misbehaving third-party plugins, installed for real (pip into a private path, found through
their entry points): each broken rule is reported by name and disabled, and the rest of the
run and its report survive: built-in rules, the plugin's good rule, valid JSON and SARIF on
standard output whatever the plugin prints, no clean exit status from a plugin's sys.exit(0),
a hang stopped by the rule time limit, a misspelt hook name warned about."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elfbuilder import Note, xen_kernel
from test_plugins import PIP_INSTALL, make_dist

ZOO = """
import sys, time
from xenlint import hookimpl
from xenlint.engine.rule import Location, Result, Rule, Severity


class Base(Rule):
    severity = Severity.WARNING
    summary = "a rule of the zoo"
    explanation = "Each zoo rule misbehaves in its own way."
    fix = "none"


def rule(code, name, body):
    return type(name, (Base,), {"code": code, "name": name, "check": body})()


def cell(ctx):
    return ctx.xen_cells[:1]


def spin():
    while True:
        pass


def hold_the_gil(self, ctx):
    # Only on an image of that name, so the other tests' runs are not ended by it.
    if ctx.image.path.endswith("gil.elf"):
        sum(range(10**15))  # C code that never returns to the interpreter loop
    return iter(())


BROKEN = [
    rule("XB001", "yields-a-str", lambda self, ctx: iter(["just a string"])),
    rule("XB002", "yields-none", lambda self, ctx: iter([None])),
    rule("XB003", "cells-as-string", lambda self, ctx: iter([Result("xen-4.19", "m")])),
    rule("XB004", "unhashable-message", lambda self, ctx: iter([Result(cell(ctx), ["m"])])),
    rule("XB005", "string-severity",
         lambda self, ctx: iter([Result(cell(ctx), "m", severity="error")])),
    rule("XB006", "string-offset",
         lambda self, ctx: iter([Result(cell(ctx), "m", Location(offset="0x10"))])),
    rule("XB007", "int-fix", lambda self, ctx: iter([Result(cell(ctx), "m", fix=3)])),
    rule("XB008", "exits", lambda self, ctx: sys.exit(0)),
    rule("XB009", "hangs", lambda self, ctx: time.sleep(600) or iter(())),
    rule("XB010", "spins", lambda self, ctx: spin()),
    rule("XB011", "holds-the-gil", hold_the_gil),
]


def good(self, ctx):
    print("plugin chatter on stdout")
    yield Result(cell(ctx), "the zoo's good rule fired")


class BadCode(Base):
    code = 101
    name = "int-code"


class BadSeverity(Base):
    code = "XB012"
    name = "str-severity"
    severity = "warning"


@hookimpl
def xenlint_rules():
    print("more chatter while loading")
    return [*BROKEN, rule("XB020", "good", good), BadCode(), BadSeverity()]


def xenlint_rulez():
    return []
"""

# Each broken rule's error names the rule and what it did.
EXPECTED = {
    "XB001": "not a Result",
    "XB002": "None, not a Result",
    "XB003": "cells are 'xen-4.19', not a tuple of Cells",
    "XB004": "message is ['m'], not a string",
    "XB005": "severity is 'error', not a Severity",
    "XB006": "location offset is '0x10', not a non-negative int",
    "XB007": "fix is 3, not a string",
    "XB008": "SystemExit",
    "XB009": "ran for more than 1 s",
    "XB010": "ran for more than 1 s",
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zoo")
    target = root / "site"
    dist = make_dist(root, "xenlint-zoo", "xenlint_zoo", ZOO, "zoo")
    proc = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), str(dist)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"pip install of the zoo failed: {proc.stderr[-2000:]}")
    return target


def run(
    zoo: Path, tmp_path: Path, *args: str, name: str = "k.elf"
) -> subprocess.CompletedProcess[str]:
    """xenlint with the zoo installed on an image `name` in `tmp_path`, given by absolute and
    by relative path."""
    (tmp_path / "xenlint.toml").write_text("rule-time-limit = 1\ntargets = ['xen-4.19']\n")
    image = tmp_path / name
    image.write_bytes(xen_kernel([Note(6, b"linux\0")]))  # no XEN_VERSION: XL102
    proc = subprocess.run(
        [sys.executable, "-m", "xenlint", *args, str(image), name],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(zoo)),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_broken_plugin_rules_are_named_and_disabled(zoo: Path, tmp_path: Path, fmt: str) -> None:
    proc = run(zoo, tmp_path, "--format", fmt)
    assert proc.returncode == 2  # the broken rules; never a clean pass
    report = json.loads(proc.stdout)  # no plugin chatter in it
    if fmt == "json":
        codes = {f["code"] for f in report["findings"]}
        errors = report["errors"]
    else:
        codes = {r["ruleId"] for r in report["runs"][0]["results"]}
        errors = []
    assert "XB020" in codes and any(c.startswith("XL") for c in codes)
    assert not codes & set(EXPECTED)
    stderr = proc.stderr.splitlines()
    for code, what in EXPECTED.items():
        mine = [line for line in stderr if f"rule {code} " in line]
        assert len(mine) == 1, (code, stderr)  # once, not once per image
        assert what in mine[0] and "disabled" in mine[0], mine[0]
        if fmt == "json":
            assert any(f"rule {code} " in e for e in errors)
    assert any("rule 101 has code 101, not a string" in line for line in stderr)
    assert any("XB012" in line and "severity 'warning'" in line for line in stderr)
    warning = [line for line in stderr if "xenlint_rulez" in line]
    assert warning and warning[0].startswith("xenlint: warning: ")
    assert "did you mean xenlint_rules?" in warning[0]
    assert "plugin chatter on stdout" in proc.stderr


def test_text_output_too(zoo: Path, tmp_path: Path) -> None:
    proc = run(zoo, tmp_path, "-q")
    assert proc.returncode == 2
    assert "the zoo's good rule fired" in proc.stdout
    assert all(
        line.startswith(str(tmp_path)) or line.startswith("k.elf")
        for line in proc.stdout.splitlines()
    )


def test_summary_says_the_check_is_incomplete(zoo: Path, tmp_path: Path) -> None:
    """After rules were disabled the summary counts the errors printed above it instead of
    ending a failed run with "no problems" (as it did when the other findings were info)."""
    proc = run(zoo, tmp_path, "--select", "XB")
    assert proc.returncode == 2
    last = proc.stderr.splitlines()[-1]
    disabled = sum(1 for line in proc.stderr.splitlines() if line.endswith("it is disabled"))
    assert disabled > 1, proc.stderr
    assert last.endswith(f"; incomplete: {disabled} rules disabled (see above)"), proc.stderr
    assert "no problems" not in last


def test_a_rule_stuck_in_c_holding_the_gil_ends_the_run(zoo: Path, tmp_path: Path) -> None:
    """A C loop that never returns to the interpreter (so neither the timer signal nor the
    watchdog thread runs) once hung xenlint for good; faulthandler's timeout ends it, with
    the stuck frame's file and line, a second after the watchdog's twice-the-limit."""
    start = time.monotonic()
    proc = run(zoo, tmp_path, "--select", "XB011", name="gil.elf")
    assert proc.returncode != 0
    assert time.monotonic() - start < 30
    assert "Timeout" in proc.stderr and "xenlint_zoo" in proc.stderr, proc.stderr[-2000:]
