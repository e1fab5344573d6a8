"""Rules that declare Rule.judges_behaviour see one cell per run of neighbouring alike Xen
releases (xenlint.engine.check.alike_cells; alike in the modes judged, see
xenlint.abi.xen.MODE_SCOPED_FIELDS) and merge() gives their results to the whole run:
the findings must be those of judging every cell (every field, the cells in order), on real
kernels (the examples, built with as/ld by examples/Makefile) in every target family and
mode, and on hostile kernels whose rules yield past the per-rule cap (cut at the same
result)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import ROOT
from hostile import overlapping_descriptors, overlapping_notes

from xenlint.abi.profile import Mode
from xenlint.engine import check
from xenlint.engine.check import Finding, alike_cells, cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.targets import resolve
from xenlint.image.model import Image
from xenlint.image.read import load_image

EXAMPLES = sorted((ROOT / "examples").glob("*.elf"))
FAMILIES = (
    "xen",
    "qemu",
    "qemu-i386",
    "linux-loader",
    "firecracker",
    "cloud-hypervisor",
    "grub-xen",
    "grub-xen-pvh",
)
SELECTIONS: list[tuple[Sequence[str], Sequence[Mode] | None]] = [
    (("xen",), None),
    (FAMILIES, None),
    (FAMILIES, tuple(Mode)),
    (("xen-3.1", "xen-4.11", "xen-4.13", "xen-4.16", "xen-4.17"), None),
    *((("xen", "qemu"), (mode,)) for mode in Mode),
]


def _both(
    registry: Registry,
    image: Image,
    targets: Sequence[str],
    modes: Sequence[Mode] | None,
    busy: int | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(findings with alike cells joined, findings judging every cell) of every rule;
    `busy`: the number of notes past which run_rules judges every cell anyway."""
    rules = list(registry.rules.values())
    cells = tuple(cells_for(image, resolve(list(targets), registry.profiles), modes))
    with pytest.MonkeyPatch.context() as patch:
        if busy is not None:
            patch.setattr(check, "_BUSY_NOTES", busy)
        joined, errors = run_rules(image, rules, cells, registry.profiles)
    assert not errors
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(check, "alike_cells", lambda cells: (cells, None))
        every, errors = run_rules(image, rules, cells, registry.profiles)
    assert not errors
    return joined, every


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_judged_alike_as_cell_by_cell(registry: Registry, path: Path) -> None:
    image = load_image(str(path))
    for targets, modes in SELECTIONS:
        joined, every = _both(registry, image, targets, modes)
        assert joined == every, (targets, modes)
        assert [f.cells for f in joined] == [f.cells for f in every]


def _runs(registry: Registry, modes: Sequence[Mode] | None) -> list[set[str]]:
    """The runs of joined releases for the default Xen targets on linux-pv-pvh.elf."""
    image = load_image(str(ROOT / "examples" / "linux-pv-pvh.elf"))
    cells = tuple(cells_for(image, resolve(["xen"], registry.profiles), modes))
    kept, fan = alike_cells(cells)
    assert fan is not None and len(kept) < len(cells)
    return [{c.profile.name for c in run} for run in fan.values()]


def test_default_xen_targets_are_joined(registry: Registry) -> None:
    """Not a vacuous check: xen-4.11 to 4.15 behave alike, and so do 4.19 to 4.22, which
    differ only in the PVH dom0 feature check (a field of pvh-dom0 boots alone), as long as
    no cell boots pvh-dom0."""
    runs = _runs(registry, None)  # auto: pv and pvh
    assert {"xen-4.11", "xen-4.12", "xen-4.13", "xen-4.14", "xen-4.15"} in runs
    later = {"xen-4.19", "xen-4.20.0", "xen-4.20.4", "xen-4.21.0", "xen-4.21.2", "xen-4.22"}
    assert later in runs
    assert later not in _runs(registry, tuple(Mode))
    assert {"xen-4.21.2", "xen-4.22"} in _runs(registry, tuple(Mode))


@pytest.mark.parametrize(
    "make",
    [lambda: overlapping_notes(400), lambda: overlapping_descriptors(3000, 1 << 20)],
    ids=["overlapping-notes", "overlapping-descriptors"],
)
def test_rules_past_the_cap_cut_where_they_were(
    registry: Registry, tmp_path: Path, make: object
) -> None:
    """A rule whose results would stand for more than MAX_RESULTS_PER_RULE is run again on
    every cell, so the cut falls on the same result. (Images with this many notes are judged
    cell by cell from the start, _BUSY_NOTES: here joined all the same, to test the rerun.)"""
    path = tmp_path / "hostile.elf"
    path.write_bytes(make())  # type: ignore[operator]
    image = load_image(str(path))
    assert len(image.notes) + len(image.problems) > check._BUSY_NOTES
    joined, every = _both(registry, image, ("xen",), tuple(Mode), busy=10**9)
    assert joined == every
    assert any(f.message.startswith("more than") for f in every)
