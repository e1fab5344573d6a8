"""The long libelf differential run (issue 11): many generated images, every release, every mode.

    python benchmarks/libelf_diff.py --count 20000 --seed 1     # about 11 minutes on one idle core

Builds the 33 libelf oracles from ../shared/oracles/libelf into a cache directory (default
$TMPDIR/xenlint-oracles-UID), generates images in chunks with tests/libelf_images.py, and
compares each chunk with tests/libelf_diff.py. Prints one line per chunk and the totals;
exits 1 when any missed refusal, false error, misquote or value mismatch was found (the
first examples of each are printed, with the seed and image name that reproduce them).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import libelf_diff
import libelf_images
import libelf_oracle

from xenlint.engine.plugin import load

CHUNK = 500


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000, help="images to generate")
    ap.add_argument("--seed", type=int, default=1, help="generator seed")
    ap.add_argument("--cache", type=Path, default=libelf_oracle.DEFAULT_CACHE)
    args = ap.parse_args()
    reason = libelf_oracle.available()
    if reason is not None:
        print(f"libelf_diff: {reason}", file=sys.stderr)
        return 2
    bindir = libelf_oracle.build(args.cache)
    registry = load()
    totals = Counter()
    kinds: Counter = Counter()
    examples: list[str] = []
    started = time.monotonic()
    images = libelf_images.generate(args.seed, args.count)
    with tempfile.TemporaryDirectory(prefix="xenlint-libelf-diff-") as tmp:
        done = 0
        while done < args.count:
            paths = []
            for name, data in images:
                path = Path(tmp) / f"{name}.elf"
                path.write_bytes(data)
                paths.append(path)
                if len(paths) == CHUNK:
                    break
            if not paths:
                break
            out = libelf_diff.compare(paths, bindir, registry)
            done += len(paths)
            for key in ("images", "cells", "refusals", "crashes", "values"):
                totals[key] += getattr(out, key)
            for key in ("missed", "misquoted", "false", "mismatched"):
                totals[key] += len(getattr(out, key))
                examples += getattr(out, key)[:3]
            kinds.update(out.kinds)
            print(f"{done} images ({time.monotonic() - started:.0f} s): {out.summary()}")
            for path in paths:
                path.unlink()
    print(
        f"\nseed {args.seed}: {totals['images']} images x {len(libelf_oracle.releases())} "
        f"releases x 4 modes = {totals['cells']} cells ({totals['refusals']} libelf "
        f"refusals, {totals['crashes']} pre-XSA-55 crashes not compared), "
        f"{totals['values']} note values"
    )
    print(
        f"missed refusals {totals['missed']}, false errors {totals['false']}, "
        f"value mismatches {totals['mismatched']}, misquoted {totals['misquoted']}"
    )
    for kind, n in kinds.most_common(20):
        print(f"  {n:6d} {kind}")
    for line in examples[:20]:
        print("  " + line[:300])
    bad = totals["missed"] + totals["false"] + totals["mismatched"] + totals["misquoted"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
