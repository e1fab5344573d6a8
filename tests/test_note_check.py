"""elf_xen_note_check() content rules XL101 loader-or-guest-os and XL102 xen-version, on both
sides of every boundary they depend on: the message texts (4.3/4.4, 4.10.0/4.10.1), the
PHYS32_ENTRY shortcut (4.10.0/4.10.1 for PV and PVH, 4.15/4.16 where PV loses it, PVH dom0
4.15/4.16) and __xen_guest for PVH (4.15/4.16)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conftest import Lint, cells, targets_of
from elfbuilder import Note, Section, Segment, build_elf, u32, xen_kernel

from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import RELEASES
from xenlint.engine.check import Finding
from xenlint.engine.targets import resolve
from xenlint.image.elf import load_elf
from xenlint.replay.xen import parse

ALL = {r.name for r in RELEASES}
CODES = ["XL101", "XL102"]
LOADER_TEXT = "Will only load images built for the generic loader or Linux images"
VERSION_TEXT = "Xen will only load images built for Xen v3.0"


def span(spec: str) -> set[str]:
    """Profile names a target range selects, e.g. span('xen>=4.2,<4.4')."""
    return {p.name for p in resolve([spec], list(RELEASES))}


def text(s: str) -> bytes:
    return s.encode("latin-1") + b"\0"


def kernel(
    *,
    guest_os: str | None = None,
    loader: str | None = None,
    xen_version: str | None = "xen-3.0",
    phys32: int | None = None,
    bits: int = 64,
    big_endian: bool = False,
) -> bytes:
    """A kernel with the given note values (None = no such note)."""
    notes = []
    for kind, value in (
        (N.GUEST_OS, guest_os),
        (N.LOADER, loader),
        (N.XEN_VERSION, xen_version),
    ):
        if value is not None:
            notes.append(Note(kind.number, text(value)))
    if phys32 is not None:
        notes.append(Note(N.PHYS32_ENTRY.number, u32(phys32, big_endian)))
    return xen_kernel(notes, bits=bits, big_endian=big_endian)


def xen_guest_kernel(guest: str) -> bytes:
    """A kernel whose only Xen information is the legacy __xen_guest string."""
    return build_elf([Segment(data=b"\x90" * 64)], [Section("__xen_guest", text(guest), type=1)])


def messages(findings: Sequence[Finding], code: str, target: str, mode: str = "pv") -> list[str]:
    return [
        f.message for f in findings if f.code == code and target in f.targets and mode in f.modes
    ]


def fixes(findings: Sequence[Finding], code: str) -> set[str]:
    return {f.fix for f in findings if f.code == code}


def pairs(names: set[str], mode: str) -> set[tuple[str, str]]:
    return {(name, mode) for name in names}


# --- XL101 loader-or-guest-os ---------------------------------------------------------------


def test_xl101_capitalised_guest_os_fails_everywhere(lint: Lint) -> None:
    found = lint(kernel(guest_os="Linux"), modes=["pv"], select=CODES)
    assert targets_of(found, "XL101", "error") == ALL
    assert not targets_of(found, "XL102")
    message = messages(found, "XL101", "xen-4.22")[0]
    assert "no LOADER" in message and "GUEST_OS 'Linux'" in message
    assert "case-sensitive" in message
    assert fixes(found, "XL101") == {
        'add ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "generic"), '
        "or write GUEST_OS in lower case ('linux')"
    }
    location = next(f.location for f in found if f.code == "XL101")
    assert location is not None and location.note == "GUEST_OS"


def test_xl101_either_prefix_is_enough(lint: Lint) -> None:
    for good in (
        kernel(loader="generic"),
        kernel(loader="generic-ish", guest_os="FreeBSD"),
        kernel(guest_os="linux"),
        kernel(guest_os="linux-6.1", loader="other"),
    ):
        assert not cells(lint(good, modes=["pv"], select=CODES), "XL101")


def test_xl101_prefixes_are_exact(lint: Lint) -> None:
    for bad, shown in (
        (kernel(loader="generi"), "LOADER 'generi'"),
        (kernel(loader="Generic"), "LOADER 'Generic'"),
        (kernel(loader="", guest_os=" linux"), "LOADER ''"),
    ):
        found = lint(bad, modes=["pv"], select=CODES)
        assert targets_of(found, "XL101", "error") == ALL
        assert shown in messages(found, "XL101", "xen-4.0")[0]
    fix = fixes(lint(kernel(loader="generi"), modes=["pv"], select=CODES), "XL101")
    assert fix == {'change the LOADER note to ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "generic")'}


def test_xl101_xen_message_per_release_group(lint: Lint) -> None:
    """3.1-4.3 print no values; 4.4 adds them; 4.10.1 adds 'or with PHYS32_ENTRY set'."""
    found = lint(kernel(guest_os="Linux", loader="elf"), modes=["pv"], select=CODES)
    plain = f"'{LOADER_TEXT}'"
    values = f"'{LOADER_TEXT} (Not 'elf' and 'Linux')'"
    phys32 = f"'{LOADER_TEXT} (Not 'elf' and 'Linux') or with PHYS32_ENTRY set'"
    for target in ("xen-3.1", "xen-4.2.3", "xen-4.3"):
        assert plain in messages(found, "XL101", target)[0], target
    for target in ("xen-4.4", "xen-4.10.0"):
        message = messages(found, "XL101", target)[0]
        assert values in message and "PHYS32_ENTRY set" not in message, target
    for target in ("xen-4.10.1", "xen-4.11", "xen-4.22"):
        assert phys32 in messages(found, "XL101", target)[0], target


def test_xl101_values_are_the_15_characters_xen_keeps(lint: Lint) -> None:
    found = lint(kernel(loader="x" * 20), modes=["pv"], select=CODES)
    assert f"(Not '{'x' * 15}' and '')" in messages(found, "XL101", "xen-4.4")[0]
    # a long GUEST_OS still starts with "linux" after the cut
    assert not cells(lint(kernel(guest_os="linux" * 6), modes=["pv"], select=CODES), "XL101")


def test_xl101_phys32_shortcut_boundaries(lint: Lint) -> None:
    """PV+PVH exempt on 4.10.1-4.15; only PVH from 4.16; nobody on 4.7-4.10.0."""
    found = lint(
        kernel(guest_os="Linux", phys32=0x100000), modes=["pv", "pvh", "pvh-dom0"], select=CODES
    )
    pv = ALL - span("xen>=4.10.1,<4.16")
    assert "xen-4.10.0" in pv and "xen-4.16" in pv and "xen-4.15" not in pv
    assert cells(found, "XL101", "error") == (
        pairs(pv, "pv")
        | pairs(span("xen>=4.7,<4.10.1"), "pvh")
        | pairs(span("xen>=4.9,<4.10.1"), "pvh-dom0")
    )
    pvh_hint = "PHYS32_ENTRY does not exempt a PVH kernel from this check before Xen 4.10.1"
    assert pvh_hint in messages(found, "XL101", "xen-4.10.0", "pvh")[0]
    assert pvh_hint in messages(found, "XL101", "xen-4.9", "pvh-dom0")[0]
    pv_hint = "PHYS32_ENTRY exempts only PVH boots from Xen 4.16 (PV boots too on 4.10.1 to 4.15)"
    assert pv_hint in messages(found, "XL101", "xen-4.16")[0]
    assert "exempt" not in messages(found, "XL101", "xen-4.10.0")[0]  # PV: nothing to gain
    pvh_fixes = {f.fix for f in found if f.code == "XL101" and "pvh" in f.modes}
    assert all("target Xen 4.10.1 or later" in fix for fix in pvh_fixes)


def test_pvh_dom0_parse_has_no_hvm_flag_before_416(tmp_path: Path) -> None:
    """PVH dom0 on 4.9-4.15 is parsed like PV: the shortcut there is the PV+PVH one."""
    path = tmp_path / "k.elf"
    path.write_bytes(kernel(guest_os="Linux", phys32=0x100000))
    image = load_elf(str(path))
    by_name = {r.name: r for r in RELEASES}
    for name, hvm, shortcut in (
        ("xen-4.10.0", False, False),
        ("xen-4.10.1", False, True),
        ("xen-4.15", False, True),
        ("xen-4.16", True, True),
    ):
        result = parse(image, by_name[name], Mode.PVH_DOM0)
        assert (result.hvm, result.shortcut) == (hvm, shortcut), name
    assert not parse(image, by_name["xen-4.16"], Mode.PV).shortcut


def test_xl101_unset_phys32_does_not_exempt(lint: Lint) -> None:
    found = lint(kernel(guest_os="Linux", phys32=N.PHYS32_UNSET), modes=["pvh"], select=CODES)
    assert targets_of(found, "XL101", "error") == span("xen>=4.7")
    hint = "a usable PHYS32_ENTRY note would exempt this PVH boot"
    assert hint in messages(found, "XL101", "xen-4.16", "pvh")[0]
    assert hint not in messages(found, "XL101", "xen-4.10.0", "pvh")[0]


def test_xl101_xen_guest_values_and_pvh_boundary(lint: Lint) -> None:
    """__xen_guest values count; 4.16+ ignores the string for PVH, so XL001's case there."""
    found = lint(
        xen_guest_kernel("GUEST_OS=Linux,XEN_VER=xen-3.0"), modes=["pv", "pvh"], select=CODES
    )
    assert cells(found, "XL101", "error") == pairs(ALL, "pv") | pairs(span("xen>=4.7,<4.16"), "pvh")
    message = messages(found, "XL101", "xen-4.15", "pvh")[0]
    assert "GUEST_OS 'Linux' in __xen_guest" in message
    assert fixes(found, "XL101") == {
        "set LOADER=generic in the __xen_guest string, or better replace it by ELF notes, "
        'e.g. ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "generic")'
    }
    location = next(f.location for f in found if f.code == "XL101")
    assert location is not None and location.container == "section __xen_guest"
    assert not cells(lint(xen_guest_kernel("LOADER=generic,XEN_VER=xen-3.0")), "XL101")


