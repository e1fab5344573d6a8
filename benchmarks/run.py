"""xenlint's speed and memory targets, each measured as a ratio against a reference in the
same run (so the numbers mean the same on a slower machine).

    python benchmarks/run.py            # all benchmarks, results table on stdout
    python benchmarks/run.py --quick    # fewer repetitions
    python benchmarks/run.py large startup bzimage many memory

Needs: xenlint installed with the zstd/lz4 extras, binutils' readelf, xz/zstd/lz4 tools,
about 1 GB of sparse disk space in the temporary directory (no real blocks are written).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from wrapping import bzimage  # noqa: E402  (the tests' boot-protocol header writer)

EXAMPLES = ROOT / "examples"
XENLINT = [sys.executable, "-m", "xenlint", "--isolated", "-q"]
if shutil.which("xenlint"):
    XENLINT = [shutil.which("xenlint") or "xenlint", "--isolated", "-q"]

REFERENCE_SCRIPT = """
import sys
from elftools.elf.elffile import ELFFile
with open(sys.argv[1], "rb") as f:
    for seg in ELFFile(f).iter_segments():
        if seg.header.p_type == "PT_NOTE":
            for n in seg.iter_notes():
                print(n.n_name, n.n_type, n.n_descsz)
"""


def timed(cmd: list[str], runs: int) -> float:
    """Median wall time of `cmd` (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(a: list[str], b: list[str], runs: int) -> tuple[float, float]:
    """Median times of two commands run alternately, so drift hits both alike."""
    ta, tb = [], []
    for _ in range(runs):
        ta.append(timed(a, 1))
        tb.append(timed(b, 1))
    return statistics.median(ta), statistics.median(tb)


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


# ---------------------------------------------------------------------------------------
# Benchmarks: each returns (name, measured, reference, ratio, target, note)

Row = tuple[str, str, str, float, str, str]


def bench_large(tmp: Path, runs: int) -> list[Row]:
    big, small = tmp / "big.elf", tmp / "small.elf"
    write_elf(big, 1 << 30, 5000)
    write_elf(small, 10 << 10, 20)
    assert big.stat().st_blocks * 512 < 64 << 20, "the 1 GB image should be sparse"
    t_big, t_small = interleaved([*XENLINT, str(big)], [*XENLINT, str(small)], runs)
    t_readelf = timed(["readelf", "-n", str(big)], runs) if shutil.which("readelf") else 0.0
    plain = tmp / "big-few-sections.elf"
    write_elf(plain, 1 << 30, 20)
    t_plain, t_small2 = interleaved([*XENLINT, str(plain)], [*XENLINT, str(small)], runs)
    return [
        (
            "1 GB ELF (20 sections) vs 10 KB ELF (20 sections)",
            f"{t_plain * 1000:.1f} ms",
            f"{t_small2 * 1000:.1f} ms",
            t_plain / t_small2,
            "<= 1.05",
            "same tables, only the file size differs",
        ),
        (
            "1 GB ELF (5000 sections) vs 10 KB ELF",
            f"{t_big * 1000:.1f} ms",
            f"{t_small * 1000:.1f} ms",
            t_big / t_small,
            "<= 1.05",
            f"readelf -n on the 1 GB image: {t_readelf * 1000:.1f} ms "
            f"(xenlint/readelf = {t_big / t_readelf:.0f}x)"
            if t_readelf
            else "",
        ),
    ]


def bench_memory(tmp: Path, runs: int) -> list[Row]:
    big = tmp / "big.elf"
    if not big.exists():
        write_elf(big, 1 << 30, 5000)
    code = (
        "import resource, sys; from xenlint.cli.main import main; main(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "--isolated", "-q", str(big)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    peak = int(out[-1]) / 1024
    ref = subprocess.run(
        [sys.executable, "-c", "import resource; print(resource.getrusage(0).ru_maxrss)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    base = int(ref[-1]) / 1024
    return [
        (
            "peak RSS, 1 GB ELF",
            f"{peak:.1f} MB",
            f"{base:.1f} MB (bare python)",
            peak / base,
            "< 100 MB",
            "absolute target",
        )
    ]


def bench_startup(tmp: Path, runs: int) -> list[Row]:
    script = tmp / "reference_notes.py"
    script.write_text(REFERENCE_SCRIPT)
    image = str(EXAMPLES / "linux-pv-pvh.elf")
    t_xl, t_ref = interleaved([*XENLINT, image], [sys.executable, str(script), image], runs)
    t_py = timed([sys.executable, "-c", "pass"], runs)
    return [
        (
            "start-up: xenlint vs pyelftools note script",
            f"{t_xl * 1000:.1f} ms",
            f"{t_ref * 1000:.1f} ms",
            t_xl / t_ref,
            "<= 1.2",
            f"bare python: {t_py * 1000:.1f} ms",
        )
    ]


def bench_bzimage(tmp: Path, runs: int) -> list[Row]:
    """A 48 MiB kernel whose notes end at 16 MiB (the first third), in a bzImage."""
    from xenlint.image.decompress import Source, sniff
    from xenlint.image.read import load_image

    size = 48 << 20
    path = tmp / "vmlinux"
    path.write_bytes(kernel_like_filler(size))
    write_elf_notes_at(path, size, 16 << 20)
    elf = path.read_bytes()
    rows = []
    for codec, cmd in (
        ("xz", ["xz", "--check=crc32", "--x86", "-6", "-T1", "-c"]),
        ("zstd", ["zstd", "-19", "-c", "-q"]),
        ("lz4", ["lz4", "-l", "-9", "-c"]),
        ("gzip", ["gzip", "-9n", "-c"]),
    ):
        if not shutil.which(cmd[0]):
            continue
        packed = subprocess.run(cmd, input=elf, capture_output=True, check=True).stdout
        bz = tmp / f"bzImage.{codec}"
        bz.write_bytes(bzimage(packed, len(elf), stub=0))  # payload right after the setup

        def full(bz: Path = bz) -> None:
            fd = os.open(bz, os.O_RDONLY)
            try:
                start, end = 5 * 512, bz.stat().st_size - 4
                codec_ = sniff(os.pread(fd, 16, start))
                assert codec_ is not None
                for _ in codec_.stream(Source(fd, start, end)):
                    pass
            finally:
                os.close(fd)

        def lint(bz: Path = bz) -> None:
            assert load_image(str(bz)).notes

        t_lint, t_full = in_process(lint, full, runs)
        rows.append(
            (
                f"bzImage ({codec}, 48 MiB, notes end at 16 MiB) vs full decompression",
                f"{t_lint * 1000:.0f} ms",
                f"{t_full * 1000:.0f} ms",
                t_lint / t_full,
                "<= 0.7",
                f"payload {len(packed) >> 10} KiB",
            )
        )
    return rows


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


def in_process(a: Callable[[], None], b: Callable[[], None], runs: int) -> tuple[float, float]:
    ta, tb = [], []
    for _ in range(runs):
        for fn, acc in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb)


def bench_many(tmp: Path, runs: int) -> list[Row]:
    many = tmp / "many"
    many.mkdir(exist_ok=True)
    sources = sorted(EXAMPLES.glob("*.elf"))
    for i in range(1000):
        src = sources[i % len(sources)]
        (many / f"{src.stem}-{i}.elf").write_bytes(src.read_bytes())
    t_many = timed([*XENLINT, str(many)], max(1, runs // 3))
    t_one = timed([*XENLINT, str(many / f"{sources[0].stem}-0.elf")], runs)
    return [
        (
            "1,000 small images in one call",
            f"{t_many:.2f} s",
            f"{t_one * 1000:.0f} ms (one image)",
            t_many / t_one,
            "< 5 s",
            f"{os.cpu_count()} CPUs; {(t_many - t_one) / 999 * 1000:.2f} ms per extra image",
        )
    ]


BENCHES = {
    "large": bench_large,
    "memory": bench_memory,
    "startup": bench_startup,
    "bzimage": bench_bzimage,
    "many": bench_many,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", help=f"some of: {', '.join(BENCHES)} (default all)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    unknown = [w for w in args.which if w not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    runs = args.runs or (5 if args.quick else 21)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="xenlint-bench-") as tmp:
        for name in args.which or list(BENCHES):
            rows.extend(BENCHES[name](Path(tmp), runs))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {runs} runs (median)\n")
    print("| benchmark | xenlint | reference | ratio | target | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, measured, ref, ratio, target, note in rows:
        print(f"| {name} | {measured} | {ref} | {ratio:.2f} | {target} | {note} |")


if __name__ == "__main__":
    main()
