"""The classic PV boot path and the dom0 modes, rule by rule, at every release boundary.

Images come from pv_cases (byte-level) so each test changes exactly one thing; the xen-4.17
verdicts of the same images are checked against libxenguest in test_xen417_agreement."""

from __future__ import annotations

import pytest
from conftest import Lint, cells
from elfbuilder import u32
from pv_cases import (
    CASES,
    FEATURES,
    HV_START_LOW,
    PAE_MODE,
    SUPPORTED,
    Note,
    kernel,
    legacy,
    pvh,
    s,
)

ALL_MODES = ["pv", "pvh", "pv-dom0", "pvh-dom0"]


def fired(
    lint: Lint,
    data: bytes,
    code: str,
    targets: list[str],
    modes: list[str],
    severity: str | None = "error",
) -> set[tuple[str, str]]:
    return cells(lint(data, targets=targets, modes=modes), code, severity)


def case(name: str) -> bytes:
    return CASES[name][0]


# XL301 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "entry-past-end",
        "entry-below-start",
        "e-entry-outside",
        "linked-high-no-virt-base",
        "virt-base-above-start",
        "no-loadable-segment",
        "legacy-paddr-physical",
    ],
)
def test_xl301_refused_in_every_pv_mode(lint: Lint, name: str) -> None:
    got = fired(lint, case(name), "XL301", ["xen-4.0", "xen-4.22"], ["pv", "pv-dom0"])
    assert got == {(t, m) for t in ("xen-4.0", "xen-4.22") for m in ("pv", "pv-dom0")}


def test_xl301_entry_at_the_inclusive_end_passes(lint: Lint) -> None:
    assert fired(lint, case("entry-at-end"), "XL301", ["xen"], ALL_MODES) == set()
    assert fired(lint, case("linked-high-virt-base"), "XL301", ["xen"], ALL_MODES) == set()


def test_xl301_pvh_parses_check_entry_until_the_hvm_flag(lint: Lint) -> None:
    """PVH before 4.16 is parsed like PV (ENTRY checked); from 4.16 PHYS32_ENTRY is the entry."""
    got = fired(lint, case("entry-past-end"), "XL301", ["xen>=4.7"], ["pvh", "pvh-dom0"])
    assert ("xen-4.15", "pvh") in got and ("xen-4.15", "pvh-dom0") in got
    assert ("xen-4.9", "pvh-dom0") in got
    assert not {c for c in got if c[0] in ("xen-4.16", "xen-4.22")}


def test_xl301_message_names_range_and_source(lint: Lint) -> None:
    findings = lint(case("linked-high-no-virt-base"), targets=["xen-4.22"], modes=["pv"])
    (f,) = [f for f in findings if f.code == "XL301"]
    assert "the ENTRY note" in f.message and "[0x1000000, 0x1002000]" in f.message
    assert "ELF start or entries are out of bounds" in f.message


# XL302 ---------------------------------------------------------------------------------------


def test_xl302_pv_always_pvh_through_4_17(lint: Lint) -> None:
    got = fired(lint, case("paddr-offset-only"), "XL302", ["xen"], ALL_MODES)
    assert ("xen-3.1", "pv") in got and ("xen-4.22", "pv") in got and ("xen-4.22", "pv-dom0") in got
    assert ("xen-4.17", "pvh") in got and ("xen-4.17", "pvh-dom0") in got
    assert ("xen-4.18", "pvh") not in got and ("xen-4.18", "pvh-dom0") not in got
    legacy = fired(lint, case("legacy-paddr-offset-only"), "XL302", ["xen-4.22"], ["pv"])
    assert legacy == {("xen-4.22", "pv")}


def test_xl302_not_with_virt_base(lint: Lint) -> None:
    assert fired(lint, case("virt-base-above-start"), "XL302", ["xen"], ALL_MODES) == set()


# XL303 ---------------------------------------------------------------------------------------


def test_xl303_hypercall_page_outside_the_image(lint: Lint) -> None:
    got = fired(lint, case("hypercall-page-outside"), "XL303", ["xen-4.0", "xen-4.22"], ALL_MODES)
    assert got == {(t, m) for t in ("xen-4.0", "xen-4.22") for m in ("pv", "pv-dom0")}
    inside = fired(lint, case("hypercall-page-inside"), "XL303", ["xen"], ALL_MODES)
    assert inside == set()


