"""Every release's verdict against that release's own libelf (issue 11).

The 33 libelf builds in ../shared/oracles/libelf (3.1 ... 4.22.0) are compiled once per
session into the pytest cache, and a seeded batch of generated images (tests/libelf_images.py:
Linux-, FreeBSD-, NetBSD-, GRUB-like, unikernel and legacy __xen_guest note sets, mutated on
every axis the rules read) is judged by each release's libelf and by xenlint in pv, pvh,
pv-dom0 and pvh-dom0. tests/libelf_diff.py says what must agree. The seed changes every run
unless XENLINT_LIBELF_SEED is set; it is printed, and a failure names it.
benchmarks/libelf_diff.py runs the same comparison on 20,000+ images.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import libelf_diff
import libelf_images
import libelf_oracle
import pytest

from xenlint.engine.plugin import Registry

REASON = libelf_oracle.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

COUNT = 120  # images per run: ~15 s over 33 releases x 4 modes on one core


@pytest.fixture(scope="session")
def oracles(request: pytest.FixtureRequest) -> Path:
    """The built libelf-<release> binaries (built on first use, then cached)."""
    return libelf_oracle.build(Path(request.config.cache.mkdir("libelf-oracles")))


def test_oracles_cover_every_release_and_profile(oracles: Path, registry: Registry) -> None:
    """33 releases, each one resolving to a xenlint profile."""
    releases = libelf_oracle.releases()
    assert len(releases) == 33 and releases[0] == "3.1" and releases[-1] == "4.22.0"
    assert all((oracles / f"libelf-{r}").is_file() for r in releases)


def test_every_release_agrees_with_its_libelf(
    oracles: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("XENLINT_LIBELF_SEED", random.randrange(1 << 32)))
    paths = []
    for name, data in libelf_images.generate(seed, COUNT):
        path = tmp_path / f"{name}.elf"
        path.write_bytes(data)
        paths.append(path)
    out = libelf_diff.compare(paths, oracles, registry)
    with capsys.disabled():
        print(f"\nlibelf differential, seed {seed}: {out.summary()}")
    detail = "\n".join((out.missed + out.misquoted + out.false + out.mismatched)[:20])
    assert out.clean, f"seed {seed} (XENLINT_LIBELF_SEED={seed} reproduces): {detail}"
    assert out.refusals > COUNT and out.values > COUNT  # the run exercised both verdicts
