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
    return libelf_oracle.build(libelf_oracle.cache_dir(request.config))


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


def test_generator_reaches_every_axis_the_rules_read() -> None:
    """Over a few thousand plans (no oracle needed): every note type 0-19 and unknown ones,
    numeric sizes other than 1/2/4/8, unterminated strings, all-ones values, 8-byte note
    padding, every machine, both classes and byte orders, every container, EOF cuts, and the
    legacy string."""
    rng = random.Random(0)
    plans = [libelf_images.plan(rng) for _ in range(3000)]
    notes = [n for p in plans for n in p.notes]
    assert set(range(20)) <= {n.type for n in notes} and {n.type for n in notes} - set(range(20))
    sizes = {len(n.desc) for n in notes if n.type in libelf_images.NUMBERS}
    assert {0, 1, 2, 3, 4, 5, 8, 12, 16} <= sizes
    assert any(n.type in libelf_images.STRINGS and not n.desc.endswith(b"\0") for n in notes)
    assert any(n.desc == b"\xff" * 8 for n in notes)  # UNSET_ADDR
    assert any(n.desc == b"\xff" * 4 for n in notes if n.type == libelf_images.PHYS32_ENTRY)
    assert {n.name for n in notes} >= {b"Xen\0", b"Xen", b"XEN\0", b"GNU\0"}
    assert set(libelf_images.MACHINES.values()) <= {p.machine for p in plans}
    assert {p.bits for p in plans} == {32, 64} and {p.big for p in plans} == {False, True}
    assert set(libelf_images.CONTAINERS) <= {p.container for p in plans}
    assert {4, 8} <= {p.note_align for p in plans}
    assert any(p.cut for p in plans) and any(p.xen_guest for p in plans)
    assert any(p.seg_flags == libelf_images.PF_R for p in plans)
