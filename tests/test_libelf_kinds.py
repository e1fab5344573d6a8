"""One byte-level image per kind of disagreement the libelf differential found (issue 11).

Each case lists what named releases' own libelf decide about it (None: accepted, else a piece
of libelf's error message). `test_expectations_are_libelf_verdicts` proves every expectation
against the oracle builds in ../shared/oracles (skipped where they cannot be built); the
xenlint tests then hold xenlint to those verdicts everywhere, oracle or not.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import libelf_oracle
import pytest
from conftest import Lint
from elfbuilder import PF_R, PT_LOAD, PT_NOTE, Note, Segment, build_elf, note_bytes, u64
from libelf_diff import notes_json
from pv_cases import (
    ENTRY,
    GUEST_OS,
    HYPERCALL_PAGE,
    INIT_P2M,
    LOAD,
    LOADER,
    PADDR_OFFSET,
    SIZE,
    VIRT_BASE,
    base_notes,
    kernel,
    pvh,
    s,
)

EM_PPC, EM_ARM, EM_AARCH64 = 20, 40, 183
ALL_ONES = (1 << 64) - 1
OUT_OF_BOUNDS = "ELF start or entries are out of bounds"
LOADER_CHECK = "Will only load images built for the generic loader or Linux images"


@dataclass
class Case:
    data: bytes
    libelf: dict[tuple[str, str], str | None]  # (release, pv|pvh) -> None or error text
    why: str


def _read_only_text() -> bytes:
    """The text PT_LOAD has only PF_R: not loadable before 4.0 (elf_phdr_is_loadable)."""
    text = Segment(PT_LOAD, PF_R, LOAD, LOAD, b"\x90" * SIZE, section=".text")
    note = Segment(PT_NOTE, PF_R, 0, 0, note_bytes(base_notes()), align=4, section=".note.Xen")
    return build_elf([text, note], entry=LOAD)


def _cut(notes: list[Note], cut: int) -> bytes:
    """Notes last in the file (no section headers after them), the file cut `cut` bytes short."""
    data = kernel(*notes, note_section=None, with_section_headers=False)
    return data[:-cut]


CASES: dict[str, Case] = {
    "ppc-freebsd": Case(
        kernel(Note(GUEST_OS, s("FreeBSD")), drop=(GUEST_OS, LOADER), machine=EM_PPC),
        {
            ("3.1", "pv"): LOADER_CHECK,
            ("4.1.6.1", "pv"): LOADER_CHECK,
            ("4.17", "pv"): LOADER_CHECK,
            ("4.22.0", "pv"): LOADER_CHECK,
        },
        "kind 1: the note check applies to every machine but EM_ARM",
    ),
    "arm-capital-linux": Case(
        kernel(Note(GUEST_OS, s("Linux")), drop=(GUEST_OS, LOADER), bits=32, machine=EM_ARM),
        {
            ("3.1", "pv"): LOADER_CHECK,
            ("4.1.6.1", "pv"): LOADER_CHECK,
            ("4.2.2", "pv"): None,
            ("4.17", "pv"): None,
        },
        "kind 2: EM_ARM skips the note check only from 4.2",
    ),
    "aarch64-pvh-entry-outside": Case(
        kernel(pvh(0x5000), machine=EM_AARCH64),
        {
            ("4.15", "pvh"): None,
            ("4.16", "pvh"): OUT_OF_BOUNDS,
            ("4.22.0", "pvh"): OUT_OF_BOUNDS,
            ("4.16", "pv"): None,
        },
        "kind 3: 4.16+ check the PVH entry whatever the machine",
    ),
    "init-p2m-inside": Case(
        kernel(Note(INIT_P2M, u64(LOAD + 0x10))),
        {
            ("3.3", "pv"): None,
            ("3.4", "pv"): "P->M table base is out of bounds",
            ("4.0", "pv"): "P->M table base is out of bounds",
        },
        "kind 4: 3.4 added the INIT_P2M bounds check (3.2-3.4 are not 3.1)",
    ),
    "read-only-text": Case(
        _read_only_text(),
        {("3.4", "pv"): OUT_OF_BOUNDS, ("4.0", "pv"): None},
        "kind 4: before 4.0 a PF_R-only PT_LOAD is not loadable",
    ),
    "all-ones-virt-base": Case(
        kernel(Note(VIRT_BASE, u64(ALL_ONES)), Note(PADDR_OFFSET, u64(0)), pvh()),
        {
            ("4.17", "pv"): "ELF_PADDR_OFFSET set, VIRT_BASE unset",
            ("4.16", "pvh"): "ELF_PADDR_OFFSET set, VIRT_BASE unset",
            ("4.17", "pvh"): "ELF_PADDR_OFFSET set, VIRT_BASE unset",
            ("4.18", "pvh"): None,
        },
        "kind 5: an all-ones VIRT_BASE is libelf's 'unset'",
    ),
    "all-ones-entry": Case(
        kernel(Note(ENTRY, u64(ALL_ONES))),
        {("3.1", "pv"): None, ("4.17", "pv"): None},
        "kind 6: an all-ones ENTRY falls back to e_entry",
    ),
    "all-ones-paddr-offset": Case(
        kernel(Note(VIRT_BASE, u64(0)), Note(PADDR_OFFSET, u64(ALL_ONES))),
        {("3.1", "pv"): None, ("4.17", "pv"): None},
        "kind 6: an all-ones PADDR_OFFSET takes its default",
    ),
    "all-ones-hypercall-page": Case(
        kernel(Note(HYPERCALL_PAGE, u64(ALL_ONES))),
        {("4.17", "pv"): None},
        "kind 6: an all-ones HYPERCALL_PAGE is unset (the toolstack skips it)",
    ),
    "different-entries": Case(
        kernel(Note(ENTRY, u64(LOAD)), Note(ENTRY, u64(LOAD + 0x40))),
        {("3.1", "pv"): None, ("4.17", "pv"): None},
        "kind 7: libelf keeps the last of two ENTRY notes and boots",
    ),
    "different-phys32-entries": Case(
        kernel(pvh(LOAD), pvh(LOAD + 0x40)),
        {("4.17", "pvh"): None, ("4.22.0", "pvh"): None},
        "kind 7: libelf keeps the last PHYS32_ENTRY and boots; loaders may take the first",
    ),
    "bad-size-entry-at-0": Case(
        kernel(Note(ENTRY, b"\x10\x00\x00"), load_addr=0),
        {("4.17", "pv"): None},
        "kind 8: a 3-byte ENTRY reads 0, inside an image loaded at 0 (inclusive bounds)",
    ),
    "bad-size-entry-at-1m": Case(
        kernel(Note(ENTRY, b"\x10\x00\x00")),
        {("4.17", "pv"): OUT_OF_BOUNDS},
        "kind 8: the same 0 outside an image at 1 MiB",
    ),
    "size-wraps-to-0": Case(
        kernel(
            Note(0x4, b"", namesz=0xFFFFFFFF, descsz=0xFFFFFFFF, name=b""),
            Note(GUEST_OS, s("after-wrap")),
        ),
        {("3.1", "pv"): None, ("4.17", "pv"): None},
        "values: namesz/descsz 0xffffffff round up to 0 in libelf's 32-bit arithmetic, so the "
        "walk goes on after the header and reads the next note",
    ),
    "string-cut-by-eof": Case(
        _cut([Note(GUEST_OS, s("netbsd-cut"))], 3),
        {("4.17", "pv"): None},
        "values: GUEST_OS without a NUL before EOF is ignored from 4.1.6 (base notes say linux)",
    ),
    "number-cut-by-eof": Case(
        _cut([Note(ENTRY, u64(LOAD + 0x10))], 3),
        {("4.17", "pv"): OUT_OF_BOUNDS},
        "values: an 8-byte ENTRY cut by EOF reads 0, outside the image",
    ),
}

# The value `xenlint notes` must show for the last note of a type (libelf 4.17's elf_notes[]).
VALUES = {
    "size-wraps-to-0": {GUEST_OS: "after-wrap"},
    "string-cut-by-eof": {GUEST_OS: "linux"},
    "number-cut-by-eof": {ENTRY: 0},
    "all-ones-entry": {ENTRY: ALL_ONES},
    "bad-size-entry-at-0": {ENTRY: 0},
}


def _oracle(bindir: Path, release: str, mode: str, path: Path) -> dict:
    proc = subprocess.run(
        [str(bindir / f"libelf-{release}"), mode, str(path)], capture_output=True, check=False
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def oracles(request: pytest.FixtureRequest) -> Path:
    reason = libelf_oracle.available()
    if reason is not None:
        pytest.skip(reason)
    return libelf_oracle.build(libelf_oracle.cache_dir(request.config))


def _write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.elf"
    path.write_bytes(CASES[name].data)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_expectations_are_libelf_verdicts(oracles: Path, tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name)
    for (release, mode), expected in CASES[name].libelf.items():
        res = _oracle(oracles, release, mode, path)
        if expected is None:
            assert res["rc"] == 0, (name, release, mode, res["errors"])
        else:
            assert res["rc"] == -1 and any(expected in e for e in res["errors"]), (
                name,
                release,
                mode,
                res["errors"],
            )
    for kind, value in VALUES.get(name, {}).items():
        res = _oracle(oracles, "4.17", "pv", path)
        assert {"t": kind, **({"str": value} if isinstance(value, str) else {"num": value})} in res[
            "notes"
        ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_xenlint_gives_libelf_verdict(lint: Lint, tmp_path: Path, name: str) -> None:
    """Refused: an error in that cell quoting libelf. Accepted: no error but later stages'."""
    from libelf_diff import LATER

    path = _write(tmp_path, name)
    for (release, mode), expected in CASES[name].libelf.items():
        target = f"xen-{release}"
        findings = lint(path, targets=[target], modes=[mode])
        errors = [f for f in findings if str(f.severity) == "error"]
        if expected is None:
            wrong = [f"{f.code}: {f.message}" for f in errors if f.code not in LATER]
            assert not wrong, (name, release, mode, wrong)
        else:
            assert any(expected in f.message for f in errors), (
                name,
                release,
                mode,
                [f"{f.code}: {f.message}" for f in findings],
            )


