"""The release table says what shared/abi/xen.md says, at every boundary it draws."""

from __future__ import annotations

import pytest

from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import RELEASES, XenRelease

BY_NAME = {r.name: r for r in RELEASES}


def r(name: str) -> XenRelease:
    return BY_NAME[name]


def test_profiles_cover_every_release_and_differing_point_release() -> None:
    names = [p.name for p in RELEASES]
    assert names[:4] == ["xen-3.1", "xen-3.2", "xen-3.3", "xen-3.4"]  # 3.2 BSD_SYMTAB, 3.4 P2M
    assert names[4:9] == ["xen-4.0", "xen-4.1.0", "xen-4.1.6", "xen-4.2.0", "xen-4.2.3"]
    for extra in ("xen-4.10.0", "xen-4.10.1", "xen-4.20.4", "xen-4.21.2", "xen-4.22"):
        assert extra in names
    assert len(set(names)) == len(names) == 32


@pytest.mark.parametrize(
    ("note", "before", "first"),
    [
        (N.INIT_P2M, "xen-3.3", "xen-3.4"),
        (N.MOD_START_PFN, "xen-4.0", "xen-4.1.0"),
        (N.SUPPORTED_FEATURES, "xen-4.1.6", "xen-4.2.0"),
        (N.PHYS32_ENTRY, "xen-4.6", "xen-4.7"),
        (N.L1_MFN_VALID, "xen-4.17", "xen-4.18"),
        (N.PHYS32_RELOC, "xen-4.18", "xen-4.19"),
    ],
)
def test_note_types_parsed_from(note: N.NoteType, before: str, first: str) -> None:
    assert note.number not in r(before).known_notes
    assert note.number in r(first).known_notes
    assert N.INFO.number not in r("xen-4.22").known_notes  # never parsed


def test_feature_name_tables() -> None:
    assert "dom0" not in r("xen-4.1.6").feature_names and "dom0" in r("xen-4.2.0").feature_names
    cb = "hvm_callback_vector"
    assert cb not in r("xen-4.3").feature_names and cb in r("xen-4.4").feature_names
    assert len(r("xen-4.22").feature_names) == 7


def test_behaviour_boundaries() -> None:
    assert r("xen-4.1.6").unknown_feature_fatal and not r("xen-4.2.0").unknown_feature_fatal
    assert not r("xen-4.1.0").bounded_reads and r("xen-4.1.6").bounded_reads
    assert not r("xen-4.2.0").bounded_reads and r("xen-4.2.3").bounded_reads
    assert [r(n).phys32_shortcut for n in ("xen-4.10.0", "xen-4.10.1", "xen-4.15", "xen-4.16")] == [
        "none",
        "pv+pvh",
        "pv+pvh",
        "pvh",
    ]
    assert r("xen-4.15").xen_guest_for_pvh and not r("xen-4.16").xen_guest_for_pvh
    assert r("xen-4.17").paddr_offset_check_pvh and not r("xen-4.18").paddr_offset_check_pvh
    pvh_dom0 = [n for n in BY_NAME if r(n).dom0_bit_check_pvh]
    assert pvh_dom0 == ["xen-4.20.4", "xen-4.21.2", "xen-4.22"]


def test_modes() -> None:
    assert Mode.PVH not in r("xen-4.6").modes and Mode.PVH in r("xen-4.7").modes
    assert Mode.PVH_DOM0 not in r("xen-4.8").modes and Mode.PVH_DOM0 in r("xen-4.9").modes
    assert all(Mode.PV in p.modes and Mode.PV_DOM0 in p.modes for p in RELEASES)
