"""A directory scan judges kernel images only (issue 10): in a build tree, relocatable
objects, host programs, shared objects, setup.bin-like boot sectors without a payload and
images without any Xen note are skipped, each with its reason; a file named on the command
line is still checked as given.

Every file is made by the real tool that makes it in a kernel build: `as`/`ld` for objects
and images, `gcc` for a host program and a shared library, gzip for a wrapped kernel."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernels import EXAMPLES, PVH_KERNEL, assemble, needs_binutils
from wrapping import bzimage, compress

from xenlint.image.read import load_image
from xenlint.image.scan import Candidate, Skipped, classify, guest_reason
from xenlint.session import expand as walk

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

GOOD = PVH_KERNEL

#: What the walk leaves out before classifying: no image format recognises the file.
NO_FORMAT = "no image format recognises it"


def expand(paths: list[str], skip_non_elf: bool = False) -> Iterator[Candidate | Skipped]:
    """The files a check takes or skips before loading them, as xenlint.session.lint does:
    the walk probes each file through the image formats, then `classify` judges its shape."""
    named = set(paths)
    for path, problem in walk(paths, skip_non_elf):
        assert problem is None, (path, problem)
        yield classify(path, path not in named, skip_non_elf)


def build_tree(root: Path) -> dict[str, str | None]:
    """A miniature kernel build tree; returns each file's expected skip-reason prefix (None:
    judged)."""
    boot = root / "arch" / "x86" / "boot"
    (boot / "compressed").mkdir(parents=True)
    (boot / "tools").mkdir()
    kernel = assemble(root, GOOD, name="vmlinux")
    kernel.rename(root / "vmlinux")
    (root / "vmlinux.S").unlink()
    (root / "vmlinux.ld").unlink()
    # vmlinux.o stays: a relocatable object with .note.Xen sections.
    # The decompressor: a complete image, but no Xen note at all.
    assemble(boot / "compressed", ".globl _start\n_start:\n    hlt\n", name="vmlinux")
    for suffix in (".S", ".ld", ".o"):
        (boot / "compressed" / f"vmlinux{suffix}").unlink()
    (boot / "compressed" / "vmlinux.elf").rename(boot / "compressed" / "vmlinux")
    (boot / "compressed" / "vmlinux.bin.gz").write_bytes(
        compress("gzip", (root / "vmlinux").read_bytes())
    )
    # setup.bin: the bzImage setup sectors, nothing after them.
    image = bzimage(compress("gzip", (root / "vmlinux").read_bytes()), 1 << 20)
    (boot / "setup.bin").write_bytes(image[: 5 * 512])
    (boot / "bzImage").write_bytes(image)
    (boot / "tools" / "build.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(
        ["gcc", "-o", str(boot / "tools" / "build"), str(boot / "tools" / "build.c")], check=True
    )
    (root / "lib.c").write_text("int f(void) { return 1; }\n")
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(root / "vdso64.so"), str(root / "lib.c")],
        check=True,
    )
    (root / ".config").write_text("CONFIG_XEN=y\n")
    return {
        "vmlinux": None,
        "vmlinux.o": "relocatable object (ET_REL)",
        "arch/x86/boot/compressed/vmlinux": "no Xen note and no __xen_guest string",
        "arch/x86/boot/compressed/vmlinux.bin.gz": None,
        "arch/x86/boot/setup.bin": "x86 boot sector without a payload",
        "arch/x86/boot/bzImage": None,
        "arch/x86/boot/tools/build": "program for the build host (it has a PT_INTERP",
        "arch/x86/boot/tools/build.c": NO_FORMAT,
        "vdso64.so": "shared object (ET_DYN) without Xen notes",
        "lib.c": NO_FORMAT,
        ".config": NO_FORMAT,
    }


def verdicts(root: Path) -> dict[str, str | None]:
    """What a scan of `root` does with each file: None judged, else the skip reason."""
    out: dict[str, str | None] = {
        str(p.relative_to(root)): NO_FORMAT for p in root.rglob("*") if p.is_file()
    }
    for item in expand([str(root)]):
        rel = str(Path(item.path).relative_to(root))
        if isinstance(item, Skipped):
            out[rel] = item.reason
        else:
            assert isinstance(item, Candidate) and item.discovered
            out[rel] = guest_reason(load_image(item.path), item)
    return out


@needs_binutils
@needs_gcc
def test_build_tree_scan_judges_only_kernels(tmp_path: Path) -> None:
    expected = build_tree(tmp_path)
    got = verdicts(tmp_path)
    assert set(got) == set(expected)
    for rel, reason in expected.items():
        if reason is None:
            assert got[rel] is None, (rel, got[rel])
        else:
            assert got[rel] is not None and got[rel].startswith(reason), (rel, got[rel])


@needs_binutils
@needs_gcc
def test_named_files_are_checked_as_given(tmp_path: Path) -> None:
    build_tree(tmp_path)
    named = [str(tmp_path / "vmlinux.o"), str(tmp_path / "arch/x86/boot/compressed/vmlinux")]
    assert [(c.path, c.discovered) for c in expand(named)] == [(p, False) for p in named]  # type: ignore[union-attr]
    for candidate in expand(named):
        assert isinstance(candidate, Candidate)
        assert guest_reason(load_image(candidate.path), candidate) is None
    # --skip-non-elf (hooks) applies the structural tests, but a named kernel without Xen
    # notes is still judged (XL001's job), and a committed object is checked as a source.
    filtered = list(
        expand([*named, str(tmp_path / "arch/x86/boot/tools/build")], skip_non_elf=True)
    )
    assert [type(item) for item in filtered] == [Candidate, Candidate, Skipped]
    assert guest_reason(load_image(filtered[1].path), filtered[1]) is None  # type: ignore[arg-type]
    assert "PT_INTERP" in filtered[2].reason  # type: ignore[union-attr]


def test_truncated_bzimage_is_still_checked(tmp_path: Path) -> None:
    """Only a boot sector that ends where the payload would start is skipped: a bzImage cut
    inside its payload is a broken kernel and gets its XL000 line."""
    image = bzimage(compress("gzip", (EXAMPLES / "linux-pv-pvh.elf").read_bytes()), 1 << 20)
    (tmp_path / "vmlinuz").write_bytes(image[: len(image) - 100])
    (item,) = expand([str(tmp_path)])
    assert isinstance(item, Candidate)


@needs_binutils
@needs_gcc
def test_verbose_lists_what_a_scan_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import run

    expected = build_tree(tmp_path)
    code, out, err = run(["-v", "--target", "xen>=4.7", str(tmp_path)], capsys)
    assert code == 0, out + err
    assert out == ""
    skipped = {
        line.removeprefix(f"xenlint: skipped {tmp_path}/").split(": ", 1)[0]
        for line in err.splitlines()
        if line.startswith("xenlint: skipped ")
    }
    # Listed: every image-looking file that was not judged (not the sources and text files,
    # which a kernel tree has by the thousand).
    assert skipped == {rel for rel, reason in expected.items() if reason and reason != NO_FORMAT}
    judged = sum(1 for reason in expected.values() if reason is None)
    assert err.splitlines()[-1] == f"xenlint: no problems in {judged} files"
    code, _, err = run(["--target", "xen>=4.7", str(tmp_path)], capsys)
    assert code == 0 and "skipped" not in err
