"""Mutation run of the real images: truncations, bit flips and header fields at extremes of
the Debian images in build/distro (`.ci/fetch-distro-images`) and of examples/*.elf, each
variant through the fuzz target of tests/fuzztarget.py (the real loader with the CLI's own
decompression cap, every rule over every registered target family in `auto` mode as a CLI
run judges it, or with --all-modes also in all and one single mode; every output format) and
held to issue 13's budget: < 2 s CPU and < 200 MB peak
RSS growth per input, and no hang (a variant still running after --hang seconds of wall time
is killed).

    python benchmarks/mutate_images.py                      # 20,000 variants, 1 worker
    python benchmarks/mutate_images.py -n 2000 -j 2 --out /tmp/mut   IMAGE...

Variants are deterministic (variant i of a run with --seed S is always the same bytes), so a
finding is reproduced with `--only I`. Every crash, hang or over-budget variant is written to
--out (default: a temporary directory) and the run exits 1; the summary goes to stdout and,
with --json, as JSON to a file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import fuzztarget  # noqa: E402  (the shared fuzz target)

KINDS = ("truncate", "flip", "flip-hot", "extreme")
EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63, 2**64 - 1]
# The CLI's default cap (xenlint.image.read.DEFAULT_MAX_DECOMPRESSED): real kernels keep
# their notes 20+ MiB into the payload, past the fuzzers' 8 MiB.
CLI_CAP = 2 << 30


def default_images() -> list[Path]:
    distro = ROOT / "build" / "distro"
    found = sorted((distro / "boot").glob("*")) + sorted(distro.glob("grub.xen"))
    return [p for p in found if p.is_file()] + sorted((ROOT / "examples").glob("*.elf"))


def hot_ranges(data: bytes) -> list[tuple[int, int]]:
    """Where a flip matters most: the ELF header, program header table and PT_NOTE contents
    of a bare ELF; the setup header and the first 4 KiB of the payload of a bzImage (Linux
    Documentation/arch/x86/boot.rst); the gzip member header (RFC 1952)."""
    if data[:4] == b"\x7fELF" and len(data) >= 64:
        order = "<" if data[5] == 1 else ">"
        wide = data[4] == 2
        phoff, phentsize, phnum = (
            struct.unpack_from(order + "Q", data, 0x20)[0]
            if wide
            else struct.unpack_from(order + "I", data, 0x1C)[0],
            *struct.unpack_from(order + "HH", data, 0x36 if wide else 0x2A),
        )
        ranges = [(0, 64 if wide else 52), (phoff, phoff + phentsize * phnum)]
        for i in range(min(phnum, 64)):
            at = phoff + i * phentsize
            if at + phentsize > len(data):
                break
            if struct.unpack_from(order + "I", data, at)[0] == 4:
                off, size = (
                    struct.unpack_from(order + "QQQQ", data, at + 8)[::3]
                    if wide
                    else struct.unpack_from(order + "IIII", data, at + 4)[::3]
                )
                ranges.append((off, off + size))
        return [(a, min(b, len(data))) for a, b in ranges if a < min(b, len(data))]
    if data[0x202:0x206] == b"HdrS":
        start = 512 * ((data[0x1F1] or 4) + 1) + struct.unpack_from("<I", data, 0x248)[0]
        return [(0x1F1, 0x270), (start, min(start + 4096, len(data)))]
    return [(0, min(64, len(data)))]


def variant(data: bytes, hot: list[tuple[int, int]], kind: str, rng: random.Random) -> bytes:
    """One mutation of `data` of the given kind."""
    if kind == "truncate":
        # Half anywhere, half inside or at the end of a hot range (a cut mid-table or mid-note).
        if rng.random() < 0.5:
            return data[: rng.randrange(len(data) + 1)]
        a, b = rng.choice(hot)
        return data[: rng.randint(a, b)]
    buf = bytearray(data)
    if kind in ("flip", "flip-hot"):
        for _ in range(rng.randint(1, 8)):
            if kind == "flip":
                pos = rng.randrange(len(buf))
            else:
                a, b = rng.choice(hot)
                pos = rng.randrange(a, b)
            buf[pos] ^= 1 << rng.randrange(8)
        return bytes(buf)
    for _ in range(rng.randint(1, 3)):
        width = rng.choice((1, 2, 4, 8))
        a, b = rng.choice(hot)
        pos = rng.randrange(a, max(a + 1, b - width + 1))
        value = rng.choice(EXTREMES) % (1 << (8 * width))
        order = "little" if data[5:6] != b"\x02" or data[:4] != b"\x7fELF" else "big"
        buf[pos : pos + width] = value.to_bytes(width, order)
    return bytes(buf[: len(data)])


class Plan:
    """Variant i: image i mod N, kind (i div N) mod 4, from an RNG seeded with (seed, i)."""

    def __init__(self, images: list[Path], seed: int) -> None:
        self.images = images
        self.seed = seed
        self._data: dict[int, tuple[bytes, list[tuple[int, int]]]] = {}

    def describe(self, i: int) -> tuple[Path, str]:
        n = len(self.images)
        return self.images[i % n], KINDS[(i // n) % len(KINDS)]

    def build(self, i: int) -> bytes:
        k = i % len(self.images)
        if k not in self._data:
            data = self.images[k].read_bytes()
            self._data[k] = (data, hot_ranges(data))
        data, hot = self._data[k]
        _, kind = self.describe(i)
        return variant(data, hot, kind, random.Random(f"{self.seed}:{i}"))


def _worker(conn: mp.connection.Connection, images: list[str], seed: int, all_modes: bool) -> None:
    options = {} if all_modes else {"selections": [None]}
    plan = Plan([Path(p) for p in images], seed)
    fuzztarget.registry()
    fuzztarget.lint_bytes((ROOT / "examples" / "linux-pv-pvh.elf").read_bytes())
    while True:
        i = conn.recv()
        if i is None:
            return
        data = plan.build(i)
        try:
            cost = fuzztarget.measure(data, CLI_CAP, **options)
            conn.send((i, "ok", cost.cpu, cost.mb, ""))
        except Exception as exc:  # a crash of the target is the finding
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            conn.send((i, "crash", 0.0, 0.0, text[-2000:] + "\n" + traceback.format_exc()[-3000:]))


class Worker:
    def __init__(self, images: list[Path], seed: int, all_modes: bool) -> None:
        self.args = ([str(p) for p in images], seed, all_modes)
        self.start()

    def start(self) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker, args=(child, *self.args), daemon=True)
        self.proc.start()
        self.job: int | None = None
        self.since = 0.0

    def send(self, i: int) -> None:
        self.job, self.since = i, time.monotonic()
        self.conn.send(i)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.start()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="*", type=Path)
    ap.add_argument("-n", "--variants", type=int, default=20000)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", type=int, action="append", help="run just this variant index")
    ap.add_argument("--only-image", metavar="NAME", help="run just the variants of this image")
    ap.add_argument("--out", type=Path, help="where offending variants are written")
    ap.add_argument("--json", type=Path, help="write the summary here as JSON")
    ap.add_argument("--all-modes", action="store_true", help="also all and one single mode")
    ap.add_argument("--hang", type=float, default=60.0, help="wall seconds before a kill")
    ap.add_argument("--seconds", type=float, default=fuzztarget.BUDGET_SECONDS)
    ap.add_argument("--mb", type=float, default=fuzztarget.BUDGET_MB)
    args = ap.parse_args()
    images = args.images or default_images()
    out = args.out or Path(tempfile.mkdtemp(prefix="xenlint-mutate-"))
    out.mkdir(parents=True, exist_ok=True)
    plan = Plan(images, args.seed)
    todo = list(args.only or range(args.variants))
    if args.only_image:
        todo = [i for i in todo if plan.describe(i)[0].name == args.only_image]
    pending = list(reversed(todo))
    workers = [Worker(images, args.seed, args.all_modes) for _ in range(max(1, args.jobs))]
    stats: dict[str, Counter[str]] = {}
    worst: dict[str, tuple[float, float]] = {}
    bad: list[dict[str, object]] = []
    started = time.monotonic()
    done = 0

    def record(i: int, status: str, cpu: float, mb: float, detail: str) -> None:
        nonlocal done
        done += 1
        image, kind = plan.describe(i)
        if status == "ok" and (cpu > args.seconds or mb > args.mb):
            status, detail = "over-budget", f"{cpu:.2f} s CPU, {mb:.0f} MB"
        stats.setdefault(image.name, Counter())[status] += 1
        w = worst.get(image.name, (0.0, 0.0, -1, -1))
        worst[image.name] = (
            max(w[0], cpu),
            max(w[1], mb),
            i if cpu > w[0] else w[2],
            i if mb > w[1] else w[3],
        )
        if status != "ok":
            name = f"{status}-{i}-{image.name}-{kind}"
            (out / name).write_bytes(plan.build(i))
            bad.append(
                {
                    "variant": i,
                    "image": image.name,
                    "kind": kind,
                    "status": status,
                    "detail": detail[:3000],
                    "file": str(out / name),
                }
            )
            print(f"variant {i} ({image.name}, {kind}): {status}: {detail[:300]}", flush=True)
        if done % 500 == 0:
            rate = done / (time.monotonic() - started)
            print(f"{done}/{len(todo)} variants, {rate:.1f}/s, {len(bad)} bad", flush=True)

    while pending or any(w.job is not None for w in workers):
        for w in workers:
            if w.job is None and pending:
                w.send(pending.pop())
        ready = mp.connection.wait([w.conn for w in workers if w.job is not None], timeout=1.0)
        for w in workers:
            if w.conn in ready:
                i, status, cpu, mb, detail = w.conn.recv()
                w.job = None
                record(i, status, cpu, mb, detail)
            elif w.job is not None and time.monotonic() - w.since > args.hang:
                i = w.job
                w.kill()
                record(i, "hang", args.hang, 0.0, f"still running after {args.hang:.0f} s")
    for w in workers:
        w.conn.send(None)
    elapsed = time.monotonic() - started
    total = Counter[str]()
    for c in stats.values():
        total.update(c)
    summary = {
        "variants": len(todo),
        "seed": args.seed,
        "modes": "auto, all, one" if args.all_modes else "auto",
        "budget": {"seconds_cpu": args.seconds, "mb": args.mb, "hang_s": args.hang},
        "elapsed_s": round(elapsed, 1),
        "outcomes": dict(total),
        "per_image": {
            name: {
                **dict(c),
                "max_cpu_s": round(worst[name][0], 3),
                "max_mb": round(worst[name][1], 1),
                "slowest_variant": worst[name][2],
                "largest_variant": worst[name][3],
            }
            for name, c in stats.items()
        },
        "bad": bad,
        "out": str(out),
    }
    print(f"\n{len(todo)} variants of {len(images)} images in {elapsed:.0f} s: {dict(total)}")
    print(
        "| image | variants | over budget | crash | hang | max CPU s (variant) | max MB (variant) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(p.name for p in images if p.name in stats):
        c = stats[name]
        print(
            f"| {name} | {sum(c.values())} | {c['over-budget']} | {c['crash']} | {c['hang']} "
            f"| {worst[name][0]:.2f} ({worst[name][2]}) | {worst[name][1]:.0f} ({worst[name][3]}) |"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
