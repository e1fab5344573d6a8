"""Xen's own libelf, one build per release, as the ground truth for every release's verdict.

`../shared/oracles/libelf/` (relative to the project root, as CI has it) holds each release's
libelf sources and a harness that prints, per image, what that release's `elf_xen_parse`
decided and parsed (see its README). `build()` compiles it once into a cache directory
(`build.sh OUTDIR`; the shared directory is read-only) and `run()` asks one release about many
images at once.

`available()` says why the oracles cannot be used here (no sources, no gcc), or None.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBELF = ROOT.parent / "shared" / "oracles" / "libelf"
SOURCES = LIBELF / "src"
# Where `benchmarks/libelf_diff.py` and a run without a pytest cache keep the binaries.
DEFAULT_CACHE = Path(tempfile.gettempdir()) / f"xenlint-oracles-{os.getuid()}"


def _version(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in release.split("."))


def releases() -> list[str]:
    """Every release the oracle sources hold ('3.1' ... '4.22.0'), oldest first."""
    if not SOURCES.is_dir():
        return []
    return sorted((p.name for p in SOURCES.iterdir() if p.is_dir()), key=_version)


def available() -> str | None:
    """None when the oracles can be built and run here, else why not (a skip reason)."""
    if not SOURCES.is_dir() or not (LIBELF / "build.sh").is_file():
        return f"no libelf oracle sources at {LIBELF} (../shared/oracles from the project root)"
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        return "gcc is not installed: the libelf oracles cannot be built"
    return None


def _stamp() -> str:
    """A digest of the harness, shims and build script: a cached build is reused only if
    they are unchanged (the per-release sources are pinned by their TAG files)."""
    h = hashlib.sha256()
    files = [LIBELF / "harness.c", LIBELF / "build.sh", *sorted((LIBELF / "shim").rglob("*"))]
    files += sorted(SOURCES.glob("*/TAG"))
    for path in files:
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def cache_dir(config: object) -> Path:
    """The pytest cache's `libelf-oracles` directory, or DEFAULT_CACHE when pytest runs
    without its cache plugin (`-p no:cacheprovider`)."""
    cache = getattr(config, "cache", None)
    return Path(cache.mkdir("libelf-oracles")) if cache is not None else DEFAULT_CACHE


def build(cache: Path = DEFAULT_CACHE) -> Path:
    """Compile every release's harness into `cache/<stamp>/` unless already there; returns
    that directory (holding `libelf-<release>`). Raises RuntimeError with build.sh's output
    when a release fails to build."""
    out = cache / _stamp()
    wanted = releases()
    missing = [r for r in wanted if not (out / f"libelf-{r}").is_file()]
    if missing:
        out.mkdir(parents=True, exist_ok=True)
        # two build.sh runs side by side: the build is gcc-bound (~40 s on one core)
        halves = [missing[0::2], missing[1::2]]
        procs = [
            subprocess.Popen(
                ["sh", str(LIBELF / "build.sh"), str(out), *half],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for half in halves
            if half
        ]
        logs = [proc.communicate()[0] for proc in procs]
        if any(proc.returncode for proc in procs):
            raise RuntimeError("libelf oracle build failed:\n" + "".join(logs))
    return out


def run(bindir: Path, release: str, mode: str, paths: Sequence[Path]) -> list[dict]:
    """What `release`'s libelf decides about each image, in `mode` ('pv' or 'pvh'): one dict
    per path, in order, with the harness's keys (`rc`, `errors`, `crash`, `notes`, ...)."""
    out: list[dict] = []
    binary = str(bindir / f"libelf-{release}")
    for start in range(0, len(paths), 500):  # keep the command line short
        chunk = [str(p) for p in paths[start : start + 500]]
        proc = subprocess.run([binary, mode, *chunk], capture_output=True, check=False)
        lines = proc.stdout.decode("latin-1").splitlines()
        if len(lines) != len(chunk):
            raise RuntimeError(
                f"libelf-{release} {mode}: {len(lines)} results for {len(chunk)} images "
                f"(exit {proc.returncode}): {proc.stderr.decode(errors='replace')[:500]}"
            )
        out.extend(json.loads(line) for line in lines)
    return out
