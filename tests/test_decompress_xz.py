"""xz payloads read up to their notes skip the block's integrity check (decompress._xz with
`partial`): the bytes and the error a caller gets must be exactly the checked decoding's,
on the streams the real `xz` writes and on corruptions of them."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from xenlint.image.decompress import (
    PIECE,
    SMALL_PIECE,
    DecompressError,
    Source,
    _xz,
    _xz_first_block,
)

pytestmark = pytest.mark.skipif(shutil.which("xz") is None, reason="xz not installed")

# The kernel build's command (tests/wrapping.py), a multi-block stream whose block headers
# declare their sizes, other checks, other filter chains (delta and a BCJ start offset are
# not taken raw).
XZ_COMMANDS = [
    ["xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB"],
    ["xz", "-T2", "--block-size=60000", "-0"],
    ["xz", "--check=sha256", "--arm", "--lzma2=preset=1"],
    ["xz", "--check=none", "-0"],
    ["xz", "--delta=dist=4", "--lzma2=preset=0"],
    ["xz", "--x86=start=16", "-0"],
]


def _data() -> bytes:
    rng = random.Random(5)
    return rng.randbytes(3000) + bytes(range(256)) * 400 + b"\x90" * 100000 + rng.randbytes(900)


def _read(path: Path, data: bytes, partial: bool) -> tuple[bytes, str | None]:
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    out: list[bytes] = []
    try:
        for piece in _xz(Source(fd, 0, len(data)), SMALL_PIECE, partial=partial):
            assert len(piece) <= (SMALL_PIECE if out else PIECE)
            out.append(piece)
    except DecompressError as exc:
        return b"".join(out), str(exc)
    finally:
        os.close(fd)
    return b"".join(out), None


@pytest.mark.parametrize("command", XZ_COMMANDS, ids=lambda c: " ".join(c[1:]))
def test_partial_reading_gives_what_the_checked_one_gives(
    tmp_path: Path, command: list[str]
) -> None:
    data = _data()
    packed = subprocess.run([*command, "-c"], input=data, capture_output=True, check=True).stdout
    path = tmp_path / "payload.xz"
    assert _read(path, packed, partial=True) == (data, None)
    rng = random.Random(" ".join(command))
    for _ in range(40):
        bad = bytearray(packed)
        kind = rng.randrange(3)
        if kind == 0:  # headers: stream flags, block header, filter properties
            bad[rng.randrange(min(len(bad), 48))] ^= 1 << rng.randrange(8)
        elif kind == 1:  # anywhere: data, block padding, check, index, footer
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        else:
            bad = bad[: rng.randrange(len(bad))]
        blob = bytes(bad)
        assert _read(path, blob, partial=True) == _read(path, blob, partial=False)


def test_the_kernel_payload_is_taken_raw(tmp_path: Path) -> None:
    """The point of it all: the kernel build's stream is decoded raw (x86 BCJ + LZMA2)."""
    import lzma

    packed = subprocess.run(
        [*XZ_COMMANDS[0], "-c"], input=_data(), capture_output=True, check=True
    ).stdout
    path = tmp_path / "payload.xz"
    path.write_bytes(packed)
    fd = os.open(path, os.O_RDONLY)
    try:
        first = _xz_first_block(Source(fd, 0, len(packed)))
    finally:
        os.close(fd)
    assert first is not None
    filters, _, _ = first
    assert filters == [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "dict_size": 32 << 20}]
