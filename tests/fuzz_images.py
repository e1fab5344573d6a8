"""Coverage-guided fuzzing of the loader and all rules with atheris (libFuzzer).

    python tests/fuzz_images.py -max_total_time=600 corpus/          # a long run by hand
    python tests/fuzz_images.py -runs=0 tests/crashers/*              # replay crashers

Seeds (real kernels, bare and wrapped) are written to the first corpus directory given, or
used directly when none is. A crashing input is saved by libFuzzer as crash-<sha1> (use
-artifact_prefix=tests/crashers/ to keep it as a regression case there). tests/test_fuzz.py
runs this for a bounded time in CI."""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["xenlint"]):
    import fuzztarget


def test_one_input(data: bytes) -> None:
    fuzztarget.lint_bytes(data)


def main() -> None:
    dirs = [Path(a) for a in sys.argv[1:] if not a.startswith("-") and Path(a).is_dir()]
    for i, seed in enumerate(fuzztarget.seeds()):
        if dirs:
            (dirs[0] / f"seed-{i}").write_bytes(seed)
    fuzztarget.registry()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
