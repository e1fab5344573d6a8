"""The full matrix (every Xen release x pv, pvh, pv-dom0, pvh-dom0) of each example kernel,
held as a table in tests/matrix/. A change in the ABI data or a rule shows up here as a diff
to review; regenerate with XENLINT_UPDATE_MATRIX=1 after checking the change is intended."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kernels import EXAMPLES

from xenlint.cli.main import main

TABLES = Path(__file__).parent / "matrix"
KERNELS = sorted(p.name for p in EXAMPLES.glob("*.elf"))


def matrix(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    main(
        ["--isolated", "matrix", "--target", "xen", "--mode", "pv,pvh,pv-dom0,pvh-dom0", str(path)]
    )
    out = capsys.readouterr().out
    return out.split("\n", 1)[1]  # drop the "path:" line


@pytest.mark.parametrize("name", KERNELS)
def test_example_matrix(capsys: pytest.CaptureFixture[str], name: str) -> None:
    got = matrix(capsys, EXAMPLES / name)
    table = TABLES / f"{name}.txt"
    if os.environ.get("XENLINT_UPDATE_MATRIX"):
        TABLES.mkdir(exist_ok=True)
        table.write_text(got)
    assert got == table.read_text(), f"matrix of {name} changed; review and regenerate"


def test_every_example_has_a_table() -> None:
    assert sorted(p.name[: -len(".txt")] for p in TABLES.glob("*.txt")) == KERNELS


def test_tables_hold_every_release_and_mode() -> None:
    for table in TABLES.glob("*.txt"):
        lines = table.read_text().splitlines()
        assert lines[0].split() == ["pv", "pvh", "pv-dom0", "pvh-dom0"], table.name
        assert [line.split()[0] for line in lines[1:]][:2] == ["xen-3.1", "xen-3.2"]
        assert lines[-1].split()[0] == "xen-4.22"
