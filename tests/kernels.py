"""Build real test kernels with GNU as and ld, reusing the examples' note macros.

Tests that need binutils skip with a reason where `as`/`ld` are missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

PHYSICAL_LD = """
OUTPUT_FORMAT("{fmt}")
ENTRY(_start)
PHDRS {{ text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); }}
SECTIONS
{{
    . = {base:#x};
    .text : {{ *(.text) }} :text
    .note.Xen : {{ *(.note.Xen) }} :text :note
    /DISCARD/ : {{ *(.note.gnu.property) *(.comment) *(.data) *(.bss) }}
}}
"""


def have_binutils() -> bool:
    return all(shutil.which(tool) for tool in ("as", "ld"))


needs_binutils = pytest.mark.skipif(not have_binutils(), reason="GNU as/ld not installed")


def assemble(
    tmp_dir: Path,
    body: str,
    *,
    bits: int = 64,
    base: int = 0x100000,
    linker_script: str | None = None,
    name: str = "kernel",
) -> Path:
    """Assemble `body` (gas text; `xen_note TYPE, KIND, VALUE` and the XEN_ELFNOTE_* names
    from examples/xen-notes.inc are available, `_start` must be defined) and link it."""
    source = tmp_dir / f"{name}.S"
    source.write_text(f'\t.include "xen-notes.inc"\n\t.text\n{body}\n')
    script = tmp_dir / f"{name}.ld"
    fmt = "elf64-x86-64" if bits == 64 else "elf32-i386"
    script.write_text(linker_script or PHYSICAL_LD.format(fmt=fmt, base=base))
    obj, out = tmp_dir / f"{name}.o", tmp_dir / f"{name}.elf"
    _run(["as", f"--{bits}", "-I", str(EXAMPLES), "-o", str(obj), str(source)])
    emulation = "elf_x86_64" if bits == 64 else "elf_i386"
    flags = ["-n", "--build-id=none", "-z", "noexecstack"]
    _run(["ld", "-m", emulation, *flags, "-T", str(script), "-o", str(out), str(obj)])
    return out


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip()}")
