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

from wrapping import COMPRESSORS, bzimage

from xenlint.abi.profile import Mode
from xenlint.engine.check import cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.plugin import load as load_plugins
from xenlint.image.model import ImageError
from xenlint.image.read import load_image

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


@cache
def seeds() -> tuple[bytes, ...]:
    out = []
    for elf_path in sorted(EXAMPLES.glob("*.elf")):
        elf = elf_path.read_bytes()
        out.append(elf)
        for codec, cmd in COMPRESSORS.items():
            if shutil.which(cmd[0]):
                packed = subprocess.run(cmd, input=elf, capture_output=True).stdout
                out.append(packed if codec == "gzip" else bzimage(packed, len(elf)))
    return tuple(out)


def crashers() -> list[Path]:
    return sorted(p for p in CRASHERS.iterdir() if p.is_file() and p.name != "README.md")