def test_xl101_elf32_big_endian(lint: Lint) -> None:
    bad = kernel(guest_os="Linux", phys32=0x100000, bits=32, big_endian=True)
    found = lint(bad, modes=["pv", "pvh"], select=CODES)
    assert cells(found, "XL101", "error") == pairs(ALL - span("xen>=4.10.1,<4.16"), "pv") | pairs(
        span("xen>=4.7,<4.10.1"), "pvh"
    )
    good = kernel(guest_os="linux", phys32=0x100000, bits=32, big_endian=True)
    assert not cells(lint(good, modes=["pv", "pvh"], select=CODES), "XL101")


def test_note_check_skips_arm_from_4_2_and_kernels_without_notes(lint: Lint) -> None:
    """EM_ARM skips the check from 4.2 only; every other machine is checked like x86 (issue
    11: libelf 3.1-4.1.6.1 refuse this image, 4.2.2+ accept it, test_libelf_kinds)."""
    arm = xen_kernel([Note(N.GUEST_OS.number, text("Linux"))], bits=32, machine=40)
    assert targets_of(lint(arm, modes=["pv"], select=CODES), "XL101", "error") == span("xen<4.2")
    ppc = xen_kernel([Note(N.GUEST_OS.number, text("Linux"))], bits=32, machine=20)
    assert targets_of(lint(ppc, modes=["pv"], select=CODES), "XL101", "error") == ALL
    bare = build_elf([Segment(data=b"\x90" * 64)])
    assert not lint(bare, modes=["pv"], select=CODES)  # XL001's case


