"""gzip-wrapped ELF and bzImage with every payload codec, made by the real compressors from
real as/ld-built kernels: same findings as the bare ELF, clear XL000 for broken ones, and
decompression stopped at the cap."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from elfbuilder import Note, xen_kernel
from kernels import PVH_KERNEL, assemble, needs_binutils
from wrapping import COMPRESSORS, bzimage, compress, wrap

from xenlint.abi.profile import Mode
from xenlint.engine.check import Finding, cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.image.model import Image, ImageError
from xenlint.image.read import load_image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERNELS = sorted(EXAMPLES.glob("*.elf"))
CODECS = list(COMPRESSORS)


def findings(registry: Registry, image: Image) -> list[Finding]:
    """Every Xen release in every mode: Xen reads the ELF inside a wrapped image. (The PVH
    loaders do not; XL513 and test_loader_rules cover them.)"""
    profiles = [p for p in registry.profiles if p.family == "xen"]
    found, errors = run_rules(
        image, registry.rules.values(), cells_for(image, profiles, list(Mode)), profiles
    )
    assert errors == []
    return found


def comparable(found: list[Finding]) -> list[tuple[object, ...]]:
    """What must be equal between a bare ELF and its wrapped form: everything but the
    wrapper's own annotation and the section names a streamed prefix cannot see."""
    return [
        (
            f.code,
            str(f.severity),
            f.message,
            f.targets,
            f.modes,
            f.location.note if f.location else None,
            f.location.offset if f.location else None,
        )
        for f in found
    ]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda p: p.stem)
def test_bzimage_same_findings_as_bare_elf(
    registry: Registry, tmp_path: Path, kernel: Path, codec: str
) -> None:
    bare = load_image(str(kernel))
    path = wrap(tmp_path, kernel.read_bytes(), codec)
    image = load_image(str(path))
    assert image.format == "bzimage" and image.origin == f"bzImage payload, {codec}"
    assert [(n.offset, n.type, n.desc) for n in image.notes] == [
        (n.offset, n.type, n.desc) for n in bare.notes
    ]
    wrapped = findings(registry, image)
    assert comparable(wrapped) == comparable(findings(registry, bare))
    assert all(f.location and f.location.origin == image.origin for f in wrapped)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda p: p.stem)
def test_gzip_wrapped_elf(registry: Registry, tmp_path: Path, kernel: Path) -> None:
    path = wrap(tmp_path, kernel.read_bytes(), "gzip", bz=False, name="xen.gz")
    image = load_image(str(path))
    assert (image.format, image.origin) == ("elf.gz", "gzip")
    assert comparable(findings(registry, image)) == comparable(
        findings(registry, load_image(str(kernel)))
    )


BIG_TAIL = (
    PVH_KERNEL
    + """
    .section .text.tail, "ax"
    .fill 8 << 20, 1, 0
"""
)
# Notes before the code, as in a Linux vmlinux (.notes follows the first text pages).
NOTES_FIRST_LD = """
OUTPUT_FORMAT("elf64-x86-64")
ENTRY(_start)
PHDRS { text PT_LOAD FLAGS(5); note PT_NOTE FLAGS(4); }
SECTIONS
{
    . = 0x100000;
    .note.Xen : { *(.note.Xen) } :text :note
    .text : { *(.text) *(.text.*) } :text
    /DISCARD/ : { *(.note.gnu.property) *(.comment) *(.data) *(.bss) }
}
"""


@needs_binutils
@pytest.mark.parametrize("codec", CODECS)
def test_stream_stops_after_the_note_segment(tmp_path: Path, codec: str) -> None:
    """8 MiB of code after the notes, a 1 MiB cap: only a stream that stops once the
    PT_NOTE segment is out can read it."""
    elf = assemble(tmp_path, BIG_TAIL, linker_script=NOTES_FIRST_LD).read_bytes()
    path = wrap(tmp_path, elf, codec)
    image = load_image(str(path), max_decompressed=1 << 20)
    assert not image.sections_read and image.size == len(elf)
    assert [n.type_name for n in image.notes] == [
        "GUEST_OS",
        "XEN_VERSION",
        "LOADER",
        "PHYS32_ENTRY",
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_decompression_bomb_stops_at_the_cap(tmp_path: Path, codec: str) -> None:
    """A valid ELF header whose notes lie behind 48 MiB of one repeated byte."""
    bomb = wrap(tmp_path, xen_kernel([Note(6, b"linux\0")], text_size=48 << 20), codec)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ImageError) as info:
        load_image(str(bomb), max_decompressed=4 << 20)
    assert str(info.value).startswith(f"bzImage payload, {codec}: decompression stopped at")


