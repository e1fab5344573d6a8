"""Build real test kernels with GNU as and ld (stdlib only; tests skip where binutils are absent).

Typical use in a test::

    from kernels import XEN_NOTE_MACRO, assemble, needs_binutils

    @needs_binutils
    def test_something(tmp_path: Path) -> None:
        elf = assemble(tmp_path, XEN_NOTE_MACRO + '''
            .globl _start
        _start:
            hlt
            xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
            xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, _start
        ''')

`needs_binutils` skips a test, with the reason, where binutils are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

XEN_NOTE_MACRO: str = (EXAMPLES / "xen-notes.inc").read_text()
"""GNU as text (the examples' `xen-notes.inc`) to prepend to a test source. It defines

* ``xen_note TYPE, KIND, VALUE``: one note owned by "Xen" (namesz 4, padded to 4) in the
  ``.note.Xen`` section (flags "a", @note, 4-byte aligned), emitted through
  ``.pushsection``/``.popsection`` so it can sit anywhere in the code. KIND is the directive
  writing the descriptor (``.asciz``, ``.ascii``, ``.byte``, ``.long``, ``.quad``); VALUE is
  the rest of the line and may hold several items (``xen_note XEN_ELFNOTE_L1_MFN_VALID, .quad,
  1, 1``). The descriptor size is measured, and the descriptor padded to 4 bytes.
* ``XEN_ELFNOTE_ENTRY`` (1) … ``XEN_ELFNOTE_PHYS32_RELOC`` (19): the note type numbers of Xen's
  ``public/elfnote.h`` as assembler symbols.

Prepend it once per source: the macro cannot be defined twice.
"""

# A minimal good PVH kernel: the notes every Xen release and PVH loader wants, entry _start.
PVH_KERNEL: str = (
    XEN_NOTE_MACRO
    + """
    .globl _start
_start:
    hlt
    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
    xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, _start
"""
)


DEFAULT_BASE = 0x100000

PHYSICAL_LD = """
OUTPUT_FORMAT("{fmt}")
ENTRY(_start)
PHDRS {{ text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); }}
SECTIONS
{{
    . = {base:#x};
    .text : {{ PROVIDE(_start = .); *(.text) *(.text.*) }} :text
    .note.Xen : {{ *(.note.Xen) }} :text :note
    /DISCARD/ : {{ *(.note.gnu.property) *(.comment) *(.data) *(.bss) }}
}}
"""
"""The default layout, like examples/physical.ld: linked and loaded at `base` (vaddr == paddr)
in one R+X PT_LOAD, ``.note.Xen`` (SHT_NOTE) also covered by its own PT_NOTE with p_align 4,
``.note.gnu.property`` dropped. The entry is ``_start`` (the start of ``.text`` if the source
does not define it)."""


def have_binutils() -> bool:
    """Whether GNU `as` and `ld` are on PATH."""
    return all(shutil.which(tool) for tool in ("as", "ld"))


needs_binutils = pytest.mark.skipif(not have_binutils(), reason="GNU as/ld not installed")


def assemble(
    tmp_dir: Path,
    source: str,
    *,
    linker_script: str | None = None,
    bits: int = 64,
    name: str = "kernel",
    base: int = DEFAULT_BASE,
) -> Path:
    """Assemble `source` (GNU as text, used as is: prepend `XEN_NOTE_MACRO` for `xen_note`)
    with ``as --64``/``--32`` and link it with ``ld`` (``-m elf_x86_64``/``elf_i386``, ``-n``,
    ``--build-id=none``, ``-z noexecstack``) using `linker_script`, the text of a script
    (default: `PHYSICAL_LD` at `base`). Files go to `tmp_dir` as NAME.S, NAME.ld, NAME.o and
    NAME.elf; `.include` finds files in examples/. Returns the linked ELF's path.

    Raises ValueError for `bits` other than 32 or 64, and RuntimeError carrying the tool's
    stderr when `as` or `ld` fails."""
    if bits not in (32, 64):
        raise ValueError(f"bits must be 32 or 64, not {bits}")
    fmt, emulation = ("elf64-x86-64", "elf_x86_64") if bits == 64 else ("elf32-i386", "elf_i386")
    src = tmp_dir / f"{name}.S"
    src.write_text(source if source.endswith("\n") else source + "\n")
    script = tmp_dir / f"{name}.ld"
    if linker_script is None:
        linker_script = PHYSICAL_LD.format(fmt=fmt, base=base)
    script.write_text(linker_script)
    obj, out = tmp_dir / f"{name}.o", tmp_dir / f"{name}.elf"
    _run(["as", f"--{bits}", "-I", str(EXAMPLES), "-o", str(obj), str(src)])
    flags = ["-n", "--build-id=none", "-z", "noexecstack"]
    _run(["ld", "-m", emulation, *flags, "-T", str(script), "-o", str(out), str(obj)])
    return out


def _run(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise RuntimeError(f"{cmd[0]} not found: {exc}") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()}")


# The virtual-entry mistake on a kernel linked like Linux (0xffffffff81000000 -> 16 MiB).
VIRTUAL_SOURCE = (
    XEN_NOTE_MACRO
    + """
    .text
    .globl startup_xen
startup_xen:
    hlt
    .balign 16
    .globl pvh_start_xen
pvh_start_xen:
    hlt
    xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "{guest}"
    xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
    xen_note XEN_ELFNOTE_VIRT_BASE, .quad, 0xffffffff80000000
    xen_note XEN_ELFNOTE_ENTRY, .quad, startup_xen
    xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad, pvh_start_xen
"""
)


def virtual_kernel(tmp_path: Path, guest: str = "linux") -> Path:
    """A kernel with PHYS32_ENTRY given as the virtual address of pvh_start_xen, linked like
    Linux (examples/linux-like.ld), with its symbol table."""
    return assemble(
        tmp_path,
        VIRTUAL_SOURCE.format(guest=guest),
        linker_script=(EXAMPLES / "linux-like.ld").read_text(),
        name=guest,
    )
