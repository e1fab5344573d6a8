#!/usr/bin/env python3
"""Coverage-guided fuzzing of the whole of xenlint with atheris (libFuzzer).

    python tests/fuzz_images.py -max_total_time=1800 corpus/     # a long run by hand
    python tests/fuzz_images.py -runs=0 tests/crashers/*          # replay crashers

Every module of xenlint (the loader, the decompressors, the replays, the engine, every
built-in rule, the reporters) and every module of any other package a `xenlint` entry point
names (third-party rule and target plugins) is imported under atheris's instrumentation before
the first input; the harness prints how many modules it instrumented and refuses to start if
one of them was imported before (its edges would be invisible). Each input goes through
tests/fuzztarget.py: every rule, every registered target family, `auto`, all and one single
mode, every output format.

Budget (issue 13: < 2 s and < 200 MB per input): an input whose instrumented run costs more
is measured again in a fresh uninstrumented Python, and fails (a crash-* file) if that also
costs more. XENLINT_FUZZ_BUDGET_SECONDS and XENLINT_FUZZ_BUDGET_MB change the limits. Hangs
end at libFuzzer's -timeout (default here 60 s, a timeout-* file) and runaway memory at
-rss_limit_mb (default 2048, an oom-* file).

Seeds (real kernels, bare, big-endian and wrapped) are written to the first corpus directory
given, or to a temporary one when none is. Findings are saved as crash-<sha1>, timeout-<sha1>
or oom-<sha1> under -artifact_prefix (tests/crashers/ keeps one as a regression case); the
status lines' `cov:` is the number of coverage edges reached. tests/test_fuzz.py runs this
for a bounded time in CI."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import inspect
import os
import pkgutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _packages() -> list[str]:
    """xenlint and the top-level package of every module a `xenlint` entry point names."""
    return sorted(
        {"xenlint"} | {ep.module.split(".")[0] for ep in md.entry_points(group="xenlint")}
    )


PACKAGES = _packages()
_early = sorted(m for m in sys.modules if m.split(".")[0] in PACKAGES)
if _early:
    sys.exit(f"fuzz_images: imported before instrumentation, so not instrumented: {_early}")

with atheris.instrument_imports(include=PACKAGES):
    import xenlint

    # Import every module now: xenlint imports the decompressors, the ELF reader and the
    # machine reporters lazily, and a module first imported after this block is not traced.
    # (`xenlint.__main__` runs the CLI when imported: it is one call, left out.)
    for _info in pkgutil.walk_packages(xenlint.__path__, "xenlint."):
        if not _info.name.endswith(".__main__"):
            importlib.import_module(_info.name)
    import fuzztarget

    fuzztarget.registry()  # loads every entry point, third-party plugins included


def _instrumented(module: ModuleType) -> bool | None:
    """Whether the functions defined in `module` carry atheris's marker (None: it has none)."""
    codes = []
    for obj in vars(module).values():
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            codes += [f.__code__ for f in vars(obj).values() if inspect.isfunction(f)]
        elif inspect.isfunction(obj) and obj.__module__ == module.__name__:
            codes.append(obj.__code__)
    # Methods a decorator generated (dataclass __init__, __eq__...) come from exec, not the file.
    codes = [c for c in codes if c.co_filename == module.__file__]
    if not codes:
        return None
    return all("__ATHERIS_INSTRUMENTED__" in c.co_consts for c in codes)


def check_instrumentation() -> None:
    """Print how many modules are instrumented; exit if any of ours is not."""
    ours = sorted(n for n in sys.modules if n.split(".")[0] in PACKAGES)
    states = {n: _instrumented(sys.modules[n]) for n in ours}
    missing = [n for n, s in states.items() if s is False]
    with_code = sum(1 for s in states.values() if s is not None)
    print(
        f"fuzz_images: {len(ours)} modules of {', '.join(PACKAGES)} imported under "
        f"instrumentation ({with_code} with functions, {len(missing)} of them not instrumented)",
        file=sys.stderr,
    )
    if missing:
        sys.exit(f"fuzz_images: not instrumented: {missing}")


SECONDS = float(os.environ.get("XENLINT_FUZZ_BUDGET_SECONDS", fuzztarget.BUDGET_SECONDS))
MB = float(os.environ.get("XENLINT_FUZZ_BUDGET_MB", fuzztarget.BUDGET_MB))


def test_one_input(data: bytes) -> None:
    cost = fuzztarget.measure(data)
    if cost.over(SECONDS, MB):
        # Tracing makes an instrumented run several times slower: only the cost of a plain
        # run counts against the budget.
        apart = fuzztarget.measure_apart(data)
        if apart.over(SECONDS, MB):
            raise fuzztarget.OverBudget(
                f"input of {len(data)} bytes: {apart} uninstrumented ({cost} instrumented), "
                f"budget {SECONDS} s and {MB} MB"
            )


def main() -> None:
    check_instrumentation()
    argv = list(sys.argv)
    flags = {a.split("=")[0] for a in argv[1:] if a.startswith("-")}
    for flag, value in (("-timeout", "60"), ("-rss_limit_mb", "2048")):
        if flag not in flags:
            argv.append(f"{flag}={value}")
    paths = [Path(a) for a in argv[1:] if not a.startswith("-")]
    dirs = [p for p in paths if p.is_dir()]
    if not paths:
        dirs = [Path(tempfile.mkdtemp(prefix="xenlint-fuzz-corpus-"))]
        argv.append(str(dirs[0]))
    if dirs:
        for i, seed in enumerate(fuzztarget.seeds()):
            (dirs[0] / f"seed-{i}").write_bytes(seed)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
