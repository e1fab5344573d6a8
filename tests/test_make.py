"""contrib/make/xenlint.mk and contrib/linux/Makefile.postlink, run by real GNU make on tiny
kernels assembled and linked with `as`/`ld`: a broken kernel fails the build (and is deleted
by .DELETE_ON_ERROR), a clean one builds, and warn-only mode builds anyway."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from kernels import DEFAULT_BASE, PHYSICAL_LD, XEN_NOTE_MACRO, needs_binutils

pytestmark = [
    pytest.mark.slow,
    needs_binutils,
    pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed"),
]

XENLINT_MK = ROOT / "contrib" / "make" / "xenlint.mk"
POSTLINK = ROOT / "contrib" / "linux" / "Makefile.postlink"
XENLINT = f"{shlex.quote(sys.executable)} -m xenlint"

KERNEL = """
    .code32
    .text
    .globl _start
_start:
    hlt
    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
    xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, {entry}
"""
CLEAN_ENTRY = "_start"
BROKEN_ENTRY = "0x7fff0000"  # far outside the image: XL202 on every PVH release

PROJECT_MAKEFILE = """\
include {mk}
{delete_on_error}

kernel.elf: kernel.o kernel.ld
\tld -m elf_x86_64 -n --build-id=none -z noexecstack -T kernel.ld -o $@ kernel.o
\t$(call cmd,xenlint)

kernel.o: kernel.S
\tas --64 -o $@ $<
"""


def write_kernel(directory: Path, entry: str) -> None:
    source = directory / "kernel.S"
    text = XEN_NOTE_MACRO + KERNEL.format(entry=entry)
    if not source.exists() or source.read_text() != text:
        source.write_text(text)
    ld = directory / "kernel.ld"
    if not ld.exists():
        ld.write_text(PHYSICAL_LD.format(fmt="elf64-x86-64", base=DEFAULT_BASE))


def make(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = "--isolated --target 'xen>=4.7' --mode pvh"
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(directory),
            f"XENLINT={XENLINT}",
            f"XENLINT_FLAGS={flags}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(
        PROJECT_MAKEFILE.format(mk=XENLINT_MK, delete_on_error=".DELETE_ON_ERROR:")
    )
    return tmp_path


def test_clean_kernel_builds(project: Path) -> None:
    write_kernel(project, CLEAN_ENTRY)
    build = make(project)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "  XENLINT kernel.elf\n" in build.stdout
    assert build.stderr == ""  # quiet when clean
    assert (project / "kernel.elf").is_file()
    again = make(project)
    assert again.returncode == 0 and "XENLINT" not in again.stdout  # up to date


def test_broken_kernel_fails_and_is_deleted(project: Path) -> None:
    write_kernel(project, BROKEN_ENTRY)
    build = make(project)
    assert build.returncode != 0
    assert "  XENLINT kernel.elf\n" in build.stdout
    # The finding and its fix on stderr, where make -s does not hide them.
    assert "kernel.elf: error: XL202 phys32-entry-outside-image: PHYS32_ENTRY 0x7fff0000" in (
        build.stderr
    )
    assert "\n  fix: set PHYS32_ENTRY to the physical address of the 32-bit entry code" in (
        build.stderr
    )
    # .DELETE_ON_ERROR: no half-built image is left to be mistaken for a good one ...
    assert "Deleting file 'kernel.elf'" in build.stderr
    assert not (project / "kernel.elf").exists()
    # ... so the next make relinks and checks again rather than calling it up to date.
    again = make(project)
    assert again.returncode != 0 and "XL202" in again.stderr
    # Fix the source: the next make links, checks and succeeds.
    write_kernel(project, CLEAN_ENTRY)
    fixed = make(project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_without_delete_on_error_a_failed_check_is_forgotten(tmp_path: Path) -> None:
    """Why the snippet asks for .DELETE_ON_ERROR: without it the broken image stays and
    the next make trusts it."""
    (tmp_path / "Makefile").write_text(PROJECT_MAKEFILE.format(mk=XENLINT_MK, delete_on_error=""))
    write_kernel(tmp_path, BROKEN_ENTRY)
    assert make(tmp_path).returncode != 0
    assert (tmp_path / "kernel.elf").is_file()
    again = make(tmp_path)
    assert again.returncode == 0 and "XENLINT" not in again.stdout


def test_warn_only_reports_and_continues(project: Path) -> None:
    write_kernel(project, BROKEN_ENTRY)
    build = make(project, "XENLINT_WARN_ONLY=1")
    assert build.returncode == 0, build.stderr
    assert "kernel.elf: error: XL202" in build.stderr
    assert (project / "kernel.elf").is_file()


def test_skip_and_verbosity(project: Path) -> None:
    write_kernel(project, BROKEN_ENTRY)
    skipped = make(project, "XENLINT_SKIP=1")
    assert skipped.returncode == 0 and "XENLINT" not in skipped.stdout
    (project / "kernel.elf").unlink()
    verbose = make(project, "V=1")
    assert verbose.returncode != 0
    assert (
        "--isolated --target 'xen>=4.7' --mode pvh --show-fixes --stderr --quiet kernel.elf"
        in verbose.stdout
    )
    (project / "kernel.o").unlink()
    silent = make(project, "-s", "XENLINT_WARN_ONLY=1")
    assert "XENLINT kernel.elf" not in silent.stdout and "XL202" in silent.stderr


# Kbuild's link step, reduced to what the post-link pass sees (scripts/Makefile.vmlinux): in
# the object tree, link the image and, in the same recipe, run the arch's Makefile.postlink
# with the image as its goal; scripts/Kbuild.include sets .DELETE_ON_ERROR. The stand-in
# Kbuild.include has only that: xenlint.mk then uses its own Kbuild-style `cmd`
# (tests/test_kbuild.py runs the recipe under the real Kbuild.include of Linux 6.1).
KBUILD_LINK = """\
export srctree := {srctree}
ARCH_POSTLINK := $(wildcard $(srctree)/arch/x86/Makefile.postlink)
.DELETE_ON_ERROR:

