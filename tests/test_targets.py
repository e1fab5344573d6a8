"""Target names resolve to the profiles a project means, and bad names fail with one line."""

from __future__ import annotations

import pytest

from xenlint.abi.xen import RELEASES
from xenlint.engine.targets import TargetError, collapse, resolve


def names(specs: list[str]) -> list[str]:
    return [p.name for p in resolve(specs, RELEASES)]


def test_series_means_newest_point_release() -> None:
    assert names(["xen-4.6"]) == ["xen-4.6"]
    assert names(["xen-4.10"]) == ["xen-4.10.1"]
    assert names(["xen-4.1"]) == ["xen-4.1.6"]
    assert names(["xen-4.20"]) == ["xen-4.20.4"]


def test_exact_and_covered_point_releases() -> None:
    assert names(["xen-4.10.0"]) == ["xen-4.10.0"]
    assert names(["xen-4.10.5"]) == ["xen-4.10.1"]
    assert names(["xen-4.6.3"]) == ["xen-4.6"]
    assert names(["xen-4.2.2"]) == ["xen-4.2.0"]


def test_ranges() -> None:
    assert names(["xen>=4.19"]) == [
        "xen-4.19",
        "xen-4.20.0",
        "xen-4.20.4",
        "xen-4.21.0",
        "xen-4.21.2",
        "xen-4.22",
    ]
    assert names(["xen>=4.2,<4.5"]) == ["xen-4.2.0", "xen-4.2.3", "xen-4.3", "xen-4.4"]
    assert names(["xen"])[0] == "xen-3.1"
    # A profile stands for every version up to the next one: 4.10.3 behaves as 4.10.1 does.
    assert names(["xen>=4.10.3,<4.12"]) == ["xen-4.10.1", "xen-4.11"]
    assert names(["xen==4.20.2"]) == ["xen-4.20.0"]
    assert names(["xen>4.5,<=4.6"]) == ["xen-4.5", "xen-4.6"]
    assert names(["xen!=4.6,>=4.5,<4.8"]) == ["xen-4.5", "xen-4.7"]
    assert len(names(["xen"])) == len(RELEASES)


def test_union_is_ordered_and_unique() -> None:
    assert names(["xen-4.7", "xen-4.0", "xen>=4.7,<4.8"]) == ["xen-4.0", "xen-4.7"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("xen-5.0", "unknown target"),
        ("qemu", "no target family 'qemu'"),
        ("xen>=9", "matches no known xen release"),
        ("xen>=4.23", "matches no known xen release"),
        ("xen>=4.10.5,<4.10.3", "matches no known xen release"),
        ("xen>=four", "cannot read"),
        ("XEN 4", "cannot read target"),
    ],
)
def test_bad_targets(spec: str, words: str) -> None:
    with pytest.raises(TargetError, match=words):
        resolve([spec], RELEASES)


def test_collapse_runs() -> None:
    chosen = resolve(["xen>=4.0,<4.4", "xen-4.7"], RELEASES)
    assert collapse(chosen, RELEASES) == ["xen-4.0–4.3", "xen-4.7"]
    assert collapse(resolve(["xen>=4.7"], RELEASES), RELEASES) == ["xen-4.7–4.22"]