@pytest.mark.parametrize("name", sorted(VALUES))
def test_notes_show_the_values_xen_uses(tmp_path: Path, name: str) -> None:
    (record,) = notes_json([_write(tmp_path, name)])
    for kind, value in VALUES[name].items():
        shown = [n["value"] for n in record["notes"] if n["type"] == kind]
        assert [v for v in shown if v is not None][-1] == value, (name, shown)


def test_duplicate_values_warn_and_name_the_value_xen_uses(lint: Lint, tmp_path: Path) -> None:
    found = lint(_write(tmp_path, "different-entries"), targets=["xen"], select=["XL004"])
    assert found and all(str(f.severity) == "warning" for f in found)
    assert f"Xen silently keeps the later one, {LOAD + 0x40:#x}" in found[0].message


def test_bad_size_entry_is_an_error_only_outside_the_image(lint: Lint, tmp_path: Path) -> None:
    inside = lint(_write(tmp_path, "bad-size-entry-at-0"), targets=["xen-4.17"], select=["XL006"])
    outside = lint(_write(tmp_path, "bad-size-entry-at-1m"), targets=["xen-4.17"], select=["XL006"])
    assert {str(f.severity) for f in inside} == {"warning"}
    assert {str(f.severity) for f in outside} == {"error"}


def test_duplicate_entries_are_an_error_only_for_a_loader_booting_another(
    lint: Lint, tmp_path: Path
) -> None:
    """Xen (libelf) boots the last PHYS32_ENTRY: a warning; QEMU and linux-loader stop at the
    first type-18 note of a PT_NOTE (xenlint.replay.pvh), so they boot the other entry."""
    path = _write(tmp_path, "different-phys32-entries")
    found = lint(path, targets=["xen-4.17", "qemu", "linux-loader"], select=["XL004"])
    xen = [f for f in found if any(c.xen is not None for c in f.cells)]
    loaders = [f for f in found if all(c.loader is not None for c in f.cells)]
    assert xen and {str(f.severity) for f in xen} == {"warning"}
    assert loaders and {str(f.severity) for f in loaders} == {"error"}
    assert f"boots {LOAD:#x}, while Xen keeps the last note, {LOAD + 0x40:#x}" in (
        loaders[0].message
    )
