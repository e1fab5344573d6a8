"""What a kernel developer reads in a build log (issue 10): one line per mistake naming every
affected target range, info findings out of the text report, fixes that name the symbol the
image's own symbol table gives the entry, and the default targets (PVH loaders for an ELF
that declares a PVH entry).

Kernels are assembled and linked by real `as`/`ld`; stripped with the real `strip`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run
from kernels import EXAMPLES, PVH_KERNEL, XEN_NOTE_MACRO, assemble, needs_binutils, virtual_kernel

from xenlint.image.read import load_image
from xenlint.output.report import mistakes, text

VIRTUAL = EXAMPLES / "pvh-virtual-entry.elf"  # PHYS32_ENTRY = .quad pvh_start (virtual)


def fixes_of(out: str, code: str) -> list[str]:
    lines = out.splitlines()
    return [
        lines[i + 1].strip()
        for i, line in enumerate(lines)
        if f": {code} " in line and i + 1 < len(lines) and lines[i + 1].startswith("  fix: ")
    ]


def test_one_line_per_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    """The virtual PHYS32_ENTRY gives XL201 and XL202 on every PVH release, worded by what each
    range does (4.7-4.15 start the vCPU at the truncated address, 4.16+ refuse the kernel):
    at most one line per code, naming both ranges; JSON keeps one finding per range."""
    code, out, _ = run(["--target", "xen>=4.7", "--mode", "pvh", str(VIRTUAL)], capsys)
    assert code == 1
    lines = out.splitlines()
    codes = [line.split(": ")[2].split()[0] for line in lines]
    assert sorted(codes) == ["XL201", "XL202"], out
    xl201 = lines[codes.index("XL201")]
    # The headline is what the newest releases do; the other range is named after it.
    assert "so it refuses the kernel" in xl201 and "[xen-4.16–4.22; pvh]" in xl201
    assert "[also xen-4.7–4.15; pvh: see --format full]" in xl201
    code, out, _ = run(
        ["--target", "xen>=4.7", "--mode", "pvh", "--format", "json", str(VIRTUAL)], capsys
    )
    found = json.loads(out)["findings"]
    assert sorted(f["code"] for f in found) == ["XL201", "XL201", "XL202", "XL202"]


def test_full_text_keeps_each_range(capsys: pytest.CaptureFixture[str]) -> None:
    """The per-range messages stay readable in the full text form."""
    from xenlint.engine.check import cells_for, run_rules
    from xenlint.engine.plugin import load
    from xenlint.engine.targets import resolve

    registry = load()
    image = load_image(str(VIRTUAL))
    profiles = resolve(["xen>=4.7"], registry.profiles)
    rules = [registry.rules["XL201"]]
    findings, _ = run_rules(image, rules, cells_for(image, profiles, None), registry.profiles)
    assert len(findings) == 2 and len(mistakes(findings, registry.profiles)) == 1
    full = text(findings, registry.profiles, full=True).splitlines()
    assert len(full) == 3
    assert full[0].endswith("(PHYS32_ENTRY note in PT_NOTE segment 1 (.note.Xen) at offset 0x3154)")
    assert full[1].startswith("  also xen-4.7–4.15; pvh: PHYS32_ENTRY is 0xffffffff81000010")
    assert "starts the vCPU there" in full[1]
    assert full[2].startswith("  fix: `pvh_start` (0xffffffff81000010) is a virtual address")


def test_severity_differences_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    """XL402 is an error on 4.0-4.1 and a warning on 4.2-4.3: one line, worst severity."""
    freebsd = EXAMPLES / "freebsd-features.elf"
    _, out, _ = run(["--target", "xen>=4.0,<4.4", "--select", "XL402", str(freebsd)], capsys)
    (line,) = out.splitlines()
    assert ": error: XL402 " in line
    assert "[xen-4.0–4.1.6; pvh] [also xen-4.2.0–4.3; pvh (warning): see --format full]" in line


@needs_binutils
def test_info_is_not_a_text_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Linux writes FEATURES with .ascii (NUL in the padding): XL006 info, which Xen reads as
    meant. A good kernel must link silently: no line on stdout, JSON still has it."""
    elf = assemble(
        tmp_path,
        XEN_NOTE_MACRO
        + """
        .globl _start
    _start:
        hlt
        xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
        xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
        xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
        xen_note XEN_ELFNOTE_FEATURES, .ascii, "!writable_page_tables"
        xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, _start
    """,
    )
    code, out, err = run(["--target", "xen>=4.7", str(elf)], capsys)
    assert (code, out) == (0, "")
    assert "no problems in 1 file (1 info not shown: --show-info)" in err
    code, out, _ = run(["--target", "xen>=4.7", "--format", "json", str(elf)], capsys)
    assert {f["code"] for f in json.loads(out)["findings"]} == {"XL006"}
    code, out, _ = run(["--target", "xen>=4.7", "--statistics", str(elf)], capsys)
    assert out == ""


