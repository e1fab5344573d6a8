"""Issue 14's goals, each measured against a reference in the same run, printed met/missed.

Each is a ratio, so a slower or busier machine changes the absolute numbers but not the
verdict.

    python benchmarks/run.py                    # every goal (a few minutes)
    python benchmarks/run.py --quick startup    # some goals, fewer runs
    python benchmarks/run.py --debug-vmlinux /path/to/vmlinux-6.1.0-57-amd64 large

Measure a NON-editable install with its bytecode compiled, and run without
PYTHONDONTWRITEBYTECODE (this script drops it for the processes it starts):

    rm -rf build/lib build/bdist.*    # setuptools builds there and keeps what it finds
    python -m venv /tmp/bench && /tmp/bench/bin/pip install . pyelftools pytest lzallright
    /tmp/bench/bin/python -m compileall -q /tmp/bench/lib
    /tmp/bench/bin/python benchmarks/run.py
    /tmp/bench/bin/python benchmarks/run.py many --baseline-xenlint /tmp/b14/bin/xenlint

(/tmp/b14: the same install of fde2bf7, the code the issue measured; see benchmarks/README.md.)

CPU is user+system time of the whole process (os.wait4), the median over paired runs
(xenlint, then its reference, alternately); instructions come from one run of each under
`valgrind --tool=callgrind` (perf's counters are used instead where the machine has them),
a check that does not depend on the load of the machine. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from wrapping import COMPRESSORS, bzimage  # noqa: E402  (the tests' header writer and tools)

EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
XENLINT = (
    [str(BIN / "xenlint")] if (BIN / "xenlint").exists() else [sys.executable, "-m", "xenlint"]
)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
DEFAULT_CAP = 2 << 30  # xenlint.image.read.DEFAULT_MAX_DECOMPRESSED

REFERENCE_SCRIPT = """
import sys
from elftools.elf.elffile import ELFFile
with open(sys.argv[1], "rb") as f:
    for seg in ELFFile(f).iter_segments():
        if seg.header.p_type == "PT_NOTE":
            for n in seg.iter_notes():
                print(n.n_type)
"""

# Whole-process full decompression of a bzImage payload with the standard library, output
# discarded: the reference for goal (c).
FULL_DECOMPRESSION = """
import bz2, lzma, struct, sys, zlib
path, codec = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    head = f.read(0x268)
    setup = (head[0x1F1] or 4) + 1
    offset, length = struct.unpack_from("<II", head, 0x248)
    f.seek(setup * 512 + offset)
    left = length - 4
    dec = {"xz": lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ),
           "lzma": lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE),
           "bzip2": bz2.BZ2Decompressor,
           "gzip": lambda: zlib.decompressobj(wbits=31)}[codec]()
    while left > 0:
        chunk = f.read(min(left, 1 << 16))
        left -= len(chunk)
        out = dec.decompress(chunk)
