"""contrib/linux/Makefile.postlink and contrib/make/xenlint.mk under the real Kbuild machinery
of Linux 6.1 (Debian's linux-source-6.1): its scripts/Kbuild.include (`cmd`, `echo-cmd`,
`if_changed`, `silent_redirect`, .DELETE_ON_ERROR) and the verbosity block of its top-level
Makefile (`quiet`, `Q`, make -s and V=1), driving a post-link pass as scripts/Makefile.vmlinux
does: the link and `$(MAKE) -f arch/x86/Makefile.postlink vmlinux` in one `cmd_link_vmlinux`.

The kernels are the examples' Linux-like sources (linked at 0xffffffff81000000, loaded at
16 MiB) assembled and linked by real `as`/`ld`: linux-pv-pvh.S is good, pvh-virtual-entry.S
gives PHYS32_ENTRY as a virtual address. Under make -s Kbuild sends a command's standard
output to /dev/null, so this is where a finding printed on stdout would vanish."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from kernels import EXAMPLES, needs_binutils

pytestmark = [
    pytest.mark.slow,
    needs_binutils,
    pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed"),
]

LINUX_SOURCE = Path("/usr/src/linux-source-6.1.tar.xz")
TOP = "linux-source-6.1"
CACHE = ROOT / "build" / "linux-source"  # files of the tarball, unpacked once (.ci/run)
XENLINT_BIN = Path(sys.executable).parent / "xenlint"
# Directories with as, ld, make and a shell but no xenlint: "a tree without xenlint".
BARE_PATH = "/usr/bin:/bin"

# scripts/Makefile.vmlinux, reduced to the link: the real if_changed/cmd machinery and the
# real verbosity settings, the kernel assembled instead of linked from vmlinux.a.
VMLINUX_MAKEFILE = """\
{verbosity}
srctree := {srctree}
export srctree
PHONY := __default
__default: vmlinux

include include/config/auto.conf
include $(srctree)/scripts/Kbuild.include

ARCH_POSTLINK := $(wildcard $(srctree)/arch/x86/Makefile.postlink)

quiet_cmd_as_o_S = AS      $@
      cmd_as_o_S = as --64 -I {examples} -o $@ $<

kernel.o: $(srctree)/kernel.S FORCE
\t$(call if_changed,as_o_S)

quiet_cmd_link_vmlinux = LD      $@
      cmd_link_vmlinux = ld -m elf_x86_64 -n --build-id=none -z noexecstack \\
\t-T {examples}/linux-like.ld -o $@ kernel.o; \\
\t$(if $(ARCH_POSTLINK), $(MAKE) -f $(ARCH_POSTLINK) $@, true)

targets += vmlinux kernel.o
vmlinux: kernel.o FORCE
\t+$(call if_changed,link_vmlinux)

PHONY += FORCE
FORCE:

existing-targets := $(wildcard $(sort $(targets)))
-include $(foreach f,$(existing-targets),$(dir $(f)).$(notdir $(f)).cmd)

.PHONY: $(PHONY)
"""


@pytest.fixture(scope="module")
def kbuild_files() -> Path:
    """scripts/Kbuild.include and the top-level Makefile of Debian's linux-source-6.1, taken
    from /usr/src once (.ci/run installs the package)."""
    wanted = [f"{TOP}/scripts/Kbuild.include", f"{TOP}/Makefile"]
    if not all((CACHE / name).is_file() for name in wanted):
        if not LINUX_SOURCE.is_file():
            pytest.skip(f"{LINUX_SOURCE} missing (apt-get install linux-source-6.1)")
        CACHE.mkdir(parents=True, exist_ok=True)
        # --occurrence: stop reading the 140 MB archive once both members are out.
        subprocess.run(
            ["tar", "-xJf", str(LINUX_SOURCE), "-C", str(CACHE), "--occurrence", *wanted],
            check=True,
            timeout=300,
        )
    return CACHE / TOP


def verbosity_block(makefile: str) -> str:
    """The top-level Makefile's verbosity settings: V=1, make -s, `export quiet Q`."""
    start = makefile.index('ifeq ("$(origin V)", "command line")')
    end = makefile.index("export quiet Q KBUILD_VERBOSE", start)
    return makefile[start:end] + "export quiet Q KBUILD_VERBOSE\n"


@pytest.fixture
def tree(tmp_path: Path, kbuild_files: Path) -> tuple[Path, Path]:
    srctree, objtree = tmp_path / "linux", tmp_path / "build"
    (srctree / "scripts").mkdir(parents=True)
    (srctree / "arch" / "x86").mkdir(parents=True)
    shutil.copy(kbuild_files / "scripts" / "Kbuild.include", srctree / "scripts")
    shutil.copy(ROOT / "contrib" / "make" / "xenlint.mk", srctree / "scripts")
    shutil.copy(ROOT / "contrib" / "linux" / "Makefile.postlink", srctree / "arch" / "x86")
    (objtree / "include" / "config").mkdir(parents=True)
    (objtree / "include" / "config" / "auto.conf").write_text("CONFIG_XEN=y\n")
    verbosity = verbosity_block((kbuild_files / "Makefile").read_text())
    (objtree / "Makefile").write_text(
        VMLINUX_MAKEFILE.format(verbosity=verbosity, srctree=srctree, examples=EXAMPLES)
    )
    return srctree, objtree


