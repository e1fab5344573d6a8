"""FEATURES and SUPPORTED_FEATURES rules (XL401-XL404) and the PVH entry rule XL103, each on
both sides of every release boundary it depends on."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from conftest import ROOT, Lint, cells, targets_of
from elfbuilder import Note, Section, Segment, build_elf, u32, u64, xen_kernel
from hypothesis import given, settings
from hypothesis import strategies as st

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import RELEASES
from xenlint.engine.check import Finding
from xenlint.engine.targets import resolve
from xenlint.image.elf import load_elf
from xenlint.replay import xen as xenparse
from xenlint.replay.xen import parse

ALL = {r.name for r in RELEASES}


def span(spec: str) -> set[str]:
    """Profile names a target range selects, e.g. span('xen>=4.2,<4.4')."""
    return {p.name for p in resolve([spec], list(RELEASES))}


BEFORE_42 = span("xen<4.2")  # unknown names fatal: 3.1, 4.0, 4.1.0, 4.1.6
FROM_42 = span("xen>=4.2")


def text(s: str) -> bytes:
    return s.encode("latin-1") + b"\0"


def pv_kernel(
    features: str | None = None,
    *extra: Note,
    bits: int = 64,
    big_endian: bool = False,
) -> bytes:
    """A PV kernel with the classic note set, plus FEATURES and any extra notes."""
    notes = [
        Note(N.GUEST_OS.number, text("linux")),
        Note(N.XEN_VERSION.number, text("xen-3.0")),
        Note(N.LOADER.number, text("generic")),
    ]
    if features is not None:
        notes.append(Note(N.FEATURES.number, text(features)))
    notes.extend(extra)
    return xen_kernel(notes, bits=bits, big_endian=big_endian)


def xen_guest_kernel(features: str) -> bytes:
    """A kernel whose only Xen information is the legacy __xen_guest string."""
    guest = f"GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic,FEATURES={features},PAE=yes"
    return build_elf([Segment(data=b"\x90" * 64)], [Section("__xen_guest", text(guest), type=1)])


def messages(findings: Sequence[Finding], code: str, target: str | None = None) -> list[str]:
    return [
        f.message for f in findings if f.code == code and (target is None or target in f.targets)
    ]


def fixes(findings: Sequence[Finding], code: str) -> set[str]:
    return {f.fix for f in findings if f.code == code}


def test_release_sets_are_what_the_boundaries_say() -> None:
    assert {"xen-4.1.6", "xen-3.1"} <= BEFORE_42 and "xen-4.2.0" in FROM_42
    assert BEFORE_42 | FROM_42 == ALL and not BEFORE_42 & FROM_42


# --- XL402 feature-needs-bitmap -------------------------------------------------------------


def test_xl402_hvm_callback_vector_fatal_then_dropped_then_known(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|hvm_callback_vector"), select=["XL402"])
    assert targets_of(found, "XL402", "error") == BEFORE_42
    assert "xen-4.1.6" in BEFORE_42
    assert targets_of(found, "XL402", "warning") == {"xen-4.2.0", "xen-4.2.3", "xen-4.3"}
    assert not targets_of(found, "XL402") & span("xen>=4.4")
    (dropped,) = messages(found, "XL402", "xen-4.3")
    assert "hvm_callback_vector" in dropped and "silently drops" in dropped
    (refused,) = messages(found, "XL402", "xen-4.1.6")
    assert "refuse" in refused
    assert fixes(found, "XL402") == {
        "remove 'hvm_callback_vector' from the FEATURES string, set bit 8 (0x100) in a "
        "SUPPORTED_FEATURES note (type 17), which Xen 4.2+ reads and older releases ignore"
    }


def test_xl402_required_hvm_callback_vector_refused_until_44(lint: Lint) -> None:
    found = lint(pv_kernel("!hvm_callback_vector"), select=["XL402"])
    assert targets_of(found, "XL402", "error") == span("xen<4.4")
    assert {"xen-4.2.0", "xen-4.3"} <= targets_of(found, "XL402", "error")
    assert not targets_of(found, "XL402", "warning")
    assert "required" in messages(found, "XL402", "xen-4.3")[0]
    assert all("drop the '!'" in fix for fix in fixes(found, "XL402"))


def test_xl402_dom0_fatal_until_41_known_from_42(lint: Lint) -> None:
    found = lint(pv_kernel("dom0"), select=["XL402"])
    assert targets_of(found, "XL402", "error") == BEFORE_42
    assert "xen-4.2.0" not in targets_of(found, "XL402")
    assert not targets_of(found, "XL402", "warning")


@pytest.mark.parametrize(
    ("name", "required"), [("hvm_safe_pvclock", False), ("!hvm_safe_pvclock", True)]
)
def test_xl402_a_bit_no_release_accepts_by_name(lint: Lint, name: str, required: bool) -> None:
    found = lint(pv_kernel(f"writable_page_tables|{name}"), select=["XL402"])
    if required:
        assert targets_of(found, "XL402", "error") == ALL
    else:
        assert targets_of(found, "XL402", "error") == BEFORE_42
        assert targets_of(found, "XL402", "warning") == FROM_42
    assert all("set bit 9 (0x200)" in fix for fix in fixes(found, "XL402"))


def test_xl402_known_names_and_typos_are_not_its_business(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|pae_pgdir_above_4gb|hvm_callbak_vector"))
    assert not targets_of(found, "XL402")
    assert targets_of(found, "XL401") == ALL


def test_xl402_xen_guest_is_never_fatal(lint: Lint) -> None:
    found = lint(xen_guest_kernel("hvm_callback_vector"), select=["XL402"])
    assert not targets_of(found, "XL402", "error")
    assert targets_of(found, "XL402", "warning") == span("xen<4.4")
    assert "stops reading" in messages(found, "XL402", "xen-4.0")[0]
    assert "silently drops" in messages(found, "XL402", "xen-4.2.0")[0]
    assert all(f.location and "__xen_guest" in f.location.describe() for f in found)


@pytest.mark.parametrize(("bits", "big_endian"), [(32, True), (32, False), (64, True)])
def test_xl402_elf32_and_big_endian(lint: Lint, bits: int, big_endian: bool) -> None:
    data = pv_kernel("hvm_callback_vector", bits=bits, big_endian=big_endian)
    found = lint(data, select=["XL402"])
    assert targets_of(found, "XL402", "error") == BEFORE_42
    assert targets_of(found, "XL402", "warning") == span("xen>=4.2,<4.4")


def test_xl402_a_name_cut_at_63_characters_is_left_to_xl403(lint: Lint) -> None:
    found = lint(pv_kernel("x" * 63 + "hvm_callback_vector"), select=["XL402", "XL403"])
    assert not targets_of(found, "XL402")
    assert targets_of(found, "XL403") == ALL


# --- XL401 feature-unknown ------------------------------------------------------------------


def test_xl401_typo_fatal_until_41_ignored_from_42(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|writable_page_table"), select=["XL401"])
    assert targets_of(found, "XL401", "error") == BEFORE_42
    assert targets_of(found, "XL401", "warning") == FROM_42
    assert "xen-4.1.6" in targets_of(found, "XL401", "error")
    assert "xen-4.2.0" in targets_of(found, "XL401", "warning")
    for msg in messages(found, "XL401"):
        assert "'writable_page_table'" in msg and "did you mean 'writable_page_tables'" in msg
    assert "refuses" in messages(found, "XL401", "xen-4.1.6")[0]
    assert "ignores" in messages(found, "XL401", "xen-4.2.0")[0]
    assert fixes(found, "XL401") == {
        "replace 'writable_page_table' with 'writable_page_tables' in the FEATURES string"
    }
    assert all(f.location and f.location.note == "FEATURES" for f in found)


def test_xl401_wrong_case_is_suggested(lint: Lint) -> None:
    found = lint(pv_kernel("Writable_Page_Tables"), select=["XL401"])
    assert targets_of(found, "XL401") == ALL
    assert all("did you mean 'writable_page_tables'" in m for m in messages(found, "XL401"))


def test_xl401_required_unknown_is_fatal_everywhere(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|!frobnicate"), select=["XL401"])
    assert targets_of(found, "XL401", "error") == ALL
    assert not targets_of(found, "XL401", "warning")
    assert all("did you mean" not in m and "'!frobnicate'" in m for m in messages(found, "XL401"))
    assert fixes(found, "XL401") == {"remove '!frobnicate' from the FEATURES string"}


def test_xl401_suggests_the_bitmap_for_a_bit_without_a_name(lint: Lint) -> None:
    found = lint(pv_kernel("hvm_safe_pvclok"), select=["XL401"])
    assert targets_of(found, "XL401") == ALL
    (fix,) = fixes(found, "XL401")
    assert "hvm_safe_pvclock" in fix and "set bit 9 (0x200) in a SUPPORTED_FEATURES note" in fix


def test_xl401_leaves_real_names_and_syntax_to_the_others(lint: Lint) -> None:
    clean = "writable_page_tables|auto_translated_physmap|dom0|hvm_callback_vector"
    assert not targets_of(lint(pv_kernel(clean), select=["XL401"]), "XL401")
    sloppy = "writable_page_tables||pae_pgdir_above_4gb| dom0|!|" + "y" * 70 + "|"
    found = lint(pv_kernel(sloppy), select=["XL401", "XL403"])
    assert not targets_of(found, "XL401")
    assert targets_of(found, "XL403", "error") == ALL  # the lone '!'


def test_xl401_xen_guest_failure_only_stops_the_string(lint: Lint) -> None:
    found = lint(xen_guest_kernel("frobnicate|writable_page_tables"), select=["XL401"])
    assert not targets_of(found, "XL401", "error")
    assert targets_of(found, "XL401", "warning") == ALL
    assert (
        "stops reading the rest of the __xen_guest string"
        in messages(found, "XL401", "xen-4.1.6")[0]
    )
    assert "ignores it in the __xen_guest string" in messages(found, "XL401", "xen-4.2.0")[0]


def test_xen_guest_tokens_after_a_failure_are_not_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "k.elf"
    path.write_bytes(xen_guest_kernel("frobnicate|writable_page_tables"))
    image = load_elf(str(path))
    old, new = (next(r for r in RELEASES if r.name == n) for n in ("xen-4.1.6", "xen-4.2.0"))
    assert parse(image, old, Mode.PV).supported == 0  # libelf returned at 'frobnicate'
    assert parse(image, new, Mode.PV).supported == 1  # writable_page_tables (bit 0)
    assert not parse(image, old, Mode.PV).failed


@pytest.mark.parametrize(("bits", "big_endian"), [(32, True), (64, True), (32, False)])
def test_xl401_elf32_and_big_endian(lint: Lint, bits: int, big_endian: bool) -> None:
    found = lint(
        pv_kernel("pae_pgdir_above_4g", bits=bits, big_endian=big_endian), select=["XL401"]
    )
    assert targets_of(found, "XL401", "error") == BEFORE_42
    assert targets_of(found, "XL401", "warning") == FROM_42


# --- XL403 feature-syntax -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("features", "what"),
    [
        ("writable_page_tables||pae_pgdir_above_4gb", "'||'"),
        ("|writable_page_tables", "a leading '|'"),
    ],
)
def test_xl403_empty_name_fatal_until_41_harmless_after(
    lint: Lint, features: str, what: str
) -> None:
    found = lint(pv_kernel(features), select=["XL403"])
    assert targets_of(found, "XL403", "error") == BEFORE_42
    assert targets_of(found, "XL403", "info") == FROM_42
    assert not targets_of(found, "XL403", "warning")
    assert all(f"empty name ({what})" in m for m in messages(found, "XL403"))


def test_xl403_lone_bang_is_fatal_everywhere(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|!"), select=["XL403"])
    assert targets_of(found, "XL403", "error") == ALL
    assert all("a lone '!'" in m and "required" in m for m in messages(found, "XL403"))


def test_xl403_whitespace_is_not_trimmed(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables| dom0"), select=["XL403", "XL402", "XL401"])
    assert targets_of(found, "XL403", "error") == BEFORE_42
    assert targets_of(found, "XL403", "warning") == FROM_42
    assert {"xen-4.1.6", "xen-4.2.0"} <= targets_of(found, "XL403")
    assert "' dom0' contains whitespace" in messages(found, "XL403", "xen-4.2.0")[0]
    assert fixes(found, "XL403") == {"write 'dom0' without whitespace in the FEATURES string"}
    assert not targets_of(found, "XL401") and not targets_of(found, "XL402")


def test_xl403_required_name_with_whitespace_is_fatal_everywhere(lint: Lint) -> None:
    found = lint(pv_kernel("!dom0 "), select=["XL403"])
    assert targets_of(found, "XL403", "error") == ALL
    assert fixes(found, "XL403") == {"write '!dom0' without whitespace in the FEATURES string"}


def test_xl403_long_name_reported_once(lint: Lint) -> None:
    found = lint(pv_kernel("x" * 70 + "|writable_page_tables"), select=["XL403", "XL401"])
    assert targets_of(found, "XL403", "error") == BEFORE_42
    assert targets_of(found, "XL403", "warning") == FROM_42
    for target in ("xen-4.1.6", "xen-4.2.0"):
        (msg,) = messages(found, "XL403", target)
        assert "70 characters long" in msg and "at most 63" in msg and "2 names" in msg
    assert not targets_of(found, "XL401")


def test_xl403_full_63_character_piece_then_bar_is_one_problem(lint: Lint) -> None:
    """libelf does not consume a '|' right after a full 63-character piece: it becomes an
    empty name, which belongs to the long name and is not reported as '||'."""
    found = lint(pv_kernel("x" * 63 + "|writable_page_tables"), select=["XL403"])
    assert targets_of(found, "XL403") == ALL
    (msg,) = messages(found, "XL403", "xen-4.2.0")
    assert "63 characters long" in msg and "2 names" in msg and "''" in msg
    assert not any("empty name" in m for m in messages(found, "XL403"))


def test_xl403_exactly_63_characters_at_the_end_is_just_unknown(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|" + "x" * 63), select=["XL403", "XL401"])
    assert not targets_of(found, "XL403")
    assert targets_of(found, "XL401") == ALL


def test_xl403_long_required_name_is_fatal_everywhere(lint: Lint) -> None:
    found = lint(pv_kernel("!" + "y" * 80), select=["XL403"])
    assert targets_of(found, "XL403", "error") == ALL


def test_xl403_trailing_bar_is_sloppy_but_harmless(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|pae_pgdir_above_4gb|"), select=["XL403", "XL401"])
    assert targets_of(found, "XL403", "info") == ALL
    assert not targets_of(found, "XL403", "error") and not targets_of(found, "XL403", "warning")
    assert "ends with '|'" in messages(found, "XL403")[0]
    assert not targets_of(found, "XL401")


def test_xl403_clean_string_is_quiet(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables|pae_pgdir_above_4gb"), select=["XL403"])
    assert not targets_of(found, "XL403")


def test_xl403_xen_guest_is_never_fatal(lint: Lint) -> None:
    found = lint(xen_guest_kernel("writable_page_tables| dom0"), select=["XL403"])
    assert not targets_of(found, "XL403", "error")
    assert targets_of(found, "XL403", "warning") == ALL
    assert "stops reading" in messages(found, "XL403", "xen-4.0")[0]


@pytest.mark.parametrize(("bits", "big_endian"), [(32, True), (64, True)])
def test_xl403_elf32_and_big_endian(lint: Lint, bits: int, big_endian: bool) -> None:
    found = lint(pv_kernel("dom0||dom0", bits=bits, big_endian=big_endian), select=["XL403"])
    assert targets_of(found, "XL403", "error") == BEFORE_42
    assert targets_of(found, "XL403", "info") == FROM_42


# --- XL404 supported-features-bits ----------------------------------------------------------


def bitmap(*words: int, big_endian: bool = False) -> Note:
    return Note(N.SUPPORTED_FEATURES.number, b"".join(u32(w, big_endian) for w in words))


def test_xl404_undefined_bits_only_where_the_note_is_read(lint: Lint) -> None:
    found = lint(pv_kernel(None, bitmap(1 << 11 | 1 << 8 | 1 << 21 | 1 << 30)), select=["XL404"])
    assert targets_of(found, "XL404", "warning") == FROM_42
    assert "xen-4.1.6" not in targets_of(found, "XL404")
    (msg,) = {f.message for f in found}
    assert "bits 21, 30" in msg and "no Xen release defines" in msg
    assert fixes(found, "XL404") == {
        "clear 0x40200000 from the SUPPORTED_FEATURES word: use 0x00000900 "
        "(hvm_callback_vector|dom0)"
    }
    assert all(f.location and f.location.note == "SUPPORTED_FEATURES" for f in found)


def test_xl404_defined_bits_in_one_word_are_fine(lint: Lint) -> None:
    every_defined = sum(1 << b for b in range(21))
    assert not lint(pv_kernel(None, bitmap(every_defined)), select=["XL404"])


def test_xl404_bits_after_the_first_word_are_lost(lint: Lint) -> None:
    found = lint(pv_kernel(None, bitmap(1 << 11, 1 << 3 | 1 << 4)), select=["XL404"])
    assert targets_of(found, "XL404", "warning") == FROM_42
    (msg,) = {f.message for f in found}
    assert "2 32-bit words" in msg and "bits 35, 36 set after it are lost" in msg


def test_xl404_zero_words_after_the_first_are_only_info(lint: Lint) -> None:
    found = lint(pv_kernel(None, bitmap(1 << 11, 0)), select=["XL404"])
    assert targets_of(found, "XL404", "info") == FROM_42
    assert not targets_of(found, "XL404", "warning")


def test_xl404_descriptor_libelf_cannot_read_is_left_to_others(lint: Lint) -> None:
    note = Note(N.SUPPORTED_FEATURES.number, u32(1 << 30) + b"\0\0")
    assert not targets_of(lint(pv_kernel(None, note), select=["XL404"]), "XL404")


@pytest.mark.parametrize("bits", [32, 64])
def test_xl404_big_endian_words(lint: Lint, bits: int) -> None:
    note = bitmap(1 << 11 | 1 << 22, big_endian=True)
    found = lint(pv_kernel(None, note, bits=bits, big_endian=True), select=["XL404"])
    assert targets_of(found, "XL404", "warning") == FROM_42
    assert "bit 22," in {f.message for f in found}.pop()


# --- XL103 missing-phys32-entry -------------------------------------------------------------


def pvh_kernel(
    *, entry: int | None = 0x100010, pv: bool = False, bits: int = 64, big_endian: bool = False
) -> bytes:
    """FreeBSD-style notes; PHYS32_ENTRY inside the text (or absent), ENTRY too if `pv`."""
    notes = [
        Note(N.GUEST_OS.number, text("FreeBSD")),
        Note(N.XEN_VERSION.number, text("xen-3.0")),
        Note(N.LOADER.number, text("generic")),
    ]
    if entry is not None:
        notes.append(Note(N.PHYS32_ENTRY.number, u32(entry, big_endian)))
    if pv:
        wide = u64 if bits == 64 else u32
        notes.append(Note(N.ENTRY.number, wide(0x100000, big_endian)))
    return xen_kernel(notes, bits=bits, big_endian=big_endian, entry=0x100010)


def test_xl103_pvh_domu_from_47(lint: Lint) -> None:
    found = lint(pvh_kernel(), modes=["pvh"], select=["XL103"])
    assert targets_of(found, "XL103", "error") == span("xen<4.7")
    assert "xen-4.6" in targets_of(found, "XL103") and "xen-4.7" not in targets_of(found, "XL103")
    assert all("cannot boot any kernel in pvh mode" in m for m in messages(found, "XL103"))


def test_xl103_pvh_dom0_from_49(lint: Lint) -> None:
    found = lint(pvh_kernel(), modes=["pvh-dom0"], select=["XL103"])
    assert targets_of(found, "XL103", "error") == span("xen<4.9")
    assert "xen-4.8" in targets_of(found, "XL103") and "xen-4.9" not in targets_of(found, "XL103")
    assert all("pvh-dom0 needs Xen 4.9" in m for m in messages(found, "XL103"))


def test_xl103_missing_entry(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables"), modes=["pvh"], select=["XL103"])
    assert targets_of(found, "XL103", "error") == ALL
    (msg,) = messages(found, "XL103", "xen-4.7")
    assert msg.startswith("no PHYS32_ENTRY note")


@pytest.mark.parametrize(("bits", "big_endian"), [(64, False), (32, True)])
def test_xl103_all_ones_is_unset(lint: Lint, bits: int, big_endian: bool) -> None:
    data = pvh_kernel(entry=0xFFFFFFFF, bits=bits, big_endian=big_endian)
    found = lint(data, modes=["pvh"], select=["XL103"])
    assert targets_of(found, "XL103", "error") == ALL
    late = [f for f in found if "xen-4.7" in f.targets]
    assert len(late) == 1 and "0xffffffff" in late[0].message
    assert late[0].location and late[0].location.note == "PHYS32_ENTRY"
    assert targets_of(late, "XL103") == span("xen>=4.7")


def test_xl103_xen_guest_only_in_pvh_mode(lint: Lint) -> None:
    found = lint(xen_guest_kernel("writable_page_tables"), modes=["pvh"], select=["XL103"])
    assert targets_of(found, "XL103", "error") == ALL
    (old,) = messages(found, "XL103", "xen-4.15")
    (new,) = messages(found, "XL103", "xen-4.16")
    assert old.startswith("no PHYS32_ENTRY note")  # 4.15 reads __xen_guest for PVH too
    assert "__xen_guest, which Xen ignores for PVH" in new
    ignored = [f for f in found if "ignores for PVH" in f.message]
    assert targets_of(ignored, "XL103") == span("xen>=4.16")
    assert all(f.location and "__xen_guest" in f.location.describe() for f in ignored)


def test_xl103_auto_mode_pv_and_pvh_kernel_is_checked_as_pv_before_47(lint: Lint) -> None:
    found = lint(pvh_kernel(pv=True), select=["XL103"])
    assert not targets_of(found, "XL103")


def test_xl103_auto_mode_pvh_only_kernel_before_47(lint: Lint) -> None:
    found = lint(pvh_kernel(), select=["XL103"])
    assert targets_of(found, "XL103", "error") == span("xen<4.7")
    assert cells(found, "XL103") == {(t, "pvh") for t in span("xen<4.7")}


def test_xl103_pv_mode_never_asks_for_an_entry(lint: Lint) -> None:
    found = lint(pv_kernel("writable_page_tables"), modes=["pv", "pv-dom0"], select=["XL103"])
    assert not targets_of(found, "XL103")


# --- Acceptance: FreeBSD's 2015 PVH note set ------------------------------------------------


def freebsd_kernel() -> bytes:
    """GUEST_OS FreeBSD, FEATURES with hvm_callback_vector, PHYS32_ENTRY inside the text at
    its physical address, e_entry the same, p_vaddr == p_paddr."""
    notes = [
        Note(N.GUEST_OS.number, text("FreeBSD")),
        Note(N.GUEST_VERSION.number, text("11.0-CURRENT")),
        Note(N.XEN_VERSION.number, text("xen-3.0")),
        Note(N.LOADER.number, text("generic")),
        Note(
            N.FEATURES.number,
            text(
                "writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel"
                "|hvm_callback_vector"
            ),
        ),
        Note(N.PHYS32_ENTRY.number, u32(0x100040)),
    ]
    return xen_kernel(notes, load_addr=0x100000, text_size=0x1000, entry=0x100040)


def test_freebsd_notes_on_40_42_and_47_up(lint: Lint) -> None:
    data = freebsd_kernel()
    old = lint(data, targets=["xen-4.0"], select=["XL402"])
    assert targets_of(old, "XL402", "error") == {"xen-4.0"}
    mid = lint(data, targets=["xen-4.2"], select=["XL402"])
    assert targets_of(mid, "XL402", "warning") == {"xen-4.2.3"}
    assert not targets_of(mid, "XL402", "error")
    new = lint(data, targets=["xen>=4.7"])  # every rule
    errors = [f"{f.code}: {f.message}" for f in new if str(f.severity) == "error"]
    assert errors == []


_NAMES = [*sorted(F.BY_NAME), "", "x", "y" * 63, "z" * 64, "hvm_callback_vecto"]
_AN_IMAGE = load_elf(str(ROOT / "examples" / "linux-pv-pvh.elf"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_NAMES) | st.sampled_from(_NAMES).map("!".__add__), max_size=30).map(
        "|".join
    ),
    st.booleans(),
)
def test_counted_verdict_is_the_token_by_token_verdict(text: str, trailing: bool) -> None:
    """NoteIndex.counted (the FEATURES strings past MAX_TOKENS_KEPT, judged from a summary of
    each string) gives every release what the token-by-token verdict gives."""
    text += "|" if trailing else ""
    index = xenparse.NoteIndex(_AN_IMAGE)
    for release in RELEASES:
        full = index.features(text, release)
        tokens = len(index.tokens(text))
        assert index.counted(text, release) == (full.supported, full.required, tokens, full.fatal)