# --- XL102 xen-version ----------------------------------------------------------------------


def test_xl102_wrong_version_everywhere_with_values_from_44(lint: Lint) -> None:
    found = lint(kernel(loader="generic", xen_version="xen-4.0"), modes=["pv"], select=CODES)
    assert targets_of(found, "XL102", "error") == ALL
    assert not cells(found, "XL101")
    for target in ("xen-3.1", "xen-4.3"):
        message = messages(found, "XL102", target)[0]
        assert f"'{VERSION_TEXT}'" in message and "XEN_VERSION is 'xen-4.0'" in message
    for target in ("xen-4.4", "xen-4.22"):
        assert f"'{VERSION_TEXT} (Not 'xen-4.0')'" in messages(found, "XL102", target)[0]
    (fix,) = fixes(found, "XL102")
    assert fix.startswith(
        'change the XEN_VERSION note to ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")'
    )
    assert "not a Xen release" in fix
    location = next(f.location for f in found if f.code == "XL102")
    assert location is not None and location.note == "XEN_VERSION"


def test_xl102_missing_and_exact_prefix(lint: Lint) -> None:
    found = lint(kernel(loader="generic", xen_version=None), modes=["pv"], select=CODES)
    assert targets_of(found, "XL102", "error") == ALL
    assert "there is no XEN_VERSION" in messages(found, "XL102", "xen-4.4")[0]
    assert fixes(found, "XL102") == {'add ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")'}
    for bad in ("", "XEN-3.0", "xen-3.", "xen-3.1"):
        found = lint(kernel(loader="generic", xen_version=bad), modes=["pv"], select=CODES)
        assert targets_of(found, "XL102", "error") == ALL, bad
    for good in ("xen-3.0", "xen-3.0.4", "xen-3.0-unstable-and-long"):
        found = lint(kernel(loader="generic", xen_version=good), modes=["pv"], select=CODES)
        assert not cells(found, "XL102"), good