"""

# ---------------------------------------------------------------------------------------
# Test images


def xen_notes() -> bytes:
    def note(ntype: int, desc: bytes) -> bytes:
        desc_padded = desc + b"\0" * (-len(desc) % 4)
        return struct.pack("<III", 4, len(desc), ntype) + b"Xen\0" + desc_padded

    return b"".join(
        [
            note(6, b"linux\0"),
            note(5, b"xen-3.0\0"),
            note(8, b"generic\0"),
            note(18, struct.pack("<I", 0x100000)),
        ]
    )


def write_elf(path: Path, size: int, sections: int, filler: bytes | None = None) -> None:
    """An x86-64 ELF of `size` bytes: PT_LOAD over everything, a PT_NOTE at 0x1000 and
    another 64 KiB before the end, `sections` section headers at the end. Sparse unless
    `filler` is given (then the gap is filled with it, repeated)."""
    notes = xen_notes()
    names = b"\0.note.Xen\0.text\0.shstrtab\0" + b"".join(
        f".text.f{i}\0".encode() for i in range(sections)
    )
    table = (sections + 4) * 64
    end_notes = (size - len(notes) - table - len(names) - 64) & ~0xFFF
    shoff = end_notes + ((len(notes) + 63) & ~63)
    strtab_off = shoff + table
    assert end_notes > 0x1000 + len(notes), "image too small for its section table"
    phdrs = [
        struct.pack("<IIQQQQQQ", 1, 5, 0, 0x100000, 0x100000, size, size, 0x1000),
        struct.pack("<IIQQQQQQ", 4, 4, 0x1000, 0, 0, len(notes), len(notes), 4),
        struct.pack("<IIQQQQQQ", 4, 4, end_notes, 0, 0, len(notes), len(notes), 4),
    ]
    shdrs = [bytes(64)]
    shdrs.append(struct.pack("<IIQQQQIIQQ", 1, 7, 2, 0, 0x1000, len(notes), 0, 0, 4, 0))
    shdrs.append(struct.pack("<IIQQQQIIQQ", 1, 7, 2, 0, end_notes, len(notes), 0, 0, 4, 0))
    base = len(b"\0.note.Xen\0.text\0.shstrtab\0")
    pos = base
    for i in range(sections):
        shdrs.append(
            struct.pack(
                "<IIQQQQIIQQ", pos, 1, 6, 0x100000 + i * 16, 0x2000 + i * 16, 16, 0, 0, 16, 0
            )
        )
        pos += len(f".text.f{i}\0")
    shdrs.append(struct.pack("<IIQQQQIIQQ", 17, 3, 0, 0, strtab_off, len(names), 0, 0, 1, 0))
    header = (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + struct.pack(
            "<HHIQQQIHHHHHH",
            2,
            62,
            1,
            0x100000,
            64,
            shoff,
            0,
            64,
            56,
            3,
            64,
            len(shdrs),
            len(shdrs) - 1,
        )
    )
    with open(path, "wb") as fh:
        if filler is not None:
            chunk = (filler * (4 << 20 // max(1, len(filler)) + 1))[: 4 << 20]
            for offset in range(0, size, len(chunk)):
                fh.seek(offset)
                fh.write(chunk[: size - offset])
        fh.truncate(size)
        for offset, blob in (
            (0, header),
            (64, b"".join(phdrs)),
            (0x1000, notes),
            (end_notes, notes),
            (shoff, b"".join(shdrs)),
            (strtab_off, names),
        ):
            fh.seek(offset)
            fh.write(blob)


def kernel_like_filler(size: int) -> bytes:
    """Bytes that compress like kernel code: the machine's own executables and libraries,
    concatenated (random bytes where there are too few)."""
    out = bytearray()
    for directory in ("/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib"):
        for entry in sorted(Path(directory).glob("*")):
            if len(out) >= size:
                break
            if entry.is_file() and not entry.is_symlink():
                try:
                    out += entry.read_bytes()[: 4 << 20]
                except OSError:
                    continue
    out += random.Random(7).randbytes(max(0, size - len(out)))
    return bytes(out[:size])


def write_elf_notes_at(path: Path, size: int, notes_end: int) -> None:
    """Turn `path` (filler bytes) into an ELF with its PT_NOTE ending at `notes_end` and the
    section headers at the end, as in a vmlinux."""
    notes = xen_notes()
    note_off = notes_end - len(notes)
    shoff = size - 4 * 64
    names = b"\0.note.Xen\0.text\0.shstrtab\0"
    strtab_off = shoff - 64
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x1000000, 0x1000000, size, size, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(notes), len(notes), 4)
    shdrs = bytes(64)
    shdrs += struct.pack("<IIQQQQIIQQ", 1, 7, 2, 0, note_off, len(notes), 0, 0, 4, 0)
    shdrs += struct.pack("<IIQQQQIIQQ", 11, 1, 6, 0x1000000, 0x1000, 0x1000, 0, 0, 16, 0)
    shdrs += struct.pack("<IIQQQQIIQQ", 17, 3, 0, 0, strtab_off, len(names), 0, 0, 1, 0)
    header = (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, 64, shoff, 0, 64, 56, 2, 64, 4, 3)
    )
    with open(path, "r+b") as fh:
        for offset, blob in (
            (0, header + phdrs),
            (note_off, notes),
            (strtab_off, names),
            (shoff, shdrs),
        ):
            fh.seek(offset)
            fh.write(blob)


# ---------------------------------------------------------------------------------------
# Measuring


def cpu(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(CPU seconds, peak RSS in MiB, stdout) of one whole-process run of `cmd`."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env or ENV, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped by wait4
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def paired(a: list[str], b: list[str], runs: int) -> tuple[float, float, float]:
    """Median CPU of `a`, of `b`, and the median of the per-pair ratios a/b."""
    cpu(a), cpu(b)  # warm the page cache (and xenlint's entry-point memo)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(cpu(a)[0])
        tb.append(cpu(b)[0])
    ratios = [x / y for x, y in zip(ta, tb, strict=True) if y]
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def instructions(cmd: list[str]) -> int | None:
    """Instructions of one run: perf's hardware counter where the machine has one, else
    callgrind's count (None when neither tool works)."""
    if shutil.which("perf"):
        proc = subprocess.run(
            ["perf", "stat", "-x,", "-e", "instructions:u", *cmd],
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
        )
        for line in proc.stderr.splitlines():
            value = line.split(",")[0]
            if "instructions" in line and value.isdigit():
                return int(value)
    if shutil.which("valgrind"):
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
        )
        found = re.search(r"Collected : (\d+)", proc.stderr)
        if found:
            return int(found.group(1))
    return None


