"""The fuzz target shared by the atheris harness (tests/fuzz_images.py), the hypothesis
mutation tests (tests/test_fuzz.py) and the mutation run of real images
(benchmarks/mutate_images.py): any bytes, through the real loader, every rule in every cell of
every registered target family (Xen releases and every loader family a plugin contributes)
in every mode selection, and every output format, must end in findings or one ImageError
line, never another exception, and within a time and memory budget.

Seeds are real images: the as/ld-built examples, ELF32 and ELF64, in their own (little-endian)
byte order and byte-swapped to big-endian, bare, gzip-wrapped and inside bzImages whose
payloads the real compressors wrote (every codec whose tool is installed).

Nothing here imports xenlint at module level: the atheris harness must import every xenlint
module itself, inside its instrumentation, before this module touches any of them."""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wrapping import COMPRESSORS, bzimage

if TYPE_CHECKING:
    from xenlint.abi.profile import Mode
    from xenlint.engine.plugin import Registry

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
CRASHERS = HERE / "crashers"
FUZZ_CAP = 8 << 20  # decompression cap while fuzzing: bombs stop quickly

# Issue 13's budget for any input under 16 MB: < 2 s and < 200 MB. Checked in CPU seconds
# (a shared 2-core machine stretches wall time, not CPU time) and in peak RSS above the RSS
# before the input, by the long fuzz runs (atheris, benchmarks/mutate_images.py).
BUDGET_SECONDS = 2.0
BUDGET_MB = 200.0
# The unit tests only guard against blow-ups (hangs, quadratic work, gigabytes): timed
# assertions at the budget itself would be flaky on a loaded CI machine.
GUARD_SECONDS = 10 * BUDGET_SECONDS
GUARD_MB = 5 * BUDGET_MB


class Crash(AssertionError):
    """xenlint did something other than findings or a one-line ImageError."""


class OverBudget(Crash):
    """One input cost more CPU time or memory than allowed."""


@cache
def registry() -> Registry:
    """Every plugin the `xenlint` entry points name, loaded once."""
    from xenlint.engine.plugin import load as load_plugins

    reg = load_plugins()
    if reg.errors:
        raise RuntimeError(reg.errors)
    return reg


def mode_selections(data: bytes) -> list[list[Mode] | None]:
    """The ways a run chooses modes: `auto` (None: what the image declares), every mode at
    once, and one mode alone (a loader profile drops out of a mode it cannot boot), chosen by
    the input's CRC so each input is judged the same way every time it is replayed while
    every single mode is reached across inputs (all six selections would halve the rate)."""
    from xenlint.abi.profile import MODE_ORDER

    return [None, list(MODE_ORDER), [MODE_ORDER[zlib.crc32(data) % len(MODE_ORDER)]]]


@cache
def _scratch() -> str:
    fd, path = tempfile.mkstemp(prefix="xenlint-fuzz-")
    os.close(fd)
    atexit.register(os.unlink, path)
    return path


def families() -> list[str]:
    """The registered target families (xen, qemu, firecracker, ... and any a plugin adds)."""
    return sorted({p.family for p in registry().profiles})


def lint_bytes(
    data: bytes,
    cap: int = FUZZ_CAP,
    *,
    only: Collection[str] | None = None,
    selections: Sequence[Sequence[Mode] | None] | None = None,
) -> None:
    """Load `data` as an image file (decompressing at most `cap` bytes) and run every rule
    over every registered target (or those of the families in `only`) in every mode
    selection (default: mode_selections(data)), then render the findings in every output
    format and the `notes` record. Raises Crash (or lets the unexpected exception through)
    if xenlint misbehaves."""
    from xenlint.cli.notes import record as notes_record
    from xenlint.engine.check import cells_for, run_rules
    from xenlint.image.model import ImageError
    from xenlint.image.read import load_image

    path = _scratch()
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        image = load_image(path, max_decompressed=cap)
    except ImageError as exc:
        if "\n" in str(exc) or not str(exc):
            raise Crash(f"ImageError message is not one line: {exc!r}") from None
        return
    reg = registry()
    profiles = [p for p in reg.profiles if only is None or p.family in only]
    findings = []
    for modes in mode_selections(data) if selections is None else selections:
        cells = cells_for(image, profiles, modes)
        found, errors = run_rules(image, reg.rules.values(), cells, reg.profiles)
        if errors:
            raise Crash("; ".join(errors))
        findings.extend(found)
    json.dumps(notes_record(image))
    _render(findings, reg)


