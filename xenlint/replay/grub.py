"""What GRUB's Xen loaders make of an image.

- `grub-xen`: GRUB's Xen PV loader (x86_64-xen and i386-xen builds, "pvgrub2"). Sources
  (read, never copied): GNU GRUB `grub-core/loader/i386/xen_file.c` (`grub_xen_file`,
  `grub_xen_get_info`), `xen_fileXX.c` (`parse_note`, `parse_xen_guest`,
  `grub_xen_get_infoXX`) and `xen.c` (`grub_cmd_xen`) at grub-2.02, grub-2.04 and grub-2.06.
- `grub-pvh`: GRUB's i386-xen_pvh build: GRUB is the PVH guest and boots a multiboot (v1 or
  v2) or Linux bzImage kernel (`loader/i386/multiboot_mbi.c`, `loader/multiboot_mbi2.c`,
  `loader/i386/linux.c`, `commands/file.c`).

Debian's `grub-file` (2.06) runs the same code (`--is-x86_64-xen-domu`,
`--is-i386-xen-pae-domu`, `--is-x86-multiboot`, `--is-x86-multiboot2`); tests compare.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from xenlint.abi import loaders as L
from xenlint.abi import notes as N
from xenlint.abi.loaders import LoaderProfile
from xenlint.image.model import EM_386, EM_X86_64, Image
from xenlint.replay.engines import LoaderEngine
from xenlint.replay.pvh import Failure, FailureKind, Reading, aligned_headers
from xenlint.replay.reach import segment_at

PAGE_SIZE = 4096
# bzImage payloads GRUB's PV loader decompresses: grub_file_offset_open runs the
# GRUB_FILE_FILTER_COMPRESSION_FIRST..LAST filters (gzio, xzio, lzopio), but Debian's grub-file
# 2.06 (which links all three) accepts only the gzip and xz payloads of a bzImage built as the
# kernel's boot protocol lays it out, and refuses lzo as it refuses bzip2, lzma, lz4 and zstd
# ("not xen image"; tests/test_loader_grub.py). Names as xenlint.image.decompress has them.
GRUB_CODECS = frozenset({"gzip", "xz"})
# multiboot_mbi.c: header flag bits GRUB does not support (MULTIBOOT_UNSUPPORTED).
MULTIBOOT_UNSUPPORTED = 0x0000FFF8


class GrubNote(NamedTuple):
    """A note parse_note takes as Xen's (a NamedTuple: an image may hold 65534 of them)."""

    offset: int
    type: int
    desc: bytes  # the descriptor's first DESC_READ bytes


# What parse_note reads of a descriptor: LOADER's 8 bytes, PAE_MODE's "yes,bimodal\0" (12),
# a 64-bit address. Its size tests (7, 8, "== len(word)") treat every size past 12 alike, so
# a note keeps 16 bytes: a hostile one claims megabytes, in each of 65534 PT_NOTE segments.
DESC_READ = 16


def segment_notes(image: Image) -> tuple[GrubNote, ...]:
    """parse_note over every PT_NOTE, in header order, including one at file offset 0 (GRUB
    does not skip it, unlike libelf): 4-byte padding; a note is Xen's when namesz >= 3 and
    its name starts with "Xen" (namesz 3) or "Xen\\0" (namesz 4 or more). Once per image:
    every GRUB profile reads the segments alike."""
    return image.remember((__name__, "segment_notes"), lambda: tuple(_segment_notes(image)))


def _segment_notes(image: Image) -> Iterator[GrubNote]:
    for raw in image.note_bytes:
        seg = segment_at(image, raw.segment)
        if seg is None:
            continue
        data, pos, end = raw.data, 0, min(seg.filesz, len(raw.data))
        while pos < end // 4 * 4 and pos + 12 <= len(data):
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            name = bytes(data[pos + 12 : pos + 12 + min(namesz, 4)])
            desc_at = pos + 12 + (namesz + 3) // 4 * 4
            desc = bytes(data[desc_at : desc_at + min(descsz, DESC_READ)])
            if (
                namesz >= 3
                and name[: 3 if namesz == 3 else 4] == b"Xen\0"[: 3 if namesz == 3 else 4]
            ):
                yield GrubNote(raw.offset + pos, ntype, desc)
            pos = desc_at + (descsz + 3) // 4 * 4