def test_xl303_dom0_below_virt_base(lint: Lint) -> None:
    data = kernel(
        Note(3, (0x200000).to_bytes(8, "little")),
        Note(4, bytes(8)),
        Note(2, (0x150000).to_bytes(8, "little")),
        Note(1, (0x300000).to_bytes(8, "little")),
        load_addr=0x100000,
    )
    findings = lint(data, targets=["xen-4.22"], modes=["pv-dom0"])
    # VIRT_BASE 0x200000, PADDR_OFFSET 0: the kernel starts at 0x300000
    (f,) = [f for f in findings if f.code == "XL303"]
    assert "below VIRT_BASE 0x200000" in f.message and "Invalid HYPERCALL_PAGE" in f.message
    domu = [f for f in lint(data, targets=["xen-4.22"], modes=["pv"]) if f.code == "XL303"]
    assert "outside the kernel's pages [0x300000, 0x302000)" in domu[0].message


# XL304 ---------------------------------------------------------------------------------------


def test_xl304_from_3_4_in_every_mode(lint: Lint) -> None:
    got = fired(lint, case("init-p2m-inside"), "XL304", ["xen"], ALL_MODES)
    assert ("xen-3.1", "pv") not in got  # INIT_P2M is unknown before 3.4
    assert {("xen-4.0", "pv"), ("xen-4.0", "pv-dom0"), ("xen-4.22", "pvh")} <= got
    assert fired(lint, case("init-p2m-at-end"), "XL304", ["xen"], ALL_MODES) == set()


# XL305 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pae-none-32", "pae-no-32", "pae-uppercase-32"])
def test_xl305_non_pae_refused_on_every_4x(lint: Lint, name: str) -> None:
    got = fired(lint, case(name), "XL305", ["xen"], ["pv", "pv-dom0"])
    assert ("xen-3.1", "pv") not in got
    assert {("xen-4.0", "pv"), ("xen-4.0", "pv-dom0"), ("xen-4.22", "pv")} <= got


@pytest.mark.parametrize("name", ["pae-yes-32", "pae-bimodal-32", "pae-sticky-32"])
def test_xl305_pae_warns_only_without_pv32(lint: Lint, name: str) -> None:
    data = case(name)
    assert fired(lint, data, "XL305", ["xen"], ["pv", "pv-dom0"]) == set()
    warned = {t for t, _ in fired(lint, data, "XL305", ["xen"], ["pv"], "warning")}
    assert "xen-4.15" not in warned and {"xen-4.16", "xen-4.22"} <= warned


def test_xl305_ignores_64_bit_and_pvh(lint: Lint) -> None:
    assert fired(lint, case("clean-pv"), "XL305", ["xen"], ALL_MODES, None) == set()
    assert fired(lint, case("pae-none-32"), "XL305", ["xen"], ["pvh", "pvh-dom0"], None) == set()


# XL306 ---------------------------------------------------------------------------------------


def test_xl306_hv_start_low_rounded_above_the_compat_area(lint: Lint) -> None:
    got = fired(lint, case("hv-start-low-32"), "XL306", ["xen-4.0", "xen-4.22"], ALL_MODES)
    assert got == {("xen-4.0", "pv-dom0"), ("xen-4.22", "pv-dom0")}


def test_xl306_exactly_at_the_compat_start_passes(lint: Lint) -> None:
    data = kernel(Note(PAE_MODE, s("yes")), Note(HV_START_LOW, u32(0xF5800000)), bits=32)
    assert fired(lint, data, "XL306", ["xen"], ["pv-dom0"]) == set()
    # rounding: 0xF5600001 rounds up to 0xF5800000, still fine
    data = kernel(Note(PAE_MODE, s("yes")), Note(HV_START_LOW, u32(0xF5600001)), bits=32)
    assert fired(lint, data, "XL306", ["xen"], ["pv-dom0"]) == set()


# XL307 ---------------------------------------------------------------------------------------


def test_xl307_domu_only(lint: Lint) -> None:
    got = fired(lint, case("start-not-page-aligned"), "XL307", ["xen-4.6", "xen-4.22"], ALL_MODES)
    assert got == {("xen-4.6", "pv"), ("xen-4.22", "pv"), ("xen-4.22", "pvh")}
    findings = lint(case("start-not-page-aligned"), targets=["xen-4.6", "xen-4.7"], modes=["pv"])
    messages = {f.message for f in findings if f.code == "XL307"}
    assert any("segment start isn't page aligned" in m for m in messages)
    assert any("segment boundary isn't page aligned" in m for m in messages)
    assert fired(lint, case("clean-pv"), "XL307", ["xen"], ALL_MODES) == set()


# XL405 ---------------------------------------------------------------------------------------


