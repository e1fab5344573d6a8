"""Fuzzing in CI: hypothesis mutations of real images (truncation, bit flips, header fields at
extremes, overflowing note sizes, hostile bzImage headers), a short coverage-guided atheris
run, and every saved crasher replayed. The same target runs longer by hand:
`python tests/fuzz_images.py -max_total_time=3600 corpus/`."""

from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from fuzztarget import crashers, lint_bytes, seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63, 2**64 - 1]
seed = st.sampled_from(seeds())


@SETTINGS
@given(seed, st.integers(0, 2**20))
def test_truncation(data: bytes, cut: int) -> None:
    lint_bytes(data[: cut % (len(data) + 1)])


@SETTINGS
@given(seed, st.lists(st.tuples(st.integers(0, 2**24), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flips(data: bytes, flips: list[tuple[int, int]]) -> None:
    buf = bytearray(data)
    for pos, bit in flips:
        buf[pos % len(buf)] ^= 1 << bit
    lint_bytes(bytes(buf))


# Field offsets in the ELF64 header and the first two program headers, with their widths.
ELF64_FIELDS = [(0x18, 8), (0x20, 8), (0x28, 8), (0x36, 2), (0x38, 2), (0x3A, 2), (0x3C, 2)]
ELF64_FIELDS += [(0x3E, 2)] + [
    (64 + i * 56 + o, w)
    for i in range(2)
    for o, w in [(0, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]
]


@SETTINGS
@given(
    seed,
    st.lists(
        st.tuples(st.sampled_from(ELF64_FIELDS), st.sampled_from(EXTREMES)), min_size=1, max_size=4
    ),
)
def test_header_fields_at_extremes(data: bytes, edits: list[tuple[tuple[int, int], int]]) -> None:
    if not data.startswith(b"\x7fELF\x02"):
        data = next(s for s in seeds() if s.startswith(b"\x7fELF\x02"))
    buf = bytearray(data)
    for (offset, width), value in edits:
        buf[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    lint_bytes(bytes(buf))


@SETTINGS
@given(seed, st.integers(0, 50), st.sampled_from([0, 4]), st.sampled_from(EXTREMES))
def test_overflowing_note_sizes(data: bytes, which: int, field: int, value: int) -> None:
    """namesz or descsz of a Xen note set to extremes (the name sits right after them)."""
    if not data.startswith(b"\x7fELF") or b"Xen\0" not in data:
        data = next(s for s in seeds() if s.startswith(b"\x7fELF") and b"Xen\0" in s)
    owners = [i for i in range(12, len(data) - 4) if data[i : i + 4] == b"Xen\0"]
    buf = bytearray(data)
    header = owners[which % len(owners)] - 12
    struct.pack_into("<I", buf, header + field, value & 0xFFFFFFFF)
    lint_bytes(bytes(buf))


BZ_FIELDS = [(0x1F1, 1), (0x206, 2), (0x248, 4), (0x24C, 4)]


@SETTINGS
@given(
    st.sampled_from([s for s in seeds() if s[0x202:0x206] == b"HdrS"] or [b""]),
    st.lists(st.tuples(st.sampled_from(BZ_FIELDS), st.sampled_from(EXTREMES)), min_size=1),
)
def test_bzimage_header_extremes(data: bytes, edits: list[tuple[tuple[int, int], int]]) -> None:
    buf = bytearray(data)
    for (offset, width), value in edits:
        if len(buf) >= offset + width:
            buf[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    lint_bytes(bytes(buf))


@pytest.mark.parametrize("path", crashers(), ids=lambda p: p.name)
def test_saved_crashers(path: Path) -> None:
    lint_bytes(path.read_bytes())


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_short_run(tmp_path: Path) -> None:
    """A bounded coverage-guided run (XENLINT_FUZZ_SECONDS, default 20 s)."""
    seconds = os.environ.get("XENLINT_FUZZ_SECONDS", "20")
    harness = Path(__file__).with_name("fuzz_images.py")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            str(harness),
            f"-max_total_time={seconds}",
            f"-artifact_prefix={tmp_path}/crash-",
            "-rss_limit_mb=1024",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=int(seconds) + 120,
    )
    found = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert proc.returncode == 0 and not found, proc.stderr[-3000:]