class GrubXenEngine(LoaderEngine):
    """GRUB's Xen PV loader (`xen_linux` / `linux` on x86_64-xen or i386-xen)."""

    name = "grub-xen"
    reads_pvh_note = False

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        def fail(kind: FailureKind, message: str, detail: str = "") -> Reading:
            failure = Failure(kind, message)
            return Reading(loader, "xen-pv", (), None, None, 0, None, failure, detail=detail)

        if image.format == "bzimage" and not any(
            image.origin.endswith(f", {codec}") for codec in GRUB_CODECS
        ):
            codec = image.origin.rsplit(", ", 1)[-1]
            return fail(
                "format",
                L.GRUB_NOT_XEN,
                f"GRUB's PV loader boots gzip and xz bzImage payloads, not {codec}",
            )
        # grub_xen_get_info: the class, machine and byte order pick the parser.
        if image.elf_class == 64 and image.machine == EM_X86_64 and image.little_endian:
            arch, build = L.GRUB_ARCH_X86_64, "x86_64-xen"
        elif image.elf_class == 32 and image.machine == EM_386 and image.little_endian:
            arch, build = L.GRUB_ARCH_I386, "i386-xen"
        else:
            return fail("refused", L.GRUB_UNKNOWN_ELF)
        # Sections are approximated by Xen's own walk of them (the same 4-byte walk; GRUB
        # also takes a 3-byte "Xen" name, which Xen's strcmp takes when a NUL pads it).
        notes = list(segment_notes(image))
        source = "PT_NOTE segments"
        if not notes and loader.reads_sections and image.section_notes:
            source = "SHT_NOTE sections"
            notes = [GrubNote(n.offset, n.type, n.desc[:DESC_READ]) for n in image.section_notes]
        values: dict[int, bytes] = {}
        for note in notes:
            if note.type == N.LOADER.number and not _generic(note.desc):
                return fail("refused", L.GRUB_BAD_LOADER, f"LOADER note at {note.offset:#x}")
            values[note.type] = note.desc  # parse_note: the last note of a type wins
        virt_base: int | None = None
        if not notes:
            if not image.sections:
                return fail("absent", L.GRUB_NO_SECTIONS, _missing(image, loader))
            elif image.xen_guest is not None:
                source = "__xen_guest"
                items = dict(image.xen_guest.items)
                if "PAE" in items and arch != L.GRUB_ARCH_X86_64:
                    arch = _pae_arch(items["PAE"].split("[")[0])
                if "VIRT_BASE" in items:
                    virt_base = _hex(items["VIRT_BASE"])
            else:
                return fail("absent", L.GRUB_NO_NOTE, _missing(image, loader))
        pae = values.get(N.PAE_MODE.number)
        if pae is not None and arch != L.GRUB_ARCH_X86_64:
            arch = _pae_note_arch(pae, arch)
        if arch == L.GRUB_ARCH_I386:
            return fail(
                "refused",
                L.GRUB_ARCH.format(arch=arch),
                'i386-xen boots only PAE kernels (PAE_MODE "yes" or "bimodal"), and '
                "x86_64-xen only 64-bit ones",
            )
        base = values.get(N.VIRT_BASE.number)
        if base is not None:
            virt_base = _addr(base, image.elf_class)
        if virt_base is not None and virt_base & (PAGE_SIZE - 1):
            return fail("refused", L.GRUB_VIRT_BASE, f"VIRT_BASE {virt_base:#x}")
        entry_note = values.get(N.ENTRY.number)
        entry = _addr(entry_note, image.elf_class) if entry_note is not None else image.entry
        detail = f"{build}, Xen notes from {source}"
        return Reading(loader, "xen-pv", (), None, None, 0, entry, None, detail=detail)

    def consequence(self, image: Image, reading: Reading) -> str:
        failure = reading.failure
        if failure is None:
            return f"{reading.loader.program} boots the kernel as a PV guest ({reading.detail})"
        extra = f": {reading.detail}" if reading.detail else ""
        return f'{reading.loader.program} refuses the kernel with "{failure.message}"{extra}'

    def wrapped_file(self, loader: LoaderProfile, fmt: str, kind: str) -> tuple[str, bool]:
        # grub_xen_file reads a bzImage's payload and the file layer a gzip ELF, as xenlint
        # does: the rules judge the ELF inside (an undecodable payload is XL514's).
        return "", True


def _missing(image: Image, loader: LoaderProfile) -> str:
    """Why GRUB found nothing, where Xen itself would have found notes."""
    if image.section_notes and not loader.reads_sections:
        return (
            "the Xen notes sit only in SHT_NOTE sections, which GRUB reads from 2.04 on "
            '(67580c006 "xen: Look for Xen notes in section headers too"); Xen itself boots it'
        )
    return "no Xen note in any PT_NOTE segment and no __xen_guest section"


def _generic(desc: bytes) -> bool:
    """parse_note's LOADER test: descsz >= 7 and the first 7 (descsz 7) or 8 bytes are
    "generic" / "generic\\0"."""
    if len(desc) < 7:
        return False
    return desc[:7] == b"generic" if len(desc) == 7 else desc[:8] == b"generic\0"


