"""Every `console` sample in the README is real output: each `$ xenlint ...` command is run
from the repository root and its standard output compared with the sample (a line `...`
stands for any number of lines). The `$ make -s` samples of the Kbuild section are compared
by tests/test_kbuild.py, which produces them under the real Kbuild; no other kind of sample
may appear, so none can go stale unnoticed. The loader matrix of `build/later-note-segment.elf`
(a kernel the tests build) is checked row by row by
tests/test_loader_rules.py::test_readme_matrix_sample_is_real."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
from conftest import ROOT

README = ROOT / "README.md"


def samples() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ ` line of every console block."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), re.DOTALL):
        command, lines = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    out.append((command, lines))
                command, lines = line[2:], []
            else:
                lines.append(line)
        if command is not None:
            out.append((command, lines))
    return out


def matches(expected: list[str], got: list[str]) -> bool:
    """Line by line (trailing blanks aside); a line that is `...` (indented or not) matches
    any run of lines."""
    if not expected:
        return not got
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, got[i:]) for i in range(len(got) + 1))
    return bool(got) and got[0].rstrip() == head.rstrip() and matches(rest, got[1:])


# Produced elsewhere: tests/test_loader_rules.py builds this kernel and checks the rows.
ELSEWHERE = {"xenlint matrix build/later-note-segment.elf"}
XENLINT_SAMPLES = [
    (c, e)
    for c, e in samples()
    if c.startswith("xenlint ") and c.split("#")[0].strip() not in ELSEWHERE
]


def test_every_sample_is_produced_somewhere() -> None:
    commands = [c for c, _ in samples()]
    assert XENLINT_SAMPLES, "the README has xenlint samples"
    others = [c for c in commands if not c.startswith("xenlint ")]
    # tests/test_kbuild.py produces the make -s samples, tests/test_extensions.py the API example's.
    assert set(others) <= {"make -s", "python examples/api_check.py"}, others


@pytest.mark.parametrize(
    ("command", "expected"), XENLINT_SAMPLES, ids=[c for c, _ in XENLINT_SAMPLES]
)
def test_readme_sample(command: str, expected: list[str]) -> None:
    argv = shlex.split(command, comments=True)[1:]
    env = {k: v for k, v in os.environ.items() if k != "XENLINT_CONFIG"}
    proc = subprocess.run(
        [sys.executable, "-m", "xenlint", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    got = proc.stdout.splitlines()
    assert matches(expected, got), "\n".join([f"$ {command}", *got])