class Goal:
    """One line of the result table."""

    def __init__(
        self, name: str, measured: str, reference: str, ratio: float, limit: float, note: str = ""
    ) -> None:
        self.name, self.measured, self.reference = name, measured, reference
        self.ratio, self.limit, self.note = ratio, limit, note

    @property
    def met(self) -> bool:
        return self.ratio <= self.limit


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# ---------------------------------------------------------------------------------------
# Goals


def goal_startup(tmp: Path, runs: int) -> Iterator[Goal]:
    """(b) lint of a small image, --version and rules against the pyelftools note dump."""
    script = tmp / "reference_notes.py"
    script.write_text(REFERENCE_SCRIPT)
    image = str(EXAMPLES / "linux-pv-pvh.elf")
    ref = [sys.executable, str(script), image]
    t_py = statistics.median(cpu([sys.executable, "-c", "pass"])[0] for _ in range(runs))
    ref_instr = instructions(ref)
    for label, cmd in (
        (
            f"lint {Path(image).name} ({os.path.getsize(image) >> 10} KB)",
            [*XENLINT, "--isolated", "-q", image],
        ),
        ("--version", [*XENLINT, "--version"]),
        ("rules", [*XENLINT, "rules"]),
    ):
        t_xl, t_ref, ratio = paired(cmd, ref, runs)
        yield Goal(
            f"(b) {label}: CPU",
            ms(t_xl),
            ms(t_ref),
            ratio,
            1.2,
            f"pyelftools note dump; bare python {ms(t_py)}",
        )
        n_xl = instructions(cmd)
        if n_xl and ref_instr:
            yield Goal(
                f"(b) {label}: instructions",
                f"{n_xl / 1e6:.0f} M",
                f"{ref_instr / 1e6:.0f} M",
                n_xl / ref_instr,
                1.2,
            )