def _pae_note_arch(desc: bytes, arch: int) -> int:
    """parse_note's PAE_MODE: prefix comparisons in this order, the last match wins."""
    size = len(desc)
    for word, new in (
        (b"yes", L.GRUB_ARCH_I386_PAE),
        (b"bimodal", L.GRUB_ARCH_I386_PAE_BIMODE),
        (b"yes,bimodal", L.GRUB_ARCH_I386_PAE_BIMODE),
        (b"no", L.GRUB_ARCH_I386),
    ):
        n = len(word)
        want = word if size == n else word + b"\0"
        if size >= n and desc[: len(want)] == want:
            arch = new
    return arch


def _pae_arch(value: str) -> int:
    """parse_xen_guest's PAE= forms."""
    if value == "no":
        return L.GRUB_ARCH_I386
    if value.startswith("bimodal") or value.endswith("bimodal"):
        return L.GRUB_ARCH_I386_PAE_BIMODE
    return L.GRUB_ARCH_I386_PAE


def _addr(desc: bytes, elf_class: int) -> int:
    width = 8 if elf_class == 64 else 4
    return int.from_bytes(desc[:width].ljust(width, b"\0"), "little")


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


# --- i386-xen_pvh --------------------------------------------------------------------------


def multiboot_headers(head: bytes) -> tuple[tuple[int, int] | None, int | None]:
    """((offset, flags) of the first multiboot v1 header in GRUB's 8192-byte window, offset
    of the first multiboot2 header in its 32768-byte window) (commands/file.c,
    multiboot_mbi.c)."""
    v1 = None
    window = head[: L.GRUB_MULTIBOOT_SEARCH]
    for off, (magic, flags, checksum) in aligned_headers(
        window, L.MULTIBOOT_MAGIC, 4, 3, len(window) - 12 + 1
    ):
        if (magic + flags + checksum) & 0xFFFFFFFF == 0:
            v1 = (off, flags)
            break
    v2 = None
    window = head[: L.GRUB_MULTIBOOT2_SEARCH]
    for off, (magic, arch, length, checksum) in aligned_headers(
        window, L.MULTIBOOT2_MAGIC, 8, 4, len(window) - 16 + 1
    ):
        if (magic + arch + length + checksum) & 0xFFFFFFFF == 0:
            v2 = off
            break
    return v1, v2


class GrubPvhEngine(LoaderEngine):
    """GRUB i386-xen_pvh: `multiboot`, `multiboot2` or `linux` (bzImage); no PVH-ELF loader."""

    name = "grub-pvh"
    reads_pvh_note = False

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        if image.format == "bzimage":
            return Reading(loader, "linux", (), None, None, 0, None, None, detail="linux")
        v1, v2 = multiboot_headers(image.head)
        if v1 is not None:
            off, flags = v1
            unsupported = flags & MULTIBOOT_UNSUPPORTED
            failure = (
                Failure("refused", f"unsupported flag: {unsupported:#x}") if unsupported else None
            )
            entry = None if unsupported else image.entry
            return Reading(
                loader, "multiboot", (), None, None, 0, entry, failure,
                multiboot_flags=flags, multiboot_offset=off, detail="multiboot",
            )  # fmt: skip
        if v2 is not None:
            return Reading(
                loader, "multiboot", (), None, None, 0, image.entry, None,
                multiboot_offset=v2, detail="multiboot2",
            )  # fmt: skip
        failure = Failure("absent", L.GRUB_NO_MULTIBOOT)
        return Reading(loader, "multiboot", (), None, None, 0, None, failure)

    def consequence(self, image: Image, reading: Reading) -> str:
        program, failure = reading.loader.program, reading.failure
        if failure is None and reading.detail == "linux":
            return f"{program} boots the bzImage with its `linux` command"
        if failure is None:
            return (
                f"{program} boots it with its `{reading.detail}` command (header at "
                f"{reading.multiboot_offset:#x})"
            )
        if failure.kind == "absent":
            return (
                f'{program} refuses it with "{failure.message}": it boots multiboot (a v1 header '
                f"in the first {L.GRUB_MULTIBOOT_SEARCH} bytes, v2 in the first "
                f"{L.GRUB_MULTIBOOT2_SEARCH}) and Linux bzImage kernels, never a PVH ELF"
            )
        return f'{program} refuses it with "{failure.message}"'

    def wrapped_file(self, loader: LoaderProfile, fmt: str, kind: str) -> tuple[str, bool]:
        # bzImages boot through `linux`, gzip files are decompressed by GRUB's file layer:
        # XL514 gives the verdict.
        return "", True