@pytest.mark.parametrize("codec", CODECS)
def test_truncated_payload_is_xl000(tmp_path: Path, codec: str) -> None:
    """Notes after 64 KiB of incompressible code: every cut lands before them. (A payload cut
    after the last note segment is not noticed: the stream stops before the cut.)"""
    code = random.Random(4).randbytes(64 << 10)
    elf = xen_kernel([Note(6, b"linux\0")], text_size=len(code))
    elf = elf.replace(b"\x90" * len(code), code, 1)
    packed = compress(codec, elf)
    for cut in (30, len(packed) // 4, len(packed) // 2):
        path = tmp_path / f"cut{cut}"
        path.write_bytes(bzimage(packed[:cut], len(elf)))
        with pytest.raises(ImageError) as info:
            load_image(str(path))
        message = str(info.value)
        assert message.startswith(f"bzImage payload, {codec}: ") and "\n" not in message
        assert any(w in message for w in ("truncated", "corrupt", "ELF", "malformed")), message


@pytest.mark.parametrize("codec", CODECS)
def test_corrupted_payload_never_raises_anything_else(
    registry: Registry, tmp_path: Path, codec: str
) -> None:
    elf = (EXAMPLES / "linux-pv-pvh.elf").read_bytes()
    packed = bytearray(compress(codec, elf))
    for i in range(20, len(packed), max(1, len(packed) // 25)):
        broken = bytearray(packed)
        broken[i] ^= 0x5A
        path = tmp_path / "broken"
        path.write_bytes(bzimage(bytes(broken), len(elf)))
        try:
            image = load_image(str(path))
        except ImageError as exc:
            assert "\n" not in str(exc)
            continue
        findings(registry, image)


def test_bzimage_header_errors(tmp_path: Path) -> None:
    packed = compress("gzip", (EXAMPLES / "linux-pv-pvh.elf").read_bytes())
    old = tmp_path / "old"
    old.write_bytes(bzimage(packed, 1, version=0x0206))
    with pytest.raises(ImageError, match=r"boot protocol 2\.06 has no payload_offset"):
        load_image(str(old))
    short = tmp_path / "short"
    short.write_bytes(bzimage(packed, 1)[:-100])
    with pytest.raises(ImageError, match="runs past the end of the file"):
        load_image(str(short))
    text = tmp_path / "text"
    text.write_bytes(b"#!/bin/sh\n" * 10)
    with pytest.raises(
        ImageError, match="not an ELF file, a gzip-compressed ELF or an x86 bzImage"
    ):
        load_image(str(text))


def test_setup_sects_zero_means_four(registry: Registry, tmp_path: Path) -> None:
    elf = (EXAMPLES / "linux-pv-pvh.elf").read_bytes()
    path = tmp_path / "zero"
    path.write_bytes(bzimage(compress("xz", elf), len(elf), setup_sects=0))
    assert load_image(str(path)).notes


def test_cli_notes_matrix_and_check_on_bzimage(tmp_path: Path) -> None:
    path = wrap(tmp_path, (EXAMPLES / "pvh-virtual-entry.elf").read_bytes(), "xz")
    run = [sys.executable, "-m", "xenlint"]
    notes = subprocess.run([*run, "notes", str(path)], capture_output=True, text=True)
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.startswith(f"{path} (bzImage payload, xz): ELF64")
    assert "PHYS32_ENTRY" in notes.stdout
    matrix = subprocess.run([*run, "matrix", str(path)], capture_output=True, text=True)
    assert matrix.stdout.startswith(f"{path} (bzImage payload, xz):")
    check = subprocess.run([*run, "--isolated", str(path)], capture_output=True, text=True)
    assert "(bzImage payload, xz)" in check.stdout
    capped = subprocess.run(
        [*run, "--isolated", "--max-decompressed-size", "4K", str(path)],
        capture_output=True,
        text=True,
    )
    assert capped.returncode == 2 and "Traceback" not in capped.stderr
    assert "XL000" in capped.stdout and "4096-byte limit" in capped.stdout


def test_directory_walk_sniffs_content(tmp_path: Path) -> None:
    from xenlint.image.read import looks_like_image

    elf = (EXAMPLES / "linux-pv-pvh.elf").read_bytes()
    gz = wrap(tmp_path, elf, "gzip", bz=False, name="kernel-no-suffix")
    bz = wrap(tmp_path, elf, "zstd", name="whatever.txt")
    other = wrap(tmp_path, b"just text\n" * 50, "gzip", bz=False, name="notes.gz")
    assert looks_like_image(str(gz)) and looks_like_image(str(bz))
    assert not looks_like_image(str(other))


def test_input_is_opened_read_only(tmp_path: Path) -> None:
    path = wrap(tmp_path, (EXAMPLES / "linux-pv-pvh.elf").read_bytes(), "lz4")
    path.chmod(0o444)
    before = path.read_bytes()
    load_image(str(path))
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("codec", "module", "extra"),
    [("lz4", "lz4", "lz4"), ("zstd", "backports", "zstd"), ("lzo", "lzallright", "lzo")],
)
def test_missing_decompressor_names_the_extra(
    tmp_path: Path, codec: str, module: str, extra: str
) -> None:
    path = wrap(tmp_path, (EXAMPLES / "linux-pv-pvh.elf").read_bytes(), codec)
    code = (
        f"import sys; sys.modules[{module!r}] = None; "
        "from xenlint.cli.main import main; sys.exit(main())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--isolated", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"pip install 'xenlint[{extra}]'" in proc.stdout
