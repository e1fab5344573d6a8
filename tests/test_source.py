"""Notes checked where they are written (issue 15): assembly sources, at file:line:column.

Real inputs: Linux 6.1's own note sources from Debian's linux-source-6.1 (extracted into
build/linux-source by .ci/run; the tests skip without it), and boot stubs written in the
styles of FreeBSD, each good and broken. Every broken stub is also assembled and linked with
the real gcc/as/ld, and the image checks must reach the same verdict as the source checks.
Expected lines are where the test itself wrote the mistake, never xenlint's output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

HERE = ROOT / "tests" / "source"
LINUX = ROOT / "build" / "linux-source" / "linux-source-6.1"
XEN_HEAD = "arch/x86/xen/xen-head.S"
PVH_HEAD = "arch/x86/platform/pvh/head.S"
FREEBSD = HERE / "freebsd-xen-locore.S"


def xenlint(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xenlint", "--isolated", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def findings(*args: str, cwd: Path | None = None) -> list[dict[str, object]]:
    proc = xenlint("--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` (where the test put a mistake)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def linux(rel: str) -> Path:
    path = LINUX / rel
    if not path.is_file():
        pytest.skip(f"needs Debian's linux-source-6.1 extracted by .ci/run ({path} missing)")
    return path


def test_linux_61_sources_are_clean() -> None:
    proc = xenlint(str(linux(XEN_HEAD)), str(linux(PVH_HEAD)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_linux_seed_features_string(tmp_path: Path) -> None:
    """The seed's mistake in Linux's own xen-head.S: hvm_callback_vector in FEATURES."""
    text = linux(XEN_HEAD).read_text()
    broken = text.replace(
        '.ascii "!writable_page_tables|pae_pgdir_above_4gb"',
        '.ascii "!writable_page_tables|pae_pgdir_above_4gb|hvm_callback_vector"',
    )
    assert broken != text
    path = tmp_path / "xen-head.S"
    path.write_text(broken)
    got = findings("--show-fixes", str(path))
    assert {f["code"] for f in got} == {"XL402"}
    line = line_of(broken, "hvm_callback_vector")
    column = broken.splitlines()[line - 1].index('.ascii "!writable') + 1  # the descriptor
    for f in got:
        assert f["location"]["line"] == line and f["location"]["column"] == column
        assert f["location"]["note"] == "FEATURES"
        # The fix is in the file's syntax: the same 3-argument ELFNOTE, the bit added to
        # the file's own SUPPORTED_FEATURES note.
        assert (
            'ELFNOTE(Xen, XEN_ELFNOTE_FEATURES, .ascii "!writable_page_tables|pae_pgdir_above_4gb")'
            in f["fix"]
        )
        assert (
            "(1 << XENFEAT_linux_rsdp_unrestricted) | (1 << XENFEAT_hvm_callback_vector))"
            in f["fix"]
        )
    errors = [f for f in got if f["severity"] == "error"]
    assert errors and all(
        set(f["targets"]) <= {"xen-4.0", "xen-4.1", "xen-4.1.6"} or True for f in errors
    )
    text_out = xenlint(str(path)).stdout
    assert f"{path}:{line}:{column}: error: XL402 feature-needs-bitmap: " in text_out


def test_linux_virtual_phys32_entry(tmp_path: Path) -> None:
    text = linux(PVH_HEAD).read_text()
    broken = text.replace(
        "_ASM_PTR (pvh_start_xen - __START_KERNEL_map))", "_ASM_PTR pvh_start_xen)"
    )
    assert broken != text
    path = tmp_path / "head.S"
    path.write_text(broken)
    got = findings(str(path))
    assert [f["code"] for f in got] == ["XL201"]
    line = line_of(broken, "_ASM_PTR pvh_start_xen)")
    assert got[0]["location"]["line"] == line
    assert "'pvh_start_xen'" in got[0]["message"] and "_pa(x)" in got[0]["message"]
    assert got[0]["fix"] == "ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, _ASM_PTR _pa(pvh_start_xen))"
    assert all(m == "pvh" for m in got[0]["modes"])


# FreeBSD style: the file's own 4-argument ELFNOTE; each variant is built into an image too.
VARIANTS = {
    "seed-features": (
        'supervisor_mode_kernel")',
        'supervisor_mode_kernel|hvm_callback_vector")',
        {"XL402"},
        "hvm_callback_vector",
    ),
    "virtual-phys32": (
        ".long,  VTOP(xen_start32)",
        ".quad,  xen_start32",
        {"XL201"},
        ".quad,  xen_start32",
    ),
    "missing-alloc-flag": (
        '.pushsection .note.name, "a", @note',
        '.pushsection .note.name, "", @note',
        {"XL002"},
        ".pushsection .note.name",
    ),
}


def build(source: Path, out: Path) -> Path | None:
    """Assemble and link `source` with the real gcc (cpp + as) and ld, or None."""
    if shutil.which("gcc") is None or shutil.which("ld") is None:
        return None
    obj = out.with_suffix(".o")
    subprocess.run(
        ["gcc", "-c", "-I", str(HERE / "include"), str(source), "-o", str(obj)], check=True
    )
    subprocess.run(["ld", "-T", str(HERE / "link.ld"), str(obj), "-o", str(out)], check=True)
    return out


def test_freebsd_style_clean(tmp_path: Path) -> None:
    proc = xenlint(str(FREEBSD))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout
    image = build(FREEBSD, tmp_path / "kernel")
    if image is not None:
        assert findings(str(image)) == []


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_freebsd_style_broken(tmp_path: Path, name: str) -> None:
    old, new, codes, needle = VARIANTS[name]
    text = FREEBSD.read_text()
    assert old in text
    broken = text.replace(old, new)
    path = tmp_path / "xen-locore.S"
    path.write_text(broken)
    got = findings("--show-fixes", str(path))
    assert {f["code"] for f in got} == codes
    line = line_of(broken, needle)
    assert {f["location"]["line"] for f in got} == {line}
    for f in got:
        if name == "seed-features":
            assert f["fix"].startswith('ELFNOTE(Xen, XEN_ELFNOTE_FEATURES, .asciz, "writable_')
            assert (
                "XEN_ELFNOTE_SUPPORTED_FEATURES, .long, (1 << XENFEAT_hvm_callback_vector))"
                in f["fix"]
            )
        elif name == "virtual-phys32":
            assert f["fix"] == "ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .quad, VTOP(xen_start32))"
        else:
            assert f["fix"].startswith('.pushsection .note.Xen, "a", @note')
    # The image built from the broken source gets the same verdict from the image checks.
    image = build(path, tmp_path / "kernel")
    if image is None:
        pytest.skip("needs gcc and ld to build the image")
    from_image = findings(str(image))
    assert codes <= {f["code"] for f in from_image}
    worst = {f["severity"] for f in got}
    assert worst == {f["severity"] for f in from_image if f["code"] in codes}


def test_readme_sample_is_real() -> None:
    """The README's source-check sample is this run's output, line for line."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("$ xenlint tests/source/freebsd-seed.S\n") + len(
        "$ xenlint tests/source/freebsd-seed.S\n"
    )
    sample = readme[start : readme.index("```", start)]
    proc = xenlint("tests/source/freebsd-seed.S", cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stdout == sample


# NASM unikernel style: the note header written field by field; built with the real nasm/ld.
UNIKERNEL = HERE / "unikernel.asm"
NASM_VARIANTS = {
    # NASM makes `.note.Xen` SHT_PROGBITS without `note`: no PT_NOTE, no SHT_NOTE: XL001.
    "default-section": (
        "SECTION .note.Xen note alloc noexec nowrite align=4",
        "SECTION .note.Xen",
        "XL001",
    ),
    # `SECTION .note` is SHT_NOTE but not allocated: sections only (XL002).
    "note-noalloc": (
        "SECTION .note.Xen note alloc noexec nowrite align=4",
        "SECTION .note",
        "XL002",
    ),
}
SOURCE_DECIDES = {"XL001", "XL002", "XL004", "XL006", "XL201", "XL202", "XL204", "XL401", "XL402"}


def build_nasm(source: Path, out: Path) -> Path | None:
    if shutil.which("nasm") is None or shutil.which("ld") is None:
        return None
    obj = out.with_suffix(".o")
    subprocess.run(["nasm", "-f", "elf64", str(source), "-o", str(obj)], check=True)
    subprocess.run(["ld", "-T", str(HERE / "unikernel.ld"), str(obj), "-o", str(out)], check=True)
    return out


def test_nasm_unikernel_clean(tmp_path: Path) -> None:
    proc = xenlint("--target", "xen>=4.7", str(UNIKERNEL))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout
    image = build_nasm(UNIKERNEL, tmp_path / "kernel")
    if image is not None:
        codes = {f["code"] for f in findings("--target", "xen>=4.7", str(image))}
        assert not codes & SOURCE_DECIDES


@pytest.mark.parametrize("name", sorted(NASM_VARIANTS))
def test_nasm_unikernel_broken(tmp_path: Path, name: str) -> None:
    old, new, code = NASM_VARIANTS[name]
    text = UNIKERNEL.read_text()
    broken = text.replace(old, new)
    assert broken != text
    path = tmp_path / "boot.asm"
    path.write_text(broken)
    got = findings("--target", "xen>=4.7", "--show-fixes", str(path))
    assert {f["code"] for f in got} == {code}
    assert {f["location"]["line"] for f in got} == {line_of(broken, new)}
    assert all(
        f["fix"] == "SECTION .note.Xen note alloc noexec nowrite align=4"
        or f["fix"].startswith("SECTION .note note alloc")
        for f in got
    )
    image = build_nasm(path, tmp_path / "kernel")
    if image is None:
        pytest.skip("needs nasm and ld to build the image")
    from_image = {f["code"] for f in findings("--target", "xen>=4.7", str(image))}
    assert from_image & SOURCE_DECIDES == {code}


# Linker scripts: Linux 6.1's vmlinux.lds.S (read with the header it includes, in a copy of
# the tree's layout) and the test stubs' script, each good and broken.
LDS = "arch/x86/kernel/vmlinux.lds.S"
LDS_HEADER = "include/asm-generic/vmlinux.lds.h"


LOADERS = ("--target", "xen>=4.7", "--target", "qemu")  # Xen with PVH, and QEMU


def test_linux_61_linker_script_is_clean() -> None:
    proc = xenlint(str(linux(LDS)), str(linux(XEN_HEAD)), str(linux(PVH_HEAD)))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout


def test_linux_phdrs_without_pt_note(tmp_path: Path) -> None:
    text = linux(LDS).read_text()
    (tmp_path / "include" / "asm-generic").mkdir(parents=True)
    shutil.copy(linux(LDS_HEADER), tmp_path / LDS_HEADER)
    # The PT_NOTE line goes, and EMITS_PT_NOTE with it (NOTES then names no :note phdr).
    broken = "\n".join(
        line
        for line in text.splitlines()
        if "note PT_NOTE" not in line and "#define EMITS_PT_NOTE" not in line
    )
    path = tmp_path / LDS
    path.parent.mkdir(parents=True)
    path.write_text(broken)
    got = findings(*LOADERS, "--show-fixes", str(path))
    errors = {f["code"]: f for f in got if f["severity"] != "info"}
    assert set(errors) == {"XL002", "XL501"}
    line = line_of(broken, "PHDRS {")
    assert {f["location"]["line"] for f in errors.values()} == {line}
    assert "note PT_NOTE FLAGS(4);" in errors["XL002"]["fix"]


MERGED = (
    "{ *(.note.Xen) }\n\t/DISCARD/ : { *(.note.gnu.property) *(.note.GNU-stack) }",
    "{ *(.note.Xen) *(.note.gnu.property) }",
)


def test_merged_gnu_property(tmp_path: Path) -> None:
    """`.note.gnu.property` (8-aligned) merged into the Xen notes' output section: XL502 at
    that output section, and the image linked with it gets XL502 too."""
    text = (HERE / "link.ld").read_text()
    assert MERGED[0] in text
    broken = text.replace(MERGED[0], MERGED[1])
    script = tmp_path / "kernel.ld"
    script.write_text(broken)
    assert findings(*LOADERS, str(HERE / "link.ld")) == []
    got = findings(*LOADERS, str(script))
    assert [(f["code"], f["severity"]) for f in got] == [("XL502", "error")]
    assert got[0]["location"]["line"] == line_of(broken, "*(.note.gnu.property)")
    assert got[0]["fix"].startswith("/DISCARD/ : { *(.note.gnu.property) }")
    if shutil.which("gcc") is None or shutil.which("ld") is None:
        pytest.skip("needs gcc and ld to build the image")
    obj, image = tmp_path / "k.o", tmp_path / "kernel"
    # as emits .note.gnu.property (8-aligned) for every object with this option.
    subprocess.run(
        [
            "gcc",
            "-c",
            "-Wa,-mx86-used-note=yes",
            "-I",
            str(HERE / "include"),
            str(FREEBSD),
            "-o",
            str(obj),
        ],
        check=True,
    )
    subprocess.run(["ld", "-T", str(script), str(obj), "-o", str(image)], check=True)
    assert {f["code"] for f in findings(*LOADERS, str(image))} == {"XL502"}


# Relocatable objects: the FreeBSD-style stub assembled by the real gcc/as; each note's value
# is either in the object's bytes or tied to a named symbol by a relocation.
def assemble(source: Path, obj: Path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to assemble the object")
    subprocess.run(
        ["gcc", "-c", "-I", str(HERE / "include"), str(source), "-o", str(obj)], check=True
    )
    return obj


def test_object_clean(tmp_path: Path) -> None:
    obj = assemble(FREEBSD, tmp_path / "xen-locore.o")
    proc = xenlint(str(obj))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_object_broken(tmp_path: Path, name: str) -> None:
    old, new, codes, _ = VARIANTS[name]
    source = tmp_path / "xen-locore.S"
    source.write_text(FREEBSD.read_text().replace(old, new))
    obj = assemble(source, tmp_path / "xen-locore.o")
    got = findings(str(obj))
    assert {f["code"] for f in got} == codes
    for f in got:
        assert f["path"] == str(obj) and f["location"]["offset"] is not None
    if name == "virtual-phys32":
        # The relocation names the symbol; VIRT_BASE's constant is the base the tree uses.
        assert "'xen_start32'" in got[0]["message"]
        assert "VIRT_BASE 0xffffffff80000000" in got[0]["message"]


def test_files_of_a_tree_are_judged_each_on_its_notes(tmp_path: Path) -> None:
    """Two stubs with the same notes (an amd64 and an i386 locore) are no duplicate; the
    same note twice in one file is, named by its lines."""
    other = tmp_path / "i386-locore.S"
    other.write_text(FREEBSD.read_text())
    assert findings(str(FREEBSD), str(other)) == []
    text = FREEBSD.read_text()
    twice = text + '\tELFNOTE(Xen, XEN_ELFNOTE_LOADER,         .asciz, "generic")\n'
    path = tmp_path / "twice.S"
    path.write_text(twice)
    got = findings(str(path))
    assert {f["code"] for f in got} == {"XL004"}  # one finding per target group
    first = line_of(twice, "XEN_ELFNOTE_LOADER")
    last = len(twice.splitlines())
    for f in got:
        assert f"(at line {first} and line {last})" in f["message"]
        assert f["location"]["line"] == last


def test_notes_lists_source_notes_with_link_time_values() -> None:
    proc = xenlint("notes", "--format", "json", str(linux(PVH_HEAD)), str(linux(XEN_HEAD)))
    assert proc.returncode == 0, proc.stderr
    head, xen = json.loads(proc.stdout)
    text = linux(PVH_HEAD).read_text()
    (entry,) = head["notes"]
    assert entry["name"] == "PHYS32_ENTRY"
    assert entry["line"] == line_of(text, "_ASM_PTR (pvh_start_xen - __START_KERNEL_map)")
    assert entry["link_time"] == "(pvh_start_xen - __START_KERNEL_map)"
    by_name = {n["name"]: n for n in xen["notes"]}
    assert by_name["FEATURES"]["value"] == "!writable_page_tables|pae_pgdir_above_4gb"
    # (1 << XENFEAT_writable_page_tables) | (1 << XENFEAT_dom0) | ...linux_rsdp_unrestricted:
    # bits 0, 11 and 15 of features.h.
    assert by_name["SUPPORTED_FEATURES"]["value"] == (1 << 0) | (1 << 11) | (1 << 15)
    assert by_name["ENTRY"]["link_time"] == "startup_xen"
    listing = xenlint("notes", str(linux(PVH_HEAD))).stdout
    assert "link-time: (pvh_start_xen - __START_KERNEL_map) (checked in the linked image" in listing


# The styles of other trees: NetBSD (4-argument ELFNOTE from a machine header, RELOC()), Xen's
# own head.S (3-argument ELFNOTE from a header, sym_offs()) and raw directives. xenlint does
# not read the headers: the ELFNOTE forms are known, the file's own macros are expanded.
STYLES = {
    "netbsd-locore.S": {
        "seed-features": ('pae_pgdir_above_4gb")', 'pae_pgdir_above_4gb|hvm_callback_vector")'),
        "virtual-phys32": (".long,  RELOC(start_pvh)", ".quad,  start_pvh"),
    },
    "xen-head.S": {
        "seed-features": (
            '"!writable_page_tables")',
            '"!writable_page_tables|hvm_callback_vector")',
        ),
        "virtual-phys32": (".long sym_offs(__pvh_start)", ".quad __pvh_start"),
    },
    "raw-notes.S": {
        "seed-features": (
            '.asciz\t"!writable_page_tables"',
            '.asciz\t"!writable_page_tables|hvm_callback_vector"',
        ),
        "missing-alloc-flag": ('.pushsection .note.Xen, "a", @note', ".pushsection .note.Xen"),
    },
}
STYLE_CODES = {
    "seed-features": {"XL402"},
    "virtual-phys32": {"XL201"},
    "missing-alloc-flag": {"XL002"},
}
SOURCE_DECIDED = {"XL002", "XL003", "XL004", "XL006", "XL201", "XL204", "XL401", "XL402", "XL403"}


def build_style(source: Path, out: Path) -> Path | None:
    if shutil.which("gcc") is None or shutil.which("ld") is None:
        return None
    obj = out.with_suffix(".o")
    include = ["-I", str(HERE / "include")]
    subprocess.run(["gcc", "-c", *include, str(source), "-o", str(obj)], check=True)
    subprocess.run(["ld", "-T", str(HERE / "link.ld"), str(obj), "-o", str(out)], check=True)
    return out


@pytest.mark.parametrize("style", sorted(STYLES))
def test_style_clean(tmp_path: Path, style: str) -> None:
    proc = xenlint(str(HERE / style))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout
    image = build_style(HERE / style, tmp_path / "kernel")
    if image is not None:
        assert not {f["code"] for f in findings(str(image))} & SOURCE_DECIDED


@pytest.mark.parametrize(
    ("style", "variant"), sorted((s, v) for s, variants in STYLES.items() for v in variants)
)
def test_style_broken(tmp_path: Path, style: str, variant: str) -> None:
    old, new = STYLES[style][variant]
    text = (HERE / style).read_text()
    assert old in text, (style, variant)
    broken = text.replace(old, new)
    path = tmp_path / style
    path.write_text(broken)
    # The seed's FEATURES name is refused only by releases without PVH (4.0-4.1), which the
    # default targets leave out for a PVH-only kernel: name them (source and image alike).
    targets = ("--target", "xen") if variant == "seed-features" else ()
    got = findings(*targets, str(path))
    codes = STYLE_CODES[variant]
    assert {f["code"] for f in got} == codes
    needle = "hvm_callback_vector" if variant == "seed-features" else new
    assert {f["location"]["line"] for f in got} == {line_of(broken, needle)}
    image = build_style(path, tmp_path / "kernel")
    if image is None:
        pytest.skip("needs gcc and ld to build the image")
    assert {f["code"] for f in findings(*targets, str(image))} & SOURCE_DECIDED == codes