@needs_binutils
def test_fix_names_the_symbol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With .symtab the fix says which symbol and how Linux spells the offset; for another
    guest the offset is a number; stripped, the generic p_vaddr -> p_paddr form."""
    linux = virtual_kernel(tmp_path, "linux")
    nm = subprocess.run(["nm", str(linux)], capture_output=True, text=True, check=True).stdout
    entry = int(
        next(line for line in nm.splitlines() if line.endswith(" pvh_start_xen")).split()[0], 16
    )
    phys = entry - 0xFFFFFFFF80000000
    _, out, _ = run(["--target", "xen>=4.16", "--show-fixes", str(linux)], capsys)
    expected = (
        f"fix: `pvh_start_xen` ({entry:#x}) is a virtual address; write "
        f"`pvh_start_xen - __START_KERNEL_map` ({phys:#x})"
    )
    assert fixes_of(out, "XL201") == [expected] and fixes_of(out, "XL202") == [expected]

    other = virtual_kernel(tmp_path, "FreeBSD")
    _, out, _ = run(["--target", "xen>=4.16", "--show-fixes", str(other)], capsys)
    assert fixes_of(out, "XL201") == [
        f"fix: `pvh_start_xen` ({entry:#x}) is a virtual address; write "
        f"`pvh_start_xen - 0xffffffff80000000` ({phys:#x}, p_vaddr - p_paddr of segment 0)"
    ]

    if shutil.which("strip") is None:
        pytest.skip("strip not installed")
    subprocess.run(["strip", str(linux)], check=True)
    assert len(load_image(str(linux)).symbols) == 0
    _, out, _ = run(["--target", "xen>=4.16", "--show-fixes", str(linux)], capsys)
    assert fixes_of(out, "XL201") == [
        f"fix: set PHYS32_ENTRY to the physical address {phys:#x} ({entry:#x} - p_vaddr "
        "0xffffffff81000000 + p_paddr 0x1000000 of segment 0), as a 4-byte .long"
    ]


@needs_binutils
def test_default_targets_add_loaders_for_pvh_elf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without named targets an ELF with a PVH entry is also judged for the PVH loaders that
    boot its class: an 8-aligned .note.gnu.property merged into the note segment makes QEMU
    refuse it (XL502), and the default gate must say so. A PV-only kernel gets no loader
    finding, and named targets are used as named."""
    source = PVH_KERNEL
    # Both notes in one PT_NOTE, whose p_align becomes 8 (what ld does with a GNU property).
    script = """
OUTPUT_FORMAT("elf64-x86-64")
ENTRY(_start)
PHDRS { text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); }
SECTIONS
{
    . = 0x100000;
    .text : { *(.text) } :text
    .note : { *(.note.gnu.property) *(.note.Xen) } :text :note
    /DISCARD/ : { *(.comment) *(.data) *(.bss) }
}
"""
    prop = """
    .section .note.gnu.property, "a", @note
    .balign 8
    .long 4, 16, 5
    .asciz "GNU"
    .long 0xc0000002, 4, 3, 0
    """
    elf = assemble(tmp_path, source + prop, linker_script=script)
    code, out, _ = run([str(elf)], capsys)
    assert code == 1 and ": error: XL502 note-segment-alignment: " in out
    assert "qemu-4.0–6.0" in out
    code, out, _ = run(["--target", "xen>=4.7", str(elf)], capsys)
    assert (code, out) == (0, "")

    pv_only = EXAMPLES / "linux32-pv.elf"
    code, out, _ = run(["--format", "json", str(pv_only)], capsys)
    assert not [f for f in json.loads(out)["findings"] if f["targets"][0].startswith("qemu")]


def test_show_info_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "linux-pv-pvh.elf")
    for flag in ("--show-info", "-v"):
        code, out, err = run(["--extend-select", "XL007", flag, path], capsys)
        assert code == 0 and ": info: XL007 note-ignored-by-target: " in out
        assert "not shown" not in err


def test_stderr_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--stderr: the text report goes where make -s does not hide it; a machine report stays
    on stdout (or in the -o file), its text copy for the log on stderr."""
    args = ["--target", "xen>=4.7", "--show-fixes", "--stderr", str(VIRTUAL)]
    code, out, err = run(args, capsys)
    assert code == 1 and out == ""
    assert ": error: XL201 " in err and "  fix: `pvh_start` " in err
    assert err.rstrip().endswith("xenlint: 2 errors in 1 file")
    code, out, err = run(["--format", "json", *args], capsys)
    assert json.loads(out)["findings"] and ": error: XL201" not in err
    report = tmp_path / "r.sarif"
    code, out, err = run(["--format", "sarif", "-o", str(report), *args], capsys)
    assert out == "" and ": error: XL201 " in err and json.loads(report.read_text())["runs"]


def test_full_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["--target", "xen>=4.7", "--mode", "pvh", "--format", "full", str(VIRTUAL)], capsys
    )
    assert code == 1
    assert "see --format full" not in out
    assert "\n  also xen-4.7–4.15; pvh: PHYS32_ENTRY is 0xffffffff81000010" in out
    assert out.count("  fix: ") == 2
