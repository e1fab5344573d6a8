"""The bundled example kernels, rebuilt with the real toolchain, get the verdicts we promise."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from kernels import EXAMPLES, needs_binutils

from xenlint.cli.main import main

KERNELS = (
    "linux-pv-pvh.elf",
    "freebsd-features.elf",
    "pvh-virtual-entry.elf",
    "linux32-pv.elf",
    "netbsd-pv.elf",
    "legacy-xen-guest.elf",
)


@needs_binutils
@pytest.mark.skipif(not shutil.which("make"), reason="make not installed")
def test_examples_rebuild_byte_for_byte(tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work)
    for name in KERNELS:
        (work / name).unlink()
    subprocess.run(["make", "-s", "-C", str(work)], check=True, capture_output=True)
    for name in KERNELS:
        assert (work / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    code = main(["--isolated", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_linux_like_kernel_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = findings(capsys, str(EXAMPLES / "linux-pv-pvh.elf"))
    assert code == 0
    assert [f for f in found if f["severity"] != "info"] == []


def test_freebsd_seed_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "freebsd-features.elf")
    code, found = findings(capsys, "--target", "xen-4.0", path)
    assert code == 1
    assert any(f["code"] == "XL402" and f["severity"] == "error" for f in found)
    code, found = findings(capsys, "--target", "xen-4.2", path)
    assert any(f["code"] == "XL402" and f["severity"] == "warning" for f in found)
    code, found = findings(capsys, "--target", "xen>=4.7", path)
    assert code == 0, [f for f in found if f["severity"] == "error"]


def test_virtual_pvh_entry(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = findings(capsys, str(EXAMPLES / "pvh-virtual-entry.elf"))
    assert code == 1
    xl201 = [f for f in found if f["code"] == "XL201"]
    assert xl201 and "0x1000010" in xl201[0]["fix"]


def test_matrix_on_examples_shows_boundaries(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--isolated", "matrix", "--format", "json", str(EXAMPLES)])
    assert code == 0
    tables = {Path(t["path"]).name: t["cells"] for t in json.loads(capsys.readouterr().out)}
    fb = {(c["target"], c["mode"]): c["errors"] for c in tables["freebsd-features.elf"]}
    assert "XL402" in fb[("xen-4.1.6", "pvh")] and "XL402" not in fb[("xen-4.2.0", "pvh")]
    assert "XL103" in fb[("xen-4.6", "pvh")] and fb[("xen-4.7", "pvh")] == []
    linux = {(c["target"], c["mode"]): c["errors"] for c in tables["linux-pv-pvh.elf"]}
    assert linux[("xen-4.22", "pv")] == [] and linux[("xen-4.22", "pvh")] == []


QEMU = shutil.which("qemu-system-x86_64")


@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
@pytest.mark.parametrize(
    ("name", "boots"),
    [("linux-pv-pvh.elf", True), ("freebsd-features.elf", True), ("pvh-virtual-entry.elf", False)],
)
def test_pvh_entry_really_runs_under_qemu(name: str, boots: bool) -> None:
    """Ground truth for the PVH entry: QEMU's PVH loader starts the kernel at PHYS32_ENTRY;
    the entry writes to isa-debug-exit, so QEMU exits 33. A virtual entry never gets there."""
    assert QEMU is not None
    cmd = [QEMU, "-kernel", str(EXAMPLES / name), "-m", "64", "-display", "none"]
    cmd += ["-nodefaults", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=5)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = None
    assert (status == 33) is boots, status