{image}: kernel.o
\tld -m elf_x86_64 -n --build-id=none -z noexecstack -T $(srctree)/kernel.ld -o $@ kernel.o
\t$(if $(ARCH_POSTLINK),$(MAKE) -f $(ARCH_POSTLINK) $@,true)

kernel.o: $(srctree)/kernel.S
\tas --64 -o $@ $<
"""


@pytest.mark.parametrize("image", ["vmlinux", "vmlinux.unstripped"])
def test_linux_postlink_recipe(tmp_path: Path, image: str) -> None:
    srctree, objtree = tmp_path / "linux", tmp_path / "build"
    (srctree / "arch" / "x86").mkdir(parents=True)
    (srctree / "scripts").mkdir()
    shutil.copy(POSTLINK, srctree / "arch" / "x86" / "Makefile.postlink")
    shutil.copy(XENLINT_MK, srctree / "scripts" / "xenlint.mk")
    (srctree / "scripts" / "Kbuild.include").write_text(".DELETE_ON_ERROR:\n")
    (srctree / "xenlint.toml").write_text('targets = ["xen>=4.7"]\nmodes = ["pvh"]\n')
    (objtree / "include" / "config").mkdir(parents=True)
    (objtree / "include" / "config" / "auto.conf").write_text("CONFIG_XEN=y\n")
    (objtree / "Makefile").write_text(KBUILD_LINK.format(srctree=srctree, image=image))
    write_kernel(srctree, BROKEN_ENTRY)

    def kbuild(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "-C", str(objtree), f"XENLINT={XENLINT}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    build = kbuild()
    assert build.returncode != 0
    assert f"  XENLINT {image}\n" in build.stdout
    assert f"{image}: error: XL202 phys32-entry-outside-image" in build.stderr
    assert not (objtree / image).exists()  # deleted by the link recipe's .DELETE_ON_ERROR

    warn = kbuild("XENLINT_WARN_ONLY=1")
    assert warn.returncode == 0 and f"{image}: error: XL202" in warn.stderr
    assert (objtree / image).is_file()

    # A kernel built without CONFIG_XEN is not checked.
    (objtree / image).unlink()
    (objtree / "include" / "config" / "auto.conf").write_text("CONFIG_X86_64=y\n")
    plain = kbuild()
    assert plain.returncode == 0 and "XENLINT" not in plain.stdout

    (objtree / image).unlink()
    (objtree / "include" / "config" / "auto.conf").write_text("CONFIG_XEN=y\n")
    write_kernel(srctree, CLEAN_ENTRY)
    clean = kbuild()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"  XENLINT {image}\n" in clean.stdout and clean.stderr == ""