def _render(findings: list[Any], reg: Registry) -> None:
    """Every output format over the findings; machine formats must parse back."""
    import xml.etree.ElementTree as ET

    from xenlint.output import report

    run = report.Run(findings, [], [_scratch()], reg.rules, reg.profiles, 1)
    report.text(findings, reg.profiles, True)
    json.loads(report.as_json(findings, []))
    report.statistics_text(report.statistics(findings))
    for fmt in reg.output_formats.values():  # the built-in formats and any plugin's
        rendered = fmt.render(run)
        if fmt.name in ("json", "sarif", "sarif-github", "gitlab"):
            json.loads(rendered)
        elif fmt.name == "junit":
            ET.fromstring(rendered.split("\n", 1)[1])


@dataclass(frozen=True)
class Cost:
    """What one input cost: CPU seconds (user + system) and peak RSS growth in MB."""

    cpu: float
    mb: float

    def over(self, seconds: float, mb: float) -> bool:
        return self.cpu > seconds or self.mb > mb

    def __str__(self) -> str:
        return f"{self.cpu:.2f} s CPU, {self.mb:.0f} MB peak RSS growth"


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so it measures one input (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(data: bytes, cap: int = FUZZ_CAP, **options: Any) -> Cost:
    """Run lint_bytes on `data` and return its cost. Where VmHWM cannot be reset, the peak
    is ru_maxrss, a lifetime maximum: an input is then charged only the peak it raised."""
    rss0 = _status_kb("VmRSS:") or 0
    exact = _reset_peak()
    max0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    lint_bytes(data, cap, **options)
    cpu = time.process_time() - t0
    peak = _status_kb("VmHWM:") if exact else None
    if peak is None:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = maxrss if maxrss > max0 else rss0
    return Cost(cpu, max(0, peak - rss0) / 1024)


def lint_bounded(
    data: bytes, seconds: float = GUARD_SECONDS, mb: float = GUARD_MB, **options: Any
) -> Cost:
    """lint_bytes (`options` are its keywords), failing with OverBudget when the input
    costs more than `seconds` of CPU or `mb` of peak RSS growth."""
    cost = measure(data, **options)
    if cost.over(seconds, mb):
        raise OverBudget(f"input of {len(data)} bytes took {cost} (limit {seconds} s, {mb} MB)")
    return cost


def measure_apart(data: bytes, timeout: float | None = None) -> Cost:
    """The cost of lint_bytes(data) in a fresh, uninstrumented Python: atheris's tracing
    makes an instrumented run several times slower, so only this figure is held to the
    budget, and a replay that hangs is killed after `timeout` wall seconds (OverBudget)."""
    fd, path = tempfile.mkstemp(prefix="xenlint-fuzz-measure-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure", path],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise OverBudget(f"input of {len(data)} bytes still running after {timeout} s") from None
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise Crash(f"uninstrumented replay failed: {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout)
    return Cost(out["cpu"], out["mb"])


# ELF header fields after e_ident, per class: (struct format, field count).
_EHDR = {1: "HHIIIIIHHHHHH", 2: "HHIQQQIHHHHHH"}
_PHDR = {1: "IIIIIIII", 2: "IIQQQQQQ"}
_SHDR = {1: "IIIIIIIIII", 2: "IIQQQQIIQQ"}
PT_NOTE, SHT_NOTE = 4, 7


def byteswapped(elf: bytes) -> bytes:
    """A little-endian ELF rewritten big-endian: EI_DATA, the file header, the program and
    section header tables, every note header in a PT_NOTE segment or SHT_NOTE section, and
    every numeric Xen note descriptor of 1/2/4/8 bytes (libelf reads both byte orders, and
    as/ld cannot write a big-endian x86 image, nor will objcopy convert one). Code and other
    section contents are left alone: no rule reads them as words."""
    from xenlint.abi.notes import BY_NUMBER, DescKind

    cls = elf[4]
    out = bytearray(elf)
    out[5] = 2
    fields = list(struct.unpack_from("<" + _EHDR[cls], elf, 16))
    struct.pack_into(">" + _EHDR[cls], out, 16, *fields)
    phoff, shoff, phentsize, phnum, shentsize, shnum = (fields[i] for i in (4, 5, 8, 9, 10, 11))
    ranges = []
    for i in range(phnum):
        at = phoff + i * phentsize
        ph = struct.unpack_from("<" + _PHDR[cls], elf, at)
        struct.pack_into(">" + _PHDR[cls], out, at, *ph)
        offset, filesz = (ph[1], ph[4]) if cls == 1 else (ph[2], ph[5])
        if ph[0] == PT_NOTE:
            ranges.append((offset, filesz))
    for i in range(shnum):
        at = shoff + i * shentsize
        sh = struct.unpack_from("<" + _SHDR[cls], elf, at)
        struct.pack_into(">" + _SHDR[cls], out, at, *sh)
        if sh[1] == SHT_NOTE:
            ranges.append((sh[4], sh[5]))
    swapped: set[int] = set()
    for start, size in ranges:
        pos, end = start, start + size
        while pos + 12 <= end and pos not in swapped:
            swapped.add(pos)
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            struct.pack_into(">III", out, pos, namesz, descsz, ntype)
            name = elf[pos + 12 : pos + 12 + namesz]
            desc_at = pos + 12 + (namesz + 3) // 4 * 4
            kind = BY_NUMBER[ntype].kind if ntype in BY_NUMBER else None
            word = {DescKind.BITMAP: 4, DescKind.WORDS: 4, DescKind.PAIRS: 8}.get(kind, descsz)
            if kind is DescKind.NUMERIC and descsz not in (1, 2, 4, 8):
                word = 0
            if name == b"Xen\0" and word:
                for at in range(desc_at, desc_at + descsz - word + 1, word):
                    out[at : at + word] = elf[at : at + word][::-1]
            pos = desc_at + (descsz + 3) // 4 * 4
    return bytes(out)


@cache
def seeds() -> tuple[bytes, ...]:
    """Every example kernel, as is and big-endian, bare and wrapped by every installed
    compressor (gzip alone as xen.gz does, every codec inside a bzImage)."""
    out = []
    for elf_path in sorted(EXAMPLES.glob("*.elf")):
        for elf in (elf_path.read_bytes(), byteswapped(elf_path.read_bytes())):
            out.append(elf)
            if elf[5] != 1:
                continue  # one wrapped copy of each kernel is enough
            for codec, cmd in COMPRESSORS.items():
                if shutil.which(cmd[0]):
                    # zstd -22 on a pipe sizes its window for any input: 2 s and 670 MB per
                    # seed. The size hint makes it 40 ms; the frame is still zstd's own.
                    hint = [f"--size-hint={len(elf)}"] if codec == "zstd" else []
                    packed = subprocess.run(cmd + hint, input=elf, capture_output=True).stdout
                    if codec == "gzip":
                        out.append(packed)
                    out.append(bzimage(packed, len(elf)))
    return tuple(out)


def crashers() -> list[Path]:
    return sorted(p for p in CRASHERS.iterdir() if p.is_file() and p.name != "README.md")


def _measure_main(path: str) -> None:
    """`python tests/fuzztarget.py --measure FILE`: print the cost of FILE as JSON."""
    registry()
    lint_bytes((EXAMPLES / "linux-pv-pvh.elf").read_bytes())  # import all it touches first
    cost = measure(Path(path).read_bytes())
    print(json.dumps({"cpu": cost.cpu, "mb": cost.mb}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        _measure_main(sys.argv[2])
    else:
        sys.exit("usage: fuzztarget.py --measure FILE")