def test_xl405_dom0_bit_by_release_and_mode(lint: Lint) -> None:
    data = case("dom0-bit-missing")
    pv = {t for t, _ in fired(lint, data, "XL405", ["xen"], ["pv-dom0"])}
    assert "xen-4.1.6" not in pv and {"xen-4.2.0", "xen-4.22"} <= pv
    pvh_dom0 = {t for t, _ in fired(lint, data, "XL405", ["xen"], ["pvh-dom0"])}
    assert pvh_dom0 == {"xen-4.20.4", "xen-4.21.2", "xen-4.22"}
    assert fired(lint, data, "XL405", ["xen"], ["pv", "pvh"]) == set()
    with_bit = kernel(Note(SUPPORTED, u32(1 | 1 << 11)), pvh())
    assert fired(lint, with_bit, "XL405", ["xen"], ALL_MODES) == set()
    # only the FEATURES string: not checked
    string_only = kernel(Note(FEATURES, s("writable_page_tables")), pvh())
    assert fired(lint, string_only, "XL405", ["xen"], ALL_MODES) == set()


def test_xl405_required_dom0_refused_for_domu(lint: Lint) -> None:
    got = fired(lint, case("required-dom0"), "XL405", ["xen"], ALL_MODES)
    assert {("xen-4.2.0", "pv"), ("xen-4.22", "pv"), ("xen-4.22", "pvh")} <= got
    assert not {c for c in got if c[1].endswith("dom0")}
    assert ("xen-4.1.6", "pv") not in got  # 'dom0' unknown there: XL402
    assert ("xen-4.1.6", "pv") in fired(lint, case("required-dom0"), "XL402", ["xen"], ["pv"])


# XL406 ---------------------------------------------------------------------------------------


def test_xl406_supervisor_mode_kernel_panics_pv_dom0(lint: Lint) -> None:
    got = fired(lint, case("required-supervisor-mode"), "XL406", ["xen"], ALL_MODES)
    assert {m for _, m in got} == {"pv-dom0"} and ("xen-3.1", "pv-dom0") in got


def test_xl406_auto_translated_pv_from_4_9(lint: Lint) -> None:
    got = fired(lint, case("required-auto-translated"), "XL406", ["xen"], ALL_MODES)
    assert {m for _, m in got} == {"pv"}
    assert ("xen-4.8", "pv") not in got and ("xen-4.9", "pv") in got


# XL101-XL103 in the dom0 modes -----------------------------------------------------------------


def test_note_check_in_dom0_modes_follows_the_parse(lint: Lint) -> None:
    """PV dom0 is parsed like PV; PVH dom0 4.9-4.15 like PV too (PHYS32_ENTRY shortcut from
    4.10.1), from 4.16 with the hvm flag (shortcut always)."""
    got = fired(lint, case("no-xen-version"), "XL102", ["xen>=4.9"], ["pv-dom0", "pvh-dom0"])
    pvh_dom0 = {t for t, m in got if m == "pvh-dom0"}
    pv_dom0 = {t for t, m in got if m == "pv-dom0"}
    assert pvh_dom0 == {"xen-4.9", "xen-4.10.0"}
    assert {"xen-4.9", "xen-4.10.0", "xen-4.16", "xen-4.22"} <= pv_dom0
    assert not pv_dom0 & {"xen-4.10.1", "xen-4.11", "xen-4.15"}


def test_xl103_pvh_dom0_needs_4_9_and_an_entry(lint: Lint) -> None:
    got = fired(lint, case("clean-pv-pvh"), "XL103", ["xen"], ["pvh-dom0"])
    assert {t for t, _ in got} == {
        "xen-3.1",
        "xen-3.2",
        "xen-3.3",
        "xen-3.4",
        "xen-4.0",
        "xen-4.1.0",
        "xen-4.1.6",
        "xen-4.2.0",
        "xen-4.2.3",
        "xen-4.3",
        "xen-4.4",
        "xen-4.5",
        "xen-4.6",
        "xen-4.7",
        "xen-4.8",
    }
    no_entry = fired(lint, case("clean-pv"), "XL103", ["xen>=4.9"], ["pvh-dom0"])
    assert ("xen-4.9", "pvh-dom0") in no_entry and ("xen-4.22", "pvh-dom0") in no_entry


def test_xl303_legacy_hypercall_page_before_virt_base(lint: Lint) -> None:
    """Before 4.11 __xen_guest adds VIRT_BASE to HYPERCALL_PAGE where the item stands: with
    VIRT_BASE later in the string it adds all-ones instead (f2613bd7f2)."""
    text = "GUEST_OS=linux,XEN_VER=xen-3.0,PAE=yes,HYPERCALL_PAGE=0x101,VIRT_BASE=0xC0000000"
    got = {t for t, _ in fired(lint, legacy(text), "XL303", ["xen>=4.0"], ["pv"])}
    assert {"xen-4.0", "xen-4.10.1"} <= got and not got & {"xen-4.11", "xen-4.22"}