def test_xl102_phys32_shortcut_boundaries(lint: Lint) -> None:
    bad = kernel(loader="generic", xen_version="xen-4.0", phys32=0x100000)
    found = lint(bad, modes=["pv", "pvh", "pvh-dom0"], select=CODES)
    assert cells(found, "XL102", "error") == (
        pairs(ALL - span("xen>=4.10.1,<4.16"), "pv")
        | pairs(span("xen>=4.7,<4.10.1"), "pvh")
        | pairs(span("xen>=4.9,<4.10.1"), "pvh-dom0")
    )
    assert "before Xen 4.10.1" in messages(found, "XL102", "xen-4.10.0", "pvh-dom0")[0]


def test_xl102_xen_guest_and_elf32(lint: Lint) -> None:
    found = lint(xen_guest_kernel("LOADER=generic,XEN_VER=xen-4.1"), modes=["pv"], select=CODES)
    assert targets_of(found, "XL102", "error") == ALL
    assert "XEN_VERSION is 'xen-4.1' in __xen_guest" in messages(found, "XL102", "xen-4.1.0")[0]
    assert all("set XEN_VER=xen-3.0 in the __xen_guest" in f for f in fixes(found, "XL102"))
    elf32 = kernel(loader="generic", xen_version="3.0", bits=32, big_endian=True)
    assert targets_of(lint(elf32, modes=["pv"], select=CODES), "XL102", "error") == ALL


def test_parse_for_cell_keeps_every_field() -> None:
    """Context.xen gives each cell a shell of the shared parse (XenParse.for_cell, positional
    for speed): every field but release and mode must be the shared parse's own object, for
    the fields there are now and any added later."""
    from xenlint.record import replace
    from xenlint.replay.xen import XenParse

    sentinels = {name: object() for name in XenParse._fields}
    shared = XenParse(**sentinels)  # type: ignore[arg-type]
    release, mode = RELEASES[-1], Mode.PVH
    shell = shared.for_cell(release, mode)
    assert shell.release is release and shell.mode is mode
    for name in XenParse._fields:
        if name not in ("release", "mode"):
            assert getattr(shell, name) is sentinels[name], name
    assert shell == replace(shared, release=release, mode=mode)


