"""Which files a check judges when it is given a directory (a kernel build tree, `arch/x86/boot/`).

A build tree holds far more ELF files than kernels: relocatable objects (`head_64.o`), host
programs (`scripts/sorttable`, `arch/x86/boot/tools/build`), the vDSO, the real-mode and setup
code (`setup.elf`, `realmode.elf`), the bzImage's decompressor (`compressed/vmlinux`), and
`setup.bin`, a boot sector that looks like a bzImage but has no payload. Judged as kernels they
give dozens of errors on a good build. A directory scan therefore takes a file only when it is
a complete image that can be a Xen guest, and says why it skipped each of the others (`-v`).
A path named on the command line is checked as given, except with `--skip-non-elf` (hooks hand
over every binary file), which applies the structural tests but still checks a kernel without
Xen notes (XL001) and a relocatable object (as a source, xenlint.source).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from xenlint.abi import bzimage as B
from xenlint.abi.elf import ET_DYN, ET_REL, PT_INTERP
from xenlint.image.model import Image, ImageError, open_regular
from xenlint.record import Frozen


class Candidate(Frozen):
    """A file to check: `discovered` inside a directory, or named but `filtered` like one
    (`--skip-non-elf`)."""

    __slots__ = ("discovered", "filtered", "path")

    path: str
    discovered: bool
    filtered: bool

    def __init__(self, path: str, discovered: bool, filtered: bool = False) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "discovered", discovered)
        set_(self, "filtered", filtered)


class Skipped(Frozen):
    """A file left out, with the reason `-v` prints."""

    __slots__ = ("path", "reason")

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "reason", reason)


def classify(
    path: str, discovered: bool, skip_non_elf: bool = False, data: bytes | None = None
) -> Candidate | Skipped:
    """A file found in a directory (`discovered`) or named with `skip_non_elf` is taken only
    if `structural_reason` finds nothing against it; any other named file is taken as given.
    Whether a taken image is a Xen guest is decided after loading it (`guest_reason`).
    `data`: the whole file, when the caller has read it already."""
    filtered = discovered or skip_non_elf
    if filtered and (reason := structural_reason(path, named=not discovered, data=data)):
        return Skipped(path, reason)
    return Candidate(path, discovered, filtered)


def structural_reason(path: str, named: bool = False, data: bytes | None = None) -> str | None:
    """Why the file at `path`, which an image format already recognised (the walk in
    xenlint.session.expand probes each file once, through the run's registered formats), is
    no kernel image to judge, from its first bytes and (for an ELF) its program headers; None
    when it may be one. Nothing is decompressed; a format other than a bare ELF or a bzImage
    (gzip, or a plugin's) passes. A `named` relocatable object is kept: a committed `.o`
    handed over by a hook is checked as a source (xenlint.source reads its notes with their
    relocations); in a directory scan it is one of the build's objects."""
    if data is not None:  # `data` is the whole file: read from it, no open
        return _reason(data[: B.HEADER_END], len(data), named, lambda n, at: data[at : at + n])
    try:
        fd = open_regular(path)
    except ImageError as exc:
        return str(exc)
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, B.HEADER_END, 0)
        return _reason(head, size, named, lambda n, at: os.pread(fd, n, at))
    finally:
        os.close(fd)


def _reason(head: bytes, size: int, named: bool, read: Callable[[int, int], bytes]) -> str | None:
    """structural_reason from the file's first bytes, its size, and `read(count, offset)`."""
    from xenlint.abi.elf import ELF_MAGIC

    if head.startswith(ELF_MAGIC):
        return _elf_reason(read, head, named)
    if head[B.HEADER_MAGIC_OFFSET : B.HEADER_MAGIC_OFFSET + 4] == B.HEADER_MAGIC:
        return _boot_sector_reason(head, size)
    return None


def _elf_reason(read: Callable[[int, int], bytes], head: bytes, named: bool) -> str | None:
    from xenlint.image.elfheaders import read_header, read_segments

    try:
        header = read_header(head[:64])
    except ImageError:
        return None  # a broken header is worth an XL000 line
    if header.etype == ET_REL:
        return None if named else "relocatable object (ET_REL): not a linked image"
    if not header.phnum or header.phentsize < 32:
        return None
    table = read(header.phnum * header.phentsize, header.phoff)
    if len(table) < header.phnum * header.phentsize:
        return None
    try:
        segments = read_segments(table, header._replace(phoff=0))
    except (ImageError, struct.error):
        return None
    if any(s.type == PT_INTERP for s in segments):
        return "program for the build host (it has a PT_INTERP, a dynamic loader)"
    return None


def _boot_sector_reason(head: bytes, size: int) -> str | None:
    """setup.bin carries the bzImage setup header but ends where the payload would begin;
    a bzImage cut short inside its payload is still checked (XL000 says so)."""
    if len(head) < B.HEADER_END:
        return None
    setup_sects = head[B.SETUP_SECTS_OFFSET] or B.SETUP_SECTS_DEFAULT
    if size <= (setup_sects + 1) * B.SECTOR:
        return "x86 boot sector without a payload (like setup.bin): not a bzImage"
    return None


def guest_reason(image: Image, candidate: Candidate) -> str | None:
    """Why a loaded image is no Xen guest kernel to judge, or None. Among filtered files a
    shared object without Xen notes (a library, the vDSO) is none; in a directory scan neither
    is an image with no Xen note and no __xen_guest string at all (setup.elf, the bzImage
    decompressor). A file named without --skip-non-elf is always judged."""
    if not candidate.filtered:
        return None
    has_xen = bool(
        image.segment_notes
        or image.section_notes
        or image.skipped_segment_notes
        or image.xen_guest is not None
    )
    if has_xen:
        return None
    if image.etype == ET_DYN:
        return "shared object (ET_DYN) without Xen notes: a library or vDSO, not a kernel"
    if candidate.discovered:
        return "no Xen note and no __xen_guest string: not a Xen guest kernel (name it to check it)"
    return None