def goal_large(tmp: Path, runs: int, vmlinux: str | None) -> Iterator[Goal]:
    """(a) the 633 MB Debian debug vmlinux against a 10 KB image."""
    small = tmp / "small.elf"
    write_elf(small, 10 << 10, 20)
    if vmlinux and os.path.exists(vmlinux):
        big, what = vmlinux, f"{Path(vmlinux).name} ({os.path.getsize(vmlinux) >> 20} MiB)"
    else:
        big = str(tmp / "big.elf")
        write_elf(Path(big), 633378432, 78)  # the debug vmlinux's size and 82 sections
        what = "synthetic 633 MB ELF, 82 sections (sparse; no debug vmlinux given)"
    t_big, t_small, ratio = paired(
        [*XENLINT, "--isolated", "-q", big], [*XENLINT, "--isolated", "-q", str(small)], runs
    )
    yield Goal(f"(a) {what} vs 10 KB ELF: CPU", ms(t_big), ms(t_small), ratio, 1.05)


def payload_elfs(tmp: Path) -> list[tuple[bytes, str]]:
    """The real kernels to wrap: the vmlinux inside each of Debian's amd64 bzImages in
    build/distro (see .ci/fetch-distro-images), the generic kernel first: it is the one the
    issue measured ("the notes of Debian's amd64 kernel end at 36 % of its payload"); the
    cloud kernel's notes end later, at 44 %. Without them, a 48 MiB stand-in whose notes end
    at 16 MiB. (Both kernels carry their Xen notes in a PT_NOTE segment, so xenlint stops
    decompressing after it.)"""
    from xenlint.image.decompress import Source, sniff
    from xenlint.image.read import _bzimage_payload

    kernels = []
    boot = ROOT / "build" / "distro" / "boot"
    for bz in [*sorted(boot.glob("vmlinuz-*[0-9]-amd64")), *boot.glob("vmlinuz-*-cloud-amd64")]:
        fd = os.open(bz, os.O_RDONLY)
        try:
            start, end = _bzimage_payload(os.pread(fd, 0x268, 0), os.fstat(fd).st_size)
            codec = sniff(os.pread(fd, 16, start))
            if codec is None:
                continue
            elf = b"".join(codec.stream(Source(fd, start, end - 4)))
        finally:
            os.close(fd)
        kernels.append((elf, f"{bz.name}'s vmlinux ({len(elf) >> 20} MiB)"))
    if kernels:
        return kernels
    size = 48 << 20
    path = tmp / "vmlinux"
    path.write_bytes(kernel_like_filler(size))
    write_elf_notes_at(path, size, 16 << 20)
    return [(path.read_bytes(), "48 MiB stand-in")]


def notes_end(elf: bytes) -> int:
    """End of the last PT_NOTE segment (ELF64 little-endian)."""
    (phoff,) = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    end = 0
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype == 4:
            end = max(end, off + filesz)
    return end


COUNT_DECOMPRESSED = """
import sys
import xenlint.image.decompress as d
total = [0]
original = d.sniff
def counted(source, *args, **kwargs):
    for piece in stream(source, *args, **kwargs):
        total[0] += len(piece)
        yield piece
def sniff(head):
    global stream
    codec = original(head)
    if codec is None:
        return None
    stream = codec.stream
    return d.Codec(codec.name, codec.magics, counted, codec.extra)
d.sniff = sniff
from xenlint.image.read import load_image
load_image(sys.argv[1])
print(total[0])
"""

# What one step of each decompressor may produce past the point asked for: the bounded
# decompressors (gzip, bzip2, xz, lzma, zstd) stop within one output piece (1 MiB); lz4's
# legacy frame and lzo come in whole blocks (8 MiB, 256 KiB).
BLOCK = {"lz4": 8 << 20, "lzo": 256 << 10}
PIECE = 1 << 20


