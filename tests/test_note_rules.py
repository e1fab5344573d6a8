"""The note rules XL001-XL007, each on both sides of every release boundary it depends on."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

from conftest import Lint, cells, targets_of
from elfbuilder import (
    PT_NOTE,
    Note,
    Section,
    Segment,
    build_elf,
    note_bytes,
    u32,
    u64,
    xen_kernel,
)

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import RELEASES
from xenlint.engine.check import Finding
from xenlint.engine.targets import resolve
from xenlint.image.elf import load_elf
from xenlint.image.model import Image
from xenlint.replay.xen import parse

ALL = {r.name for r in RELEASES}
EM_AARCH64 = 183


def span(spec: str) -> set[str]:
    """Profile names a target range selects, e.g. span('xen>=4.2,<4.4')."""
    return {p.name for p in resolve([spec], list(RELEASES))}


BOUNDED = span("xen>=4.3") | {"xen-4.1.6", "xen-4.2.3"}
UNBOUNDED = ALL - BOUNDED


def text(s: str) -> bytes:
    return s.encode("latin-1") + b"\0"


def classic(*extra: Note) -> list[Note]:
    """The note set a PV kernel needs, plus extra notes."""
    return [
        Note(N.GUEST_OS.number, text("linux")),
        Note(N.XEN_VERSION.number, text("xen-3.0")),
        Note(N.LOADER.number, text("generic")),
        *extra,
    ]


def raw_kernel(
    notes: bytes, *, bits: int = 64, big_endian: bool = False, filesz: int | None = None
) -> bytes:
    """A kernel whose PT_NOTE holds exactly `notes` and is the end of the file (no section
    headers follow it), so a size that runs past the notes runs past the file."""
    return build_elf(
        [
            Segment(data=b"\x90" * 64),
            Segment(type=PT_NOTE, flags=4, vaddr=0, paddr=0, data=notes, filesz=filesz),
        ],
        bits=bits,
        big_endian=big_endian,
        with_section_headers=False,
    )


def load_elf_bytes(data: bytes) -> Image:
    """The Image model of in-memory bytes, to find note offsets for assertions."""
    with tempfile.NamedTemporaryFile(suffix=".elf") as handle:
        handle.write(data)
        handle.flush()
        return load_elf(handle.name)


def messages(findings: Sequence[Finding], code: str, target: str | None = None) -> list[str]:
    return [
        f.message for f in findings if f.code == code and (target is None or target in f.targets)
    ]


def only(findings: Sequence[Finding], code: str) -> Finding:
    mine = [f for f in findings if f.code == code]
    assert len({(f.message, f.location) for f in mine}) == 1, [f.message for f in mine]
    return mine[0]


def test_release_groups() -> None:
    assert {"xen-4.1.6", "xen-4.2.3", "xen-4.3"} <= BOUNDED
    assert {"xen-3.1", "xen-3.2", "xen-3.3", "xen-3.4", "xen-4.0", "xen-4.1.0", "xen-4.2.0"} == (
        UNBOUNDED
    )


# --- XL001 no-xen-notes ---------------------------------------------------------------------


def test_xl001_no_note_region_at_all(lint: Lint) -> None:
    found = lint(build_elf([Segment(data=b"\x90" * 64)]), select=["XL001"])
    assert targets_of(found, "XL001", "error") == ALL
    assert "No ELF notes or '__xen_guest' section found" in only(found, "XL001").message


def test_xl001_only_a_gnu_note_fails_the_loader_check_instead(lint: Lint) -> None:
    gnu = Note(3, b"\x01" * 20, name=b"GNU\0")  # NT_GNU_BUILD_ID
    found = lint(xen_kernel([gnu]), select=["XL001"])
    assert targets_of(found, "XL001", "error") == ALL
    message = only(found, "XL001").message
    assert "only GNU notes" in message and "generic loader or Linux images" in message
    assert "No ELF notes" not in message


def test_xl001_not_for_kernels_with_notes_or_other_machines(lint: Lint) -> None:
    assert not lint(xen_kernel(classic()), select=["XL001"])
    arm = build_elf([Segment(data=b"\x90" * 64)], machine=EM_AARCH64)
    assert not lint(arm, select=["XL001"])


def test_xl001_elf32_big_endian(lint: Lint) -> None:
    found = lint(build_elf([Segment(data=b"\x90" * 64)], bits=32, big_endian=True))
    assert targets_of(found, "XL001", "error") == ALL


def test_xl001_offset_zero_pt_note_is_skipped(lint: Lint) -> None:
    image = build_elf(
        [Segment(data=b"\x90" * 64), Segment(type=PT_NOTE, offset=0, filesz=0x40)],
        with_section_headers=False,
    )
    found = lint(image, select=["XL001"])
    finding = only(found, "XL001")
    assert targets_of(found, "XL001", "error") == ALL
    assert "file offset 0, which Xen skips" in finding.message
    assert "No ELF notes" in finding.message
    assert finding.location is not None and finding.location.offset == 0


def test_xl001_xen_guest_only_is_nothing_for_pvh_from_4_16(lint: Lint) -> None:
    guest = Section("__xen_guest", text("GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic"), type=1)
    found = lint(
        build_elf([Segment(data=b"\x90" * 64)], [guest]), modes=["pv", "pvh"], select=["XL001"]
    )
    assert cells(found, "XL001", "error") == {(t, "pvh") for t in span("xen>=4.16")}
    assert "xen-4.15" not in targets_of(found, "XL001")
    message = only(found, "XL001").message
    assert "ignores for PVH" in message and "No ELF notes" in message


# --- XL002 notes-only-in-sections -----------------------------------------------------------


def test_xl002_notes_only_in_a_section(lint: Lint) -> None:
    image = build_elf([Segment(data=b"\x90" * 64)], [Section(".note.Xen", note_bytes(classic()))])
    found = lint(image, select=["XL002"])
    assert targets_of(found, "XL002", "warning") == ALL
    finding = only(found, "XL002")
    assert "no PT_NOTE segment covers them" in finding.message
    # A PV kernel (auto mode: pv): the loader that misses section-only notes is GRUB's PV
    # loader before 2.04; QEMU and the VMMs never boot PV kernels (issue 12).
    assert "GRUB's Xen PV loader" in finding.message and "QEMU" not in finding.message
    assert finding.location is not None and finding.location.container == "section .note.Xen"


def test_xl002_offset_zero_pt_note_covering_the_section(lint: Lint) -> None:
    image = build_elf(
        [Segment(data=b"\x90" * 64), Segment(type=PT_NOTE, offset=0, filesz=0x400)],
        [Section(".note.Xen", note_bytes(classic()))],
    )
    loaded = load_elf_bytes(image)
    assert loaded.note_source == "sections" and loaded.skipped_segments
    found = lint(image, select=["XL002"])
    assert targets_of(found, "XL002", "warning") == ALL
    assert "PT_NOTE segment 1 covers them but is at file offset 0" in only(found, "XL002").message


def test_xl002_not_when_a_pt_note_has_them(lint: Lint) -> None:
    assert not lint(xen_kernel(classic()), select=["XL002"])
    assert not lint(xen_kernel(classic(), bits=32, big_endian=True), select=["XL002"])


def test_xl002_elf32_big_endian(lint: Lint) -> None:
    notes = note_bytes(classic(), big_endian=True)
    image = build_elf(
        [Segment(data=b"\x90" * 64)], [Section(".note.Xen", notes)], bits=32, big_endian=True
    )
    assert targets_of(lint(image, select=["XL002"]), "XL002", "warning") == ALL


# --- XL003 malformed-note -------------------------------------------------------------------


def test_xl003_numeric_descriptor_past_eof(lint: Lint) -> None:
    notes = note_bytes([*classic(), Note(N.VIRT_BASE.number, u64(0x80000000))])[:-4]
    found = lint(raw_kernel(notes), select=["XL003"])
    bounded = {t for m in ("as 0",) for f in found if m in f.message for t in f.targets}
    undefined = {t for f in found if "undefined" in f.message for t in f.targets}
    assert bounded == BOUNDED and undefined == UNBOUNDED
    assert targets_of(found, "XL003", "warning") == ALL
    assert "xen-4.1.0" in undefined and "xen-4.1.6" in bounded
    assert "xen-4.2.0" in undefined and "xen-4.2.3" in bounded
    assert all("past the end of the file" in f.message for f in found)
    assert all(f.location and f.location.note == "VIRT_BASE" for f in found)


def test_xl003_string_cut_off_after_its_nul_boots_everywhere(lint: Lint) -> None:
    """A GRUB-style cut: the descriptor claims more bytes than the file has, the NUL is there."""
    last = Note(N.GUEST_VERSION.number, text("2.6"), descsz=64)
    found = lint(raw_kernel(note_bytes([*classic(), last])), select=["XL003"])
    finding = only(found, "XL003")
    assert targets_of(found, "XL003", "warning") == ALL
    assert "inside the file, and boots" in finding.message


def test_xl003_unterminated_name(lint: Lint) -> None:
    tail = u32(3) + u32(0) + u32(N.GUEST_OS.number) + b"Xen"  # name cut off by EOF, no NUL
    found = lint(raw_kernel(note_bytes(classic()) + tail), select=["XL003"])
    skips = {t for f in found if "skips the note" in f.message for t in f.targets}
    reads_on = {t for f in found if "reads on until some NUL" in f.message for t in f.targets}
    assert skips == BOUNDED and reads_on == UNBOUNDED


def test_xl003_note_straddling_its_segment(lint: Lint) -> None:
    notes = note_bytes(classic())
    found = lint(raw_kernel(notes + notes, filesz=len(notes) + 4), select=["XL003"])
    kinds = " ".join(f.message for f in found)
    assert "does not fit in PT_NOTE segment 1" in kinds
    assert "bytes after the region" in kinds
    assert targets_of(found, "XL003", "warning") == ALL


def test_xl003_name_size(lint: Lint) -> None:
    entry = Note(N.PHYS32_ENTRY.number, u32(0x100000), name=b"Xen", namesz=3)
    guest = Note(N.GUEST_VERSION.number, text("1"), name=b"Xen\0\0\0\0\0", namesz=8)
    found = lint(xen_kernel([*classic(), entry, guest]), select=["XL003"])
    assert targets_of(found, "XL003", "warning") == ALL
    assert targets_of(found, "XL003", "info") == ALL
    warning = next(f for f in found if str(f.severity) == "warning")
    assert "namesz 3" in warning.message and "linux-loader" in warning.message
    assert warning.location is not None and warning.location.note == "PHYS32_ENTRY"
    info = next(f for f in found if str(f.severity) == "info")
    assert "namesz 8" in info.message


def test_xl003_too_many_notes(lint: Lint) -> None:
    filler = bytes(12) * N.MAX_NOTES  # empty notes, no owner
    found = lint(raw_kernel(filler + note_bytes(classic())), select=["XL003"])
    ignored = {t for f in found if "ignores every later note" in f.message for t in f.targets}
    no_limit = {t for f in found if "reads them all" in f.message for t in f.targets}
    assert ignored == BOUNDED and no_limit == UNBOUNDED


def test_xl003_clean_notes_are_fine(lint: Lint) -> None:
    assert not lint(xen_kernel(classic()), select=["XL003"])
    assert not lint(xen_kernel(classic(), bits=32, big_endian=True), select=["XL003"])


def test_xl003_big_endian_elf32_past_eof(lint: Lint) -> None:
    notes = note_bytes([*classic(), Note(N.VIRT_BASE.number, u32(0xC0000000, True))], True)
    found = lint(raw_kernel(notes[:-2], bits=32, big_endian=True), select=["XL003"])
    assert {t for f in found if "as 0" in f.message for t in f.targets} == BOUNDED


# --- XL004 duplicate-note -------------------------------------------------------------------


def test_xl004_different_values_are_a_warning_naming_both(lint: Lint) -> None:
    """Every libelf keeps the later note and boots (issue 11, checked against each release's
    own libelf in test_libelf_kinds): a warning, naming the value Xen uses."""
    first, second = Note(N.ENTRY.number, u64(0x100000)), Note(N.ENTRY.number, u64(0x100040))
    image = xen_kernel(classic(first, second))
    found = lint(image, select=["XL004"])
    assert targets_of(found, "XL004", "warning") == ALL
    assert not targets_of(found, "XL004", "error")
    finding = only(found, "XL004")
    loaded = load_elf_bytes(image)
    earlier, later = loaded.notes_of(N.ENTRY)
    assert "0x100000" in finding.message and "0x100040" in finding.message
    assert f"{earlier.offset:#x}" in finding.message and f"{later.offset:#x}" in finding.message
    assert finding.location is not None and finding.location.offset == later.offset


def test_xl004_equal_values_are_a_warning(lint: Lint) -> None:
    twice = [Note(N.VIRT_BASE.number, u32(0xC0000000, True))] * 2
    found = lint(xen_kernel(classic(*twice), bits=32, big_endian=True), select=["XL004"])
    assert targets_of(found, "XL004", "warning") == ALL
    assert not targets_of(found, "XL004", "error")
    assert "same value 0xc0000000" in only(found, "XL004").message


def test_xl004_only_types_the_release_parses(lint: Lint) -> None:
    entries = [Note(N.PHYS32_ENTRY.number, u32(0x100000)), Note(N.PHYS32_ENTRY.number, u32(0))]
    found = lint(xen_kernel(entries), modes=["pvh"], select=["XL004"])
    assert targets_of(found, "XL004", "warning") == span("xen>=4.7")
    assert "xen-4.6" not in targets_of(found, "XL004")


def test_xl004_sticky_and_accumulating_notes(lint: Lint) -> None:
    pae = [Note(N.PAE_MODE.number, text("yes")), Note(N.PAE_MODE.number, text("no"))]
    features = [Note(N.FEATURES.number, text("writable_page_tables"))] * 2
    bitmap = [Note(N.SUPPORTED_FEATURES.number, u32(1))] * 2
    found = lint(xen_kernel(classic(*pae, *features, *bitmap)), select=["XL004"])
    finding = only(found, "XL004")
    assert finding.location is not None and finding.location.note == "PAE_MODE"
    assert targets_of(found, "XL004", "warning") == ALL
    assert "extended-cr3" in finding.message and "not simply the last value" in finding.message


def test_xl004_no_duplicates(lint: Lint) -> None:
    assert not lint(xen_kernel(classic(Note(N.ENTRY.number, u64(0x100000)))), select=["XL004"])


# --- XL005 legacy-xen-guest -----------------------------------------------------------------


def guest_kernel(guest: str, notes: Sequence[Note] = ()) -> bytes:
    section = Section("__xen_guest", text(guest), type=1)
    if notes:
        return xen_kernel(list(notes), sections=[section])
    return build_elf([Segment(data=b"\x90" * 64)], [section])


LEGACY = "GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic,VIRT_BASE=0x100000"


def test_xl005_dead_weight_next_to_notes(lint: Lint) -> None:
    found = lint(guest_kernel(LEGACY, classic()), select=["XL005"])
    assert targets_of(found, "XL005", "info") == ALL
    assert "dead weight" in only(found, "XL005").message


def test_xl005_used_warning_pv_and_ignored_pvh_from_4_16(lint: Lint) -> None:
    """Ignored for PVH from 4.16 is a warning: what refuses the boot is XL001 (x86 libelf's
    note check) and XL103 (no PHYS32_ENTRY); a non-x86 image passes libelf (issue 11)."""
    found = lint(guest_kernel(LEGACY), modes=["pv", "pvh"], select=["XL005"])
    assert not cells(found, "XL005", "error")
    assert cells(found, "XL005", "warning") == {(t, "pv") for t in ALL} | {(t, "pvh") for t in ALL}
    ignored = [f for f in found if "ignores for PVH" in f.message]
    assert {c for f in ignored for c in cells([f], "XL005")} == {
        (t, "pvh") for t in span("xen>=4.16")
    }
    warning = next(f for f in found if str(f.severity) == "warning")
    assert "ELF_PADDR_OFFSET is absent, so it defaults to VIRT_BASE" in warning.message


def test_xl005_hypercall_page_before_virt_base_before_4_11(lint: Lint) -> None:
    guest = "GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic,HYPERCALL_PAGE=0x2,VIRT_BASE=0x100000"
    found = lint(guest_kernel(guest), select=["XL005"])
    assert targets_of(found, "XL005", "error") == span("xen<4.11")
    assert "xen-4.10.1" in targets_of(found, "XL005", "error")
    assert "xen-4.11" not in targets_of(found, "XL005", "error")
    error = next(f for f in found if str(f.severity) == "error")
    assert "0x1fff" in error.message  # (2 << 12) plus an all-ones VIRT_BASE
    warning = next(f for f in found if str(f.severity) == "warning")
    assert "HYPERCALL_PAGE=0x2 is a page number" in warning.message


def test_xl005_octal_and_pae_quirks(lint: Lint) -> None:
    guest = "VIRT_BASE=0100000,PAE=yes,HYPERCALL_PAGE=2,GUEST_OS=linux,XEN_VER=xen-3.0"
    found = lint(guest_kernel(guest), select=["XL005"])
    assert not targets_of(found, "XL005", "error")  # VIRT_BASE comes first
    message = only(found, "XL005").message
    assert "VIRT_BASE=0100000 starts with 0, so Xen reads it as octal" in message
    assert "PAE=yes means plain PAE" in message


def test_xl005_no_xen_guest(lint: Lint) -> None:
    assert not lint(xen_kernel(classic()), select=["XL005"])


# --- XL006 note-descriptor ------------------------------------------------------------------


def test_xl006_entry_of_a_bad_size_is_an_error(lint: Lint) -> None:
    entry = Note(N.ENTRY.number, u64(0x100000) * 2)
    found = lint(xen_kernel(classic(entry)), select=["XL006"])
    assert targets_of(found, "XL006", "error") == ALL
    assert "16-byte descriptor" in only(found, "XL006").message


def test_xl006_entry_is_ignored_by_hvm_parses_from_4_16(lint: Lint) -> None:
    entry = Note(N.ENTRY.number, b"\0\0\x10")
    notes = classic(entry, Note(N.PHYS32_ENTRY.number, u32(0x100000)))
    found = lint(xen_kernel(notes), modes=["pv", "pvh"], select=["XL006"])
    assert cells(found, "XL006", "error") == {(t, "pv") for t in ALL} | {
        (t, "pvh") for t in span("xen<4.16")
    }
    assert cells(found, "XL006", "warning") == {(t, "pvh") for t in span("xen>=4.16")}


def test_xl006_string_without_nul_for_4096_bytes(lint: Lint) -> None:
    long = Note(N.GUEST_VERSION.number, b"A" * (N.STRING_BOUND + 8) + b"\0")
    found = lint(xen_kernel(classic(long)), select=["XL006"])
    skips = {t for f in found if "skips the note" in f.message for t in f.targets}
    reads_on = {t for f in found if "reads on until some NUL" in f.message for t in f.targets}
    assert skips == BOUNDED and reads_on == UNBOUNDED


def test_xl006_other_numbers_are_a_warning_big_endian_elf32(lint: Lint) -> None:
    base = Note(N.VIRT_BASE.number, b"\xc0\x00\x00")
    found = lint(xen_kernel(classic(base), bits=32, big_endian=True), select=["XL006"])
    assert targets_of(found, "XL006", "warning") == ALL
    assert "VIRT_BASE as 0" in only(found, "XL006").message
    assert ".long" in only(found, "XL006").fix


def test_xl006_supported_features_from_4_2(lint: Lint) -> None:
    bitmap = Note(N.SUPPORTED_FEATURES.number, u32(1 << F.DOM0.bit) + b"\0\0")
    found = lint(xen_kernel(classic(bitmap)), modes=["pv", "pv-dom0"], select=["XL006"])
    assert targets_of(found, "XL006") == span("xen>=4.2")
    assert "xen-4.1.6" not in targets_of(found, "XL006")
    assert cells(found, "XL006", "error") == {(t, "pv-dom0") for t in span("xen>=4.2")}
    assert cells(found, "XL006", "warning") == {(t, "pv") for t in span("xen>=4.2")}
    assert any("Kernel does not support Dom0 operation" in m for m in messages(found, "XL006"))


def test_xl006_leaves_phys32_reloc_and_phys32_entry_sizes_to_xl205_and_xl204(lint: Lint) -> None:
    reloc = Note(N.PHYS32_RELOC.number, u32(0x200000) + b"\0\0")
    entry = Note(N.PHYS32_ENTRY.number, b"\0\0\x10")
    assert not lint(xen_kernel(classic(reloc, entry)), modes=["pvh-dom0"], select=["XL006"])


def test_xl006_strings_without_nul_in_the_descriptor(lint: Lint) -> None:
    padded = Note(N.GUEST_VERSION.number, b"2.6.18")  # NUL only in the padding
    runs_on = Note(N.PAE_MODE.number, b"yes!")  # no padding: runs into the next header (namesz 4)
    found = lint(xen_kernel(classic(padded, runs_on, Note(7, text("x")))), select=["XL006"])
    # Read as meant (Linux writes FEATURES so): info; read wrong: warning.
    assert targets_of(found, "XL006", "info") == ALL
    assert targets_of(found, "XL006", "warning") == ALL
    info = {f.message for f in found if str(f.severity) == "info"}
    warned = {f.message for f in found if str(f.severity) == "warning"}
    assert all("GUEST_VERSION" in m and "'2.6.18' as meant" in m for m in info)
    assert all("PAE_MODE" in m and "gets 'yes!\\x04'" in m for m in warned)


def test_xl006_l1_mfn_valid_pairs_from_4_18(lint: Lint) -> None:
    pairs = Note(N.L1_MFN_VALID.number, u64(1) * 3)  # one and a half 8-byte pairs
    found = lint(xen_kernel(classic(pairs)), select=["XL006"])
    assert targets_of(found, "XL006", "info") == span("xen>=4.18")
    whole = Note(N.L1_MFN_VALID.number, u32(1) * 2)  # a whole 4-byte pair on ELF32
    assert not lint(xen_kernel(classic(whole), bits=32), select=["XL006"])


def test_xl006_good_descriptors(lint: Lint) -> None:
    notes = classic(
        Note(N.ENTRY.number, u64(0x100000)),
        Note(N.HV_START_LOW.number, u32(0xF5800000)),
        Note(N.SUPPORTED_FEATURES.number, u32(1)),
        Note(N.PHYS32_RELOC.number, u32(0x200000) * 3),
    )
    assert not lint(xen_kernel(notes), select=["XL006"])


# --- XL007 note-ignored-by-target -----------------------------------------------------------


def test_xl007_phys32_entry_before_4_7(lint: Lint) -> None:
    image = xen_kernel(classic(Note(N.PHYS32_ENTRY.number, u32(0x100000))))
    found = lint(image, modes=["pv", "pvh"], select=["XL007"])
    # PV cells of releases before 4.7; their PVH cells cannot boot at all (XL103's business)
    assert cells(found, "XL007", "info") == {(t, "pv") for t in span("xen<4.7")}
    assert "xen-4.6" in targets_of(found, "XL007") and "xen-4.7" not in targets_of(found, "XL007")
    assert "from 4.7" in only(found, "XL007").message


def test_xl007_supported_features_before_4_2(lint: Lint) -> None:
    found = lint(xen_kernel(classic(Note(N.SUPPORTED_FEATURES.number, u32(1)))))
    assert targets_of(found, "XL007", "info") == span("xen<4.2")
    assert "xen-4.1.6" in targets_of(found, "XL007")
    assert "xen-4.2.0" not in targets_of(found, "XL007")
    assert "from 4.2" in only(found, "XL007").message


def test_xl007_l1_mfn_valid_before_4_18_and_reloc_before_4_19(lint: Lint) -> None:
    pairs = Note(N.L1_MFN_VALID.number, u64(1) * 2)
    reloc = Note(N.PHYS32_RELOC.number, b"")
    found = lint(xen_kernel(classic(pairs, reloc), bits=32, big_endian=True))
    mfn = {t for f in found if f.code == "XL007" and "L1_MFN_VALID" in f.message for t in f.targets}
    rel = {t for f in found if f.code == "XL007" and "PHYS32_RELOC" in f.message for t in f.targets}
    assert mfn == span("xen<4.18") and "xen-4.17" in mfn
    assert rel == span("xen<4.19") and "xen-4.18" in rel


def test_xl007_never_parsed_types(lint: Lint) -> None:
    info = Note(N.INFO.number, text("NAME=value"))
    crash = Note(0x1000001, u32(0))  # CRASH_INFO: a kexec note, no boot note
    found = lint(xen_kernel(classic(info, crash)), select=["XL007"])
    assert targets_of(found, "XL007", "info") == ALL
    texts = messages(found, "XL007")
    assert any("INFO notes are never parsed" in m for m in texts)
    assert any("type 0x1000001" in m for m in texts)


def test_xl007_classic_notes_are_known_everywhere(lint: Lint) -> None:
    assert not lint(xen_kernel(classic()), select=["XL007"])


def test_xen_guest_hypercall_page_replay_per_release() -> None:
    """xenparse's replay of the legacy HYPERCALL_PAGE (a page number) on both sides of 4.11."""
    old, new = (next(r for r in RELEASES if r.name == n) for n in ("xen-4.10.1", "xen-4.11"))
    alone = load_elf_bytes(guest_kernel("GUEST_OS=linux,HYPERCALL_PAGE=2"))
    assert parse(alone, old, Mode.PV).numbers["HYPERCALL_PAGE"] == 0x1FFF
    assert parse(alone, new, Mode.PV).numbers["HYPERCALL_PAGE"] == 0x2000
    first = load_elf_bytes(guest_kernel("VIRT_BASE=0x100000,HYPERCALL_PAGE=2"))
    for release in (old, new):
        assert parse(first, release, Mode.PV).numbers["HYPERCALL_PAGE"] == 0x102000