def use_kernel(srctree: Path, example: str) -> None:
    shutil.copy(EXAMPLES / example, srctree / "kernel.S")


def make(
    objtree: Path, *args: str, xenlint: str | None = str(XENLINT_BIN), path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    env.pop("XENLINT", None)
    env.pop("MAKEFLAGS", None)
    cmd = ["make", "--no-print-directory", "-C", str(objtree), *args]
    if xenlint is not None:
        cmd.append(f"XENLINT={xenlint}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def xenlint_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("make")]


def readme_samples() -> list[list[str]]:
    """The `$ make -s` samples of the README's Kbuild section, which these tests produce."""
    from test_readme_samples import samples

    return [lines for command, lines in samples() if command == "make -s"]


def test_silent_build_shows_the_mistake_and_its_fix(tree: tuple[Path, Path]) -> None:
    """make -s: the broken kernel fails with one line per code and a fix naming the symbol;
    the good one prints nothing at all."""
    srctree, objtree = tree
    use_kernel(srctree, "pvh-virtual-entry.S")
    broken = make(objtree, "-s")
    assert broken.returncode != 0
    assert broken.stdout == ""  # Kbuild's silent_redirect: stdout is /dev/null
    lines = xenlint_lines(broken.stderr)
    findings = [line for line in lines if line.startswith("vmlinux: error: ")]
    codes = [re.match(r"vmlinux: error: (XL\d+) ", line)[1] for line in findings]  # type: ignore[index]
    assert len(codes) == len(set(codes)) and {"XL201", "XL202"} <= set(codes), lines
    fixes = [line for line in lines if line.startswith("  fix: ")]
    assert fixes and all(
        fix.startswith(
            "  fix: `pvh_start` (0xffffffff81000010) is a virtual address; write "
            "`pvh_start - __START_KERNEL_map` (0x1000010)"
        )
        for fix in fixes
    ), lines
    assert len(lines) == len(findings) + len(fixes)  # nothing else from xenlint
    assert lines in readme_samples(), "\n".join(lines)  # the README shows this very output
    assert not (objtree / "vmlinux").exists()  # .DELETE_ON_ERROR from Kbuild.include

    use_kernel(srctree, "linux-pv-pvh.S")
    good = make(objtree, "-s")
    assert (good.returncode, good.stdout, good.stderr) == (0, "", "")
    assert (objtree / "vmlinux").is_file()


def test_plain_and_verbose_builds(tree: tuple[Path, Path]) -> None:
    srctree, objtree = tree
    use_kernel(srctree, "linux-pv-pvh.S")
    plain = make(objtree)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert plain.stdout.splitlines() == [
        "  AS      kernel.o",
        "  LD      vmlinux",
        "  XENLINT vmlinux",
    ]
    assert plain.stderr == ""
    # Nothing changed: if_changed does not relink, so xenlint does not run again.
    again = make(objtree)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")

    use_kernel(srctree, "pvh-virtual-entry.S")
    verbose = make(objtree, "V=1")
    assert verbose.returncode != 0
    assert f"{XENLINT_BIN} --isolated --show-fixes --stderr --quiet vmlinux" in verbose.stdout
    assert "vmlinux: error: XL201 phys32-entry-not-32bit: " in verbose.stderr
    plain = make(objtree)
    assert "  XENLINT vmlinux" in plain.stdout and "vmlinux: error: XL201" in plain.stderr


def test_without_xenlint_the_tree_still_builds(tree: tuple[Path, Path]) -> None:
    """Kbuild's way with optional tools: one line, and the image is built unchecked;
    XENLINT_REQUIRED=1 makes the missing program an error."""
    if shutil.which("xenlint", path=BARE_PATH):
        pytest.skip(f"xenlint is installed in {BARE_PATH}")
    srctree, objtree = tree
    use_kernel(srctree, "pvh-virtual-entry.S")
    for args in (["-s"], []):
        (objtree / "vmlinux").unlink(missing_ok=True)
        build = make(objtree, *args, xenlint=None, path=BARE_PATH)
        assert build.returncode == 0, build.stdout + build.stderr
        assert build.stderr.splitlines() == [
            "  XENLINT vmlinux: not checked, xenlint not found "
            "(make XENLINT_REQUIRED=1 to require it)"
        ]
        if args == ["-s"]:
            assert build.stderr.splitlines() in readme_samples()
        assert "XENLINT" not in build.stdout
        assert (objtree / "vmlinux").is_file()

    (objtree / "vmlinux").unlink()
    required = make(objtree, "-s", "XENLINT_REQUIRED=1", xenlint=None, path=BARE_PATH)
    assert required.returncode != 0
    assert xenlint_lines(required.stderr) == [
        "xenlint: error: xenlint not found, and XENLINT_REQUIRED is set: install xenlint "
        "(pip install xenlint) or set XENLINT"
    ]
    assert not (objtree / "vmlinux").exists()


def test_kernel_without_config_xen_is_not_checked(tree: tuple[Path, Path]) -> None:
    srctree, objtree = tree
    use_kernel(srctree, "pvh-virtual-entry.S")
    (objtree / "include" / "config" / "auto.conf").write_text("CONFIG_X86_64=y\n")
    build = make(objtree)
    assert build.returncode == 0 and "XENLINT" not in build.stdout + build.stderr