def goal_bzimage(tmp: Path, runs: int) -> Iterator[Goal]:
    """(c) xz/lzma/bzip2 bzImages against whole-process full decompression; for every codec,
    bytes decompressed <= end of the last PT_NOTE + one codec block; for each kernel of
    payload_elfs."""
    counter = tmp / "count.py"
    counter.write_text(COUNT_DECOMPRESSED)
    full = tmp / "full.py"
    full.write_text(FULL_DECOMPRESSION)
    for elf, what in payload_elfs(tmp):
        end = notes_end(elf)
        kernel = what.split("'")[0].removeprefix("vmlinuz-")
        for codec, cmd in COMPRESSORS.items():
            if not shutil.which(cmd[0]):
                continue
            packed = subprocess.run(cmd, input=elf, capture_output=True, check=True).stdout
            bz = tmp / f"bzImage.{codec}"
            bz.write_bytes(bzimage(packed, len(elf)))
            if codec in ("xz", "lzma", "bzip2"):
                t_xl, t_full, ratio = paired(
                    [*XENLINT, "--isolated", "-q", str(bz)],
                    [sys.executable, str(full), str(bz), codec],
                    max(3, runs // 3),
                )
                yield Goal(
                    f"(c) bzImage {codec}, {kernel}: CPU vs full decompression",
                    ms(t_xl),
                    ms(t_full),
                    ratio,
                    0.7,
                    f"{what}, notes end at {end / len(elf):.0%}",
                )
            counted = subprocess.run(
                [sys.executable, str(counter), str(bz)],
                capture_output=True,
                text=True,
                env=ENV,
                check=False,
            )
            try:
                produced = int(counted.stdout.split()[-1])
            except (ValueError, IndexError):
                produced = len(elf) * 10
            bound = end + BLOCK.get(codec, PIECE)
            yield Goal(
                f"(c) bzImage {codec}, {kernel}: bytes decompressed",
                f"{produced >> 10} KiB",
                f"{bound >> 10} KiB",
                produced / bound,
                1.0,
                "reference: end of the last PT_NOTE + one block",
            )


BOMB_RUN = """
import os, resource, sys
import xenlint.image.read as read
used = [0]
original = read._spool_and_parse
def watched(pieces, spool, *args, **kwargs):
    try:
        return original(pieces, spool, *args, **kwargs)
    finally:
        used[0] = max(used[0], os.fstat(spool.fileno()).st_blocks * 512)
read._spool_and_parse = watched
from xenlint.cli.main import main
sys.stdout = open(os.devnull, "w")
status = main(["--isolated", "-q", sys.argv[1]])
sys.stdout = sys.__stdout__
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak across exec into ru_maxrss.
with open("/proc/self/status") as fh:
    peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(status, used[0], peak)
"""


def bomb_stream(kind: str, size: int) -> Iterator[bytes]:
    """The uncompressed bomb: `zeros` (size zero bytes), or `far-notes`, an ELF whose
    PT_NOTE lies at `size` after zeros."""
    chunk = bytes(16 << 20)
    if kind == "far-notes":
        notes = xen_notes()
        phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x1000000, 0x1000000, 0x1000, 0x1000, 0x1000)
        phdrs += struct.pack("<IIQQQQQQ", 4, 4, size, 0, 0, len(notes), len(notes), 4)
        header = (
            b"\x7fELF\x02\x01\x01"
            + bytes(9)
            + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
        )
        head = header + phdrs
        yield head
        left = size - len(head)
    else:
        left = size
    while left > 0:
        yield chunk[: min(left, len(chunk))]
        left -= min(left, len(chunk))
    if kind == "far-notes":
        yield xen_notes()


# The compressors at their fastest levels: a bomb is gigabytes of zeros.
BOMB_TOOLS = {
    "gzip": ["gzip", "-1", "-n", "-c"],
    "bzip2": ["bzip2", "-1", "-c"],
    "xz": ["xz", "--check=crc32", "-0", "-T1", "-c"],
    "lzma": ["lzma", "-0", "-c"],
    "lzo": ["lzop", "-1", "-c"],
    "lz4": ["lz4", "-l", "-1", "-c"],
    "zstd": ["zstd", "-1", "-q", "-c"],
}