def test_reading_for_loader_keeps_every_field() -> None:
    """Loader profiles that behave alike share one replay per image, and each loader cell
    gets a copy naming its own profile (Reading.for_loader, positional for speed): every
    other field must be the shared reading's own object, for the fields there are now and
    any added later."""
    from xenlint.abi.loaders import LOADERS
    from xenlint.record import replace
    from xenlint.replay.pvh import Reading

    sentinels = {name: object() for name in Reading._fields}
    shared = Reading(**sentinels)  # type: ignore[arg-type]
    loader = LOADERS[-1]
    copy = shared.for_loader(loader)
    assert copy.loader is loader
    for name in Reading._fields:
        if name != "loader":
            assert getattr(copy, name) is sentinels[name], name
    assert copy == replace(shared, loader=loader)


def test_grouped_parses_match_each_cells_own(tmp_path: Path) -> None:
    """Context.xen_pairs parses once per group of cells that read notes alike, the groups
    worked out once per run's cells and NoteIndex.signature: every cell's parse must equal
    the one its own release and mode make, on an image that reuses an earlier image's groups
    (equal signature, other values) as on one that does not. The pairs after the first hold
    the same note types but group releases otherwise: with a signature that left out
    unterminated strings, FEATURES names or __xen_guest's HYPERCALL_PAGE, the second of the
    pair would take the first one's groups and some cell another release's parse."""
    from xenlint.engine.rule import Cell, Context
    from xenlint.replay.xen import NoteIndex

    def with_features(value: str) -> bytes:
        notes = [Note(N.GUEST_OS.number, text("linux")), Note(N.FEATURES.number, text(value))]
        return xen_kernel(notes)

    def with_version(value: bytes) -> bytes:
        notes = [(N.GUEST_OS, text("linux")), (N.XEN_VERSION, text("xen-3.0"))]
        notes += [(N.GUEST_VERSION, value), (N.PHYS32_ENTRY, u32(1 << 20))]
        return xen_kernel([Note(kind.number, desc) for kind, desc in notes])

    images = [
        kernel(guest_os="linux", loader="generic"),
        kernel(guest_os="NetBSD", loader="generic-9", xen_version="xen-3.1"),  # same types
        # the same note types: a string each release reads, then one that releases with
        # bounded reads skip (no NUL); a name all releases know, then one only 4.4+ do
        with_version(text("2.6")),
        with_version(b"A" * (N.STRING_BOUND + 8) + b"\0"),
        with_features("writable_page_tables|!pae_pgdir_above_4gb"),
        with_features("hvm_callback_vector|!pae_pgdir_above_4gb|foo"),
        xen_guest_kernel("GUEST_OS=linux,LOADER=generic,FEATURES=!writable_page_tables"),
        # __xen_guest without, then with, HYPERCALL_PAGE (read as an address from 4.11)
        xen_guest_kernel("GUEST_OS=linux,LOADER=generic,VIRT_BASE=0x1000"),
        xen_guest_kernel("GUEST_OS=linux,LOADER=generic,HYPERCALL_PAGE=0x10,VIRT_BASE=0x1000"),
    ]
    all_cells = tuple(Cell(release, mode) for release in RELEASES for mode in Mode)
    signatures = []
    for i, data in enumerate(images):
        path = tmp_path / f"k{i}.elf"
        path.write_bytes(data)
        image = load_elf(str(path))
        signatures.append(NoteIndex(image).signature)
        for cell, got in Context(image, all_cells).xen_pairs:
            assert cell.xen is not None
            assert got == parse(image, cell.xen, cell.mode), (i, str(cell))
    assert signatures[0] == signatures[1]
    assert signatures[2] != signatures[3] and signatures[4] != signatures[5]
    assert signatures[7] != signatures[8]
