"""The fuzz target shared by the atheris harness (tests/fuzz_images.py) and the hypothesis
mutation tests (tests/test_fuzz.py): any bytes, through the real loader and every rule in
every cell, must end in findings or one ImageError line, never another exception.

Seeds are real images: the as/ld-built examples, bare, gzip-wrapped and inside bzImages
whose payloads the real compressors wrote (where the tools are installed)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from xenlint.abi.profile import Mode
from xenlint.check import cells_for, run_rules
from xenlint.image import ImageError
from xenlint.loader import load_image
from xenlint.plugin import Registry
from xenlint.plugin import load as load_plugins

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CRASHERS = Path(__file__).resolve().parent / "crashers"
FUZZ_CAP = 8 << 20  # decompression cap while fuzzing: bombs stop quickly


class Crash(AssertionError):
    """xenlint did something other than findings or a one-line ImageError."""


@cache
def registry() -> Registry:
    reg = load_plugins()
    if reg.errors:
        raise RuntimeError(reg.errors)
    return reg


@cache
def _scratch() -> str:
    fd, path = tempfile.mkstemp(prefix="xenlint-fuzz-")
    os.close(fd)
    atexit.register(os.unlink, path)
    return path


def lint_bytes(data: bytes) -> None:
    """Raise Crash (or let the unexpected exception through) if xenlint misbehaves."""
    path = _scratch()
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        image = load_image(path, max_decompressed=FUZZ_CAP)
    except ImageError as exc:
        if "\n" in str(exc) or not str(exc):
            raise Crash(f"ImageError message is not one line: {exc!r}") from None
        return
    reg = registry()
    for modes in (None, list(Mode)):
        cells = cells_for(image, reg.profiles, modes)
        _, errors = run_rules(image, reg.rules.values(), cells, reg.profiles)
        if errors:
            raise Crash("; ".join(errors))


def _bzimage(compressed: bytes, size: int) -> bytes:
    import struct

    setup = bytearray(5 * 512)
    setup[0x1F1] = 4
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020F)
    payload = compressed + struct.pack("<I", size)
    struct.pack_into("<II", setup, 0x248, 0, len(payload))
    return bytes(setup) + payload


@cache
def seeds() -> tuple[bytes, ...]:
    out = []
    for elf_path in sorted(EXAMPLES.glob("*.elf")):
        elf = elf_path.read_bytes()
        out.append(elf)
        for cmd in (
            ["gzip", "-9n"],
            ["bzip2", "-9"],
            ["xz", "--check=crc32"],
            ["lzma", "-9"],
            ["lzop", "-9"],
            ["lz4", "-l"],
            ["zstd", "-19"],
        ):
            if shutil.which(cmd[0]):
                packed = subprocess.run([*cmd, "-c"], input=elf, capture_output=True).stdout
                out.append(packed if cmd[0] == "gzip" else _bzimage(packed, len(elf)))
    return tuple(out)


def crashers() -> list[Path]:
    return sorted(p for p in CRASHERS.iterdir() if p.is_file() and p.name != "README.md")
