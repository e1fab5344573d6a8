"""contrib/cmake/Xenlint.cmake with real CMake (Makefile and Ninja generators) on a tiny
kernel assembled and linked by the gcc driver: the build fails on a broken kernel, a failed
check runs again on the next build, a clean kernel builds, warn-only builds anyway."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from kernels import DEFAULT_BASE, PHYSICAL_LD, XEN_NOTE_MACRO
from test_make import BROKEN_ENTRY, CLEAN_ENTRY, KERNEL

XENLINT_BIN = Path(sys.executable).parent / "xenlint"
GENERATORS = [
    pytest.param("Unix Makefiles", marks=[]),
    pytest.param(
        "Ninja", marks=pytest.mark.skipif(shutil.which("ninja") is None, reason="no ninja")
    ),
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc (the ASM driver) not installed"),
    pytest.mark.skipif(not XENLINT_BIN.exists(), reason=f"no xenlint script at {XENLINT_BIN}"),
]

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.17)
project(tiny ASM)
list(APPEND CMAKE_MODULE_PATH "{module_dir}")
include(Xenlint)

add_executable(kernel kernel.S)
set_target_properties(kernel PROPERTIES
    SUFFIX ".elf" LINK_DEPENDS "${{CMAKE_SOURCE_DIR}}/kernel.ld")
target_link_options(kernel PRIVATE -nostdlib -static -no-pie
    -Wl,-n,--build-id=none,-z,noexecstack -T "${{CMAKE_SOURCE_DIR}}/kernel.ld")
xenlint_check(TARGET kernel CONFIG xenlint.toml OUTPUT_FILE kernel.sarif FORMAT sarif)
"""


def write_kernel(source_dir: Path, entry: str) -> None:
    (source_dir / "kernel.S").write_text(XEN_NOTE_MACRO + KERNEL.format(entry=entry))


@pytest.fixture(params=GENERATORS)
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    src, build = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS.format(module_dir=ROOT / "contrib" / "cmake"))
    (src / "kernel.ld").write_text(PHYSICAL_LD.format(fmt="elf64-x86-64", base=DEFAULT_BASE))
    (src / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    write_kernel(src, CLEAN_ENTRY)
    configure(src, build, "-G", request.param)
    return src, build


def configure(src: Path, build: Path, *args: str) -> None:
    proc = subprocess.run(
        ["cmake", "-S", str(src), "-B", str(build), f"-DXENLINT_EXECUTABLE={XENLINT_BIN}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def build_(build: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["cmake", "--build", str(build)], capture_output=True, text=True, timeout=120
    )
    proc.stdout += proc.stderr
    return proc


def test_cmake_check_gates_the_build(project: tuple[Path, Path]) -> None:
    src, build = project
    stamp = build / "kernel.xenlint.stamp"
    first = build_(build)
    assert first.returncode == 0, first.stdout
    assert "XENLINT kernel" in first.stdout
    assert stamp.exists()
    assert json.loads((build / "kernel.sarif").read_text())["runs"][0]["results"] == []
    assert "XENLINT" not in build_(build).stdout  # up to date: not checked again

    write_kernel(src, BROKEN_ENTRY)
    broken = build_(build)
    assert broken.returncode != 0
    assert "kernel.elf: error: XL202 phys32-entry-outside-image" in broken.stdout
    assert not stamp.exists()
    assert (build / "kernel.elf").exists()  # the image stays, for inspection
    sarif = json.loads((build / "kernel.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"XL202"}

    # Nothing changed, but the failed check is not forgotten: it runs (and fails) again.
    again = build_(build)
    assert again.returncode != 0
    assert "XL202" in again.stdout
    assert "Linking" not in again.stdout  # the kernel itself was not rebuilt

    # Relaxing the config re-runs the check (CONFIG is a dependency) and passes.
    (src / "xenlint.toml").write_text(
        'targets = ["xen>=4.7"]\nmodes = ["pvh"]\nignore = ["XL202"]\n'
    )
    relaxed = build_(build)
    assert relaxed.returncode == 0, relaxed.stdout
    assert stamp.exists()

    (src / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    write_kernel(src, CLEAN_ENTRY)
    fixed = build_(build)
    assert fixed.returncode == 0, fixed.stdout
    assert "XENLINT kernel" in fixed.stdout


def test_cmake_warn_only(project: tuple[Path, Path]) -> None:
    src, build = project
    configure(src, build, "-DXENLINT_WARN_ONLY=ON")
    write_kernel(src, BROKEN_ENTRY)
    warned = build_(build)
    assert warned.returncode == 0, warned.stdout
    assert "kernel.elf: error: XL202" in warned.stdout


def test_cmake_without_xenlint(tmp_path: Path) -> None:
    """A project without xenlint installed configures with one message and builds the kernel
    unchecked; XENLINT_REQUIRED makes the missing program a configure error."""
    bare = "/usr/bin:/bin"
    if shutil.which("xenlint", path=bare):
        pytest.skip(f"xenlint is installed in {bare}")
    src, build = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS.format(module_dir=ROOT / "contrib" / "cmake"))
    (src / "kernel.ld").write_text(PHYSICAL_LD.format(fmt="elf64-x86-64", base=DEFAULT_BASE))
    (src / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    write_kernel(src, BROKEN_ENTRY)
    env = {"PATH": bare, "HOME": str(tmp_path)}

    def cmake(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["cmake", *args], capture_output=True, text=True, timeout=120, env=env
        )
        proc.stdout += proc.stderr
        return proc

    configured = cmake("-S", str(src), "-B", str(build))
    assert configured.returncode == 0, configured.stdout
    assert configured.stdout.count("xenlint not found") == 1
    assert "-- xenlint not found: kernel is not checked (-DXENLINT_REQUIRED=ON to require it)" in (
        configured.stdout
    )
    built = cmake("--build", str(build))
    assert built.returncode == 0, built.stdout
    assert (build / "kernel.elf").exists() and "XENLINT" not in built.stdout

    required = cmake("-S", str(src), "-B", str(tmp_path / "required"), "-DXENLINT_REQUIRED=ON")
    assert required.returncode != 0
    assert "xenlint not found, and XENLINT_REQUIRED is set" in required.stdout
