"""Wrap a real kernel the way distributions ship it: compressed by the real command-line
tools, and for bzImage inside a minimal x86 boot-protocol header written here from
Linux Documentation/arch/x86/boot.rst (setup_sects at 0x1f1, "HdrS" at 0x202, version at
0x206, payload_offset/payload_length at 0x248/0x24c, payload = compressed vmlinux + le32
uncompressed size)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

# codec -> command that writes the compressed form of stdin to stdout, as Linux's
# scripts/Makefile.lib invokes the tool for arch/x86/boot/compressed/vmlinux.bin.*
COMPRESSORS: dict[str, list[str]] = {
    "gzip": ["gzip", "-n", "-f", "-9", "-c"],
    "bzip2": ["bzip2", "-9", "-c"],
    "xz": ["xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB", "-c"],
    "lzma": ["lzma", "-9", "-c"],
    "lzo": ["lzop", "-9", "-c"],
    "lz4": ["lz4", "-l", "-9", "-c"],
    "zstd": ["zstd", "-22", "--ultra", "-c", "-q"],
}


def compress(codec: str, data: bytes) -> bytes:
    cmd = COMPRESSORS[codec]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (.ci/run installs it)")
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def bzimage(
    compressed: bytes,
    uncompressed_size: int,
    *,
    setup_sects: int = 4,
    version: int = 0x020F,
    stub: int = 0x1C0,
) -> bytes:
    """A bzImage: `setup_sects` setup sectors after the boot sector (0 is written as is and
    means 4), then `stub` bytes standing in for the decompressor, then the payload."""
    sectors = setup_sects or 4
    setup = bytearray((sectors + 1) * 512)
    setup[0x1F1] = setup_sects
    setup[0x1FE:0x200] = b"\x55\xaa"
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    payload = compressed + struct.pack("<I", uncompressed_size)
    struct.pack_into("<II", setup, 0x248, stub, len(payload))
    body = b"\x90" * stub + payload
    struct.pack_into("<I", setup, 0x1F4, (len(body) + 15) // 16)  # syssize
    return bytes(setup) + body


def wrap(tmp: Path, elf: bytes, codec: str, *, bz: bool = True, name: str = "vmlinuz") -> Path:
    packed = compress(codec, elf)
    out = tmp / name
    out.write_bytes(bzimage(packed, len(elf)) if bz else packed)
    return out
