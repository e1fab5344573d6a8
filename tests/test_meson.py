"""The README's Meson recipe, built with real meson and ninja on a tiny kernel assembled
and linked by the gcc driver: the build fails on a broken kernel, the failed check runs again
on the next build, and a clean kernel builds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from kernels import DEFAULT_BASE, PHYSICAL_LD, XEN_NOTE_MACRO
from test_make import BROKEN_ENTRY, CLEAN_ENTRY, KERNEL

BIN = Path(sys.executable).parent
MESON = shutil.which("meson") or (str(BIN / "meson") if (BIN / "meson").exists() else None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MESON is None, reason="meson not installed (it is in the test extra)"),
    pytest.mark.skipif(shutil.which("ninja") is None, reason="ninja not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc (the assembler driver) missing"),
    pytest.mark.skipif(not (BIN / "xenlint").exists(), reason=f"no xenlint script in {BIN}"),
]

PROLOGUE = """\
project('tiny', 'c')
kernel = executable('kernel.elf', 'kernel.S',
  link_args: ['-nostdlib', '-static', '-no-pie', '-Wl,-n,--build-id=none,-z,noexecstack',
              '-T', meson.current_source_dir() / 'kernel.ld'],
  link_depends: 'kernel.ld')
"""


# What the README's Meson section says to put in meson_options.txt.
OPTIONS = "option('xenlint', type: 'feature')\n"


def readme_recipe() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```meson\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) == 1, "the README has one Meson recipe"
    return blocks[0]


def ninja(build: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ninja", "-C", str(build)], capture_output=True, text=True, timeout=120)
    proc.stdout += proc.stderr
    return proc


def test_readme_meson_recipe(tmp_path: Path) -> None:
    src, build = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    (src / "meson.build").write_text(PROLOGUE + readme_recipe())
    (src / "meson_options.txt").write_text(OPTIONS)
    (src / "kernel.ld").write_text(PHYSICAL_LD.format(fmt="elf64-x86-64", base=DEFAULT_BASE))
    (src / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    kernel = src / "kernel.S"
    kernel.write_text(XEN_NOTE_MACRO + KERNEL.format(entry=CLEAN_ENTRY))
    env_path = f"{BIN}:{Path(shutil.which('ninja') or 'ninja').parent}"
    setup = subprocess.run(
        [str(MESON), "setup", str(build), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": env_path + ":/usr/bin:/bin"},
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    report = build / "kernel-xenlint.sarif"

    clean = ninja(build)
    assert clean.returncode == 0, clean.stdout
    assert json.loads(report.read_text())["runs"][0]["results"] == []

    kernel.write_text(XEN_NOTE_MACRO + KERNEL.format(entry=BROKEN_ENTRY))
    broken = ninja(build)
    assert broken.returncode != 0
    assert "kernel.elf: error: XL202 phys32-entry-outside-image" in broken.stdout
    assert {r["ruleId"] for r in json.loads(report.read_text())["runs"][0]["results"]} == {"XL202"}
    again = ninja(build)  # the failed check was not recorded as done
    assert again.returncode != 0 and "XL202" in again.stdout

    kernel.write_text(XEN_NOTE_MACRO + KERNEL.format(entry=CLEAN_ENTRY))
    fixed = ninja(build)
    assert fixed.returncode == 0, fixed.stdout
    assert "no work to do" in ninja(build).stdout


def test_readme_meson_recipe_without_xenlint(tmp_path: Path) -> None:
    """Without xenlint the project sets up with one message and the kernel builds unchecked;
    -Dxenlint=enabled makes the missing program a setup error."""
    ninja_dir = Path(shutil.which("ninja") or "ninja").parent
    env_path = f"{ninja_dir}:/usr/bin:/bin"
    if shutil.which("xenlint", path=env_path):
        pytest.skip(f"xenlint is installed in {env_path}")
    src = tmp_path / "src"
    src.mkdir()
    (src / "meson.build").write_text(PROLOGUE + readme_recipe())
    (src / "meson_options.txt").write_text(OPTIONS)
    (src / "kernel.ld").write_text(PHYSICAL_LD.format(fmt="elf64-x86-64", base=DEFAULT_BASE))
    (src / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    (src / "kernel.S").write_text(XEN_NOTE_MACRO + KERNEL.format(entry=BROKEN_ENTRY))

    def setup(build: Path, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(MESON), "setup", str(build), str(src), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": env_path},
        )
        proc.stdout += proc.stderr
        return proc

    build = tmp_path / "build"
    plain = setup(build)
    assert plain.returncode == 0, plain.stdout
    assert "Message: xenlint not found: the kernel is not checked" in plain.stdout
    built = ninja(build)
    assert built.returncode == 0, built.stdout
    assert (build / "kernel.elf").exists() and not (build / "kernel-xenlint.sarif").exists()

    required = setup(tmp_path / "required", "-Dxenlint=enabled")
    assert required.returncode != 0 and "xenlint" in required.stdout
