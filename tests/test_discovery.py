"""The memo of the entry-point scan: used when nothing changed, refreshed through
importlib.metadata when a distribution on sys.path changes, optional, never required."""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_plugins import GOOD, PIP_INSTALL, make_dist

from xenlint.engine import discovery

PROBE = (
    "import sys; from xenlint.engine.plugin import _entry_points; "
    "eps = _entry_points(); "
    "print(sorted((ep.name, ep.value, d, v) for ep, d, v in eps)); "
    "print('importlib.metadata' in sys.modules)"
)


def probe(cache: Path, site: Path | None = None, **env: str) -> tuple[str, bool]:
    """Run the discovery in a fresh interpreter: (the entry points, whether it had to ask
    importlib.metadata)."""
    full = dict(os.environ, XDG_CACHE_HOME=str(cache), **env)
    full.pop(discovery.NO_CACHE_ENV, None)
    full.update(env)
    if site is not None:
        full["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=full, check=True
    ).stdout.splitlines()
    return out[0], out[1] == "True"


def test_memo_is_used_and_equals_a_fresh_scan(tmp_path: Path) -> None:
    first, scanned = probe(tmp_path)
    assert scanned
    assert list((tmp_path / "xenlint").glob("entry-points-*.marshal"))
    second, scanned = probe(tmp_path)
    assert not scanned, "the memo should answer when nothing changed"
    assert second == first
    fresh, scanned = probe(tmp_path, XENLINT_NO_CACHE="1")
    assert scanned and fresh == first


def test_memo_follows_installs_and_removals(tmp_path: Path) -> None:
    cache, site = tmp_path / "cache", tmp_path / "site"
    site.mkdir()
    before, _ = probe(cache, site)
    probe(cache, site)
    proj = make_dist(tmp_path, "xenlint-demo", "xenlint_demo", GOOD, "demo")
    subprocess.run([*PIP_INSTALL, "--target", str(site), str(proj)], check=True)
    after, scanned = probe(cache, site)
    assert scanned and "('demo', 'xenlint_demo', 'xenlint-demo', '1.2.3')" in after
    assert probe(cache, site) == (after, False)
    for info in site.glob("xenlint_demo-*.dist-info"):
        shutil.rmtree(info)
    gone, _ = probe(cache, site)  # the memo may still know this state: it was the first one
    assert gone == before


def test_opt_out_and_unwritable_cache(tmp_path: Path) -> None:
    expected, _ = probe(tmp_path / "ref")
    probe(tmp_path / "off", XENLINT_NO_CACHE="1")
    assert not (tmp_path / "off").exists()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert probe(blocker) == (expected, True)
    assert probe(blocker) == (expected, True)


def test_corrupt_memo_is_rescanned(tmp_path: Path) -> None:
    expected, _ = probe(tmp_path)
    for memo in (tmp_path / "xenlint").glob("*.marshal"):
        memo.write_bytes(b"\x00garbage")
    assert probe(tmp_path) == (expected, True)
    assert probe(tmp_path) == (expected, False)


def test_one_metadata_read_per_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    original = md.PathDistribution.read_text

    def counting(self: md.PathDistribution, filename: str) -> str | None:
        if filename in ("METADATA", "PKG-INFO"):
            reads.append(f"{self._path}/{filename}")  # type: ignore[attr-defined]
        return original(self, filename)

    monkeypatch.setattr(md.PathDistribution, "read_text", counting)
    records = discovery._scan()
    assert any(dist == "xenlint" for *_, dist, _ in records)
    assert len(reads) == len(set(reads)), "METADATA parsed more than once for a distribution"