def make_bomb(cache: Path, codec: str, kind: str, size: int) -> Path:
    """A bzImage of the bomb, compressed by the real tool at its fastest level (cached)."""
    path = cache / f"bomb-{kind}-{size >> 20}M.{codec}"
    if path.exists():
        return path
    cmd = BOMB_TOOLS[codec]
    with tempfile.TemporaryFile() as raw:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=raw)
        assert proc.stdin
        for piece in bomb_stream(kind, size):
            proc.stdin.write(piece)
        proc.stdin.close()
        proc.wait()
        raw.seek(0)
        packed = raw.read()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bzimage(packed, size & 0xFFFFFFFF))
    tmp.replace(path)
    return path


def goal_bombs(tmp: Path, runs: int, cache: Path) -> Iterator[Goal]:
    """Bombs stop within 2 s CPU, 64 MiB disk and memory, with one XL000 line saying how to
    raise the cap; a note 1.5 GiB in costs <= 8 MiB of disk."""
    runner = tmp / "bomb.py"
    runner.write_text(BOMB_RUN)
    cache.mkdir(parents=True, exist_ok=True)
    cases = [
        (codec, kind, DEFAULT_CAP + (64 << 20))
        for codec in COMPRESSORS
        for kind in ("zeros", "far-notes")
        if shutil.which(COMPRESSORS[codec][0])
    ]
    for codec, kind, size in cases:
        bomb = make_bomb(cache, codec, kind, size)
        seconds, _, out = cpu([sys.executable, str(runner), str(bomb)])
        status, disk, peak = (int(x) for x in out.split()[-3:]) if out.split() else (-1, -1, 0)
        rss = peak / 1024
        lines = subprocess.run(
            [*XENLINT, "--isolated", "-q", str(bomb)],
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
        ).stdout.splitlines()
        one = len(lines) == 1 and "XL000" in lines[0]
        says = one and "--max-decompressed-size" in lines[0]
        worst = max(seconds / 2, rss / 64, disk / (64 << 20))
        note = (
            f"{os.path.getsize(bomb) >> 10} KiB -> {size >> 20} MiB; {ms(seconds)}, "
            f"RSS {rss:.0f} MiB, disk {disk >> 20} MiB; exit {status}; "
            + (
                "one XL000 line naming --max-decompressed-size"
                if says
                else "one XL000 line"
                if one
                else f"{len(lines)} lines"
            )
        )
        yield Goal(
            f"bomb {codec} ({kind})",
            f"{worst:.2f} of budget",
            "2 s / 64 MiB",
            worst if (one and (says or kind == "zeros")) else 99.0,
            1.0,
            note,
        )
    if shutil.which("gzip"):
        far = make_bomb(cache, "gzip", "far-notes", 3 << 29)  # 1.5 GiB, under the cap
        seconds, _, out = cpu([sys.executable, str(runner), str(far)])
        _, disk, peak = (int(x) for x in out.split()[-3:]) if out.split() else (-1, -1, 0)
        rss = peak / 1024
        yield Goal(
            "note 1.5 GiB into a gzip payload: disk",
            f"{disk >> 10} KiB",
            "8 MiB",
            disk / (8 << 20),
            1.0,
            f"{ms(seconds)} CPU, RSS {rss:.0f} MiB",
        )


def goal_many(tmp: Path, runs: int, baseline: str | None = None) -> Iterator[Goal]:
    """10,000 small images in one call: CPU per extra image, against 0.7 ms (the issue's
    figure) and, given `baseline` (the `xenlint` of a build of the code the issue measured),
    against that build's own per-image cost measured alternately in the same run."""
    many = tmp / "many"
    many.mkdir()
    sources = sorted(EXAMPLES.glob("*.elf"))
    for i in range(10000):
        src = sources[i % len(sources)]
        os.link(src, many / f"{i:05d}-{src.name}")
    first = str(many / f"00000-{sources[0].name}")

    def per_image(xenlint: list[str]) -> tuple[float, float, float]:
        """(CPU seconds per extra image, of the whole call, of one image)."""
        t_one = statistics.median(
            cpu([*xenlint, "--isolated", "-q", first])[0] for _ in range(runs)
        )
        t_many = min(cpu([*xenlint, "--isolated", "-q", str(many)])[0] for _ in range(2))
        return (t_many - t_one) / 9999, t_many, t_one

    builds = [XENLINT] + ([[baseline]] if baseline else [])
    measured = [per_image(xl) for xl in builds]
    per, t_many, t_one = measured[0]
    yield Goal(
        "10,000 small images in one call: CPU per image",
        f"{per * 1000:.2f} ms",
        "0.70 ms",
        per / 0.0007,
        1.0,
        f"whole call {t_many:.1f} s, one image {ms(t_one)}",
    )
    if baseline:
        old = measured[1][0]
        yield Goal(
            "10,000 small images in one call: CPU per image, against the issue's code",
            f"{per * 1000:.2f} ms",
            f"{old * 1000:.2f} ms",
            per / old,
            1.0,
            f"reference: {baseline} (whole call {measured[1][1]:.1f} s)",
        )


GOALS: dict[str, Callable[..., Iterator[Goal]]] = {
    "startup": goal_startup,
    "large": goal_large,
    "bzimage": goal_bzimage,
    "bombs": goal_bombs,
    "many": goal_many,
}


def install_notes() -> list[str]:
    """Warnings when the measured install is not the one the goals are defined on."""
    import importlib.metadata as md

    notes = []
    dist = md.distribution("xenlint")
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        notes.append(
            "WARNING: xenlint is an editable install; the goals are defined on a non-editable one"
        )
    files = [str(f) for f in dist.files or () if str(f).endswith(".py")]
    if not any(f.endswith(".pyc") for f in map(str, dist.files or ())) and not any(
        (Path(dist.locate_file(f)).parent / "__pycache__").is_dir() for f in files[:5]
    ):
        notes.append("WARNING: xenlint's bytecode is not compiled (python -m compileall)")
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", help=f"some of: {', '.join(GOALS)} (default all)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument(
        "--debug-vmlinux",
        default=os.environ.get("XENLINT_BENCH_DEBUG_VMLINUX"),
        help="Debian's debug vmlinux for goal (a) (linux-image-*-amd64-dbg, "
        "usr/lib/debug/boot/vmlinux-*); a synthetic image of its size and shape otherwise",
    )
    parser.add_argument(
        "--baseline-xenlint",
        default=None,
        help="for goal 'many': the xenlint of a non-editable build of the code the issue "
        "measured (fde2bf7), whose per-image cost is measured in the same run",
    )
    parser.add_argument(
        "--cache",
        default=os.path.join(tempfile.gettempdir(), f"xenlint-bench-{os.getuid()}"),
        help="where the compressed bombs are kept between runs",
    )
    args = parser.parse_args()
    unknown = [w for w in args.which if w not in GOALS]
    if unknown:
        parser.error(f"unknown goal(s) {', '.join(unknown)}; choose from {', '.join(GOALS)}")
    runs = args.runs or (5 if args.quick else 21)
    goals: list[Goal] = []
    with tempfile.TemporaryDirectory(prefix="xenlint-bench-") as tmp:
        for name in args.which or list(GOALS):
            extra = {
                "large": (args.debug_vmlinux,),
                "bombs": (Path(args.cache),),
                "many": (args.baseline_xenlint,),
            }.get(name, ())
            where = Path(tmp) / name
            where.mkdir()
            goals.extend(GOALS[name](where, runs, *extra))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {runs} paired runs (median)")
    for note in install_notes():
        print(note)
    print()
    print("| goal | xenlint | reference | ratio | limit | | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for g in goals:
        verdict = "met" if g.met else "**missed**"
        print(
            f"| {g.name} | {g.measured} | {g.reference} | {g.ratio:.2f} | <= {g.limit:g} "
            f"| {verdict} | {g.note} |"
        )
    missed = [g for g in goals if not g.met]
    print(f"\n{len(goals) - len(missed)} of {len(goals)} goals met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
