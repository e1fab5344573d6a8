"""No byte of an image (or of a file name) steers a terminal or a CI log: every output format
is fed note strings, owner names, section names and a __xen_guest string holding control
bytes, OSC 52/title escapes, GitHub workflow commands (`::error::`, `::add-mask::`) and the
runner's legacy `##[...]` commands. Text-like output must carry none of them; JSON and SARIF
must stay valid and keep the exact values where they have a field for them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from elfbuilder import PT_NOTE, Note, Section, Segment, build_elf, note_bytes, xen_kernel
from kernels import have_binutils, needs_binutils, virtual_kernel

from xenlint.abi import features as F
from xenlint.escape import QUOTED_MAX, escape, quoted

HOSTILE = [
    b"\n::error::pwned",
    b"\r\x1b[2J\x1b]0;title\x07",
    b"\x1b]52;c;cGF5bG9hZA==\x07",
    b"x ##[add-mask]secret",
    b"##[stop-commands]tok",
    b"::add-mask::value",
    b"\x9b31m\x85\xe9",
]
GUEST_OS, LOADER, XEN_VERSION, FEATURES, GUEST_VERSION = 6, 8, 5, 10, 7


def _images(directory: Path) -> list[Path]:
    notes = [
        Note(GUEST_OS, HOSTILE[0] + b"\0"),
        Note(LOADER, HOSTILE[1] + b"\0"),
        Note(GUEST_VERSION, HOSTILE[2] + b"\0"),
        Note(XEN_VERSION, HOSTILE[3] + b"\0"),
        Note(XEN_VERSION, HOSTILE[4] + b"\0"),  # given twice: XL004 quotes both
        Note(FEATURES, b"|".join(HOSTILE[4:]).replace(b"\n", b"") + b"\0"),
        Note(FEATURES, HOSTILE[0]),  # no NUL inside descsz: XL006 quotes what Xen reads
    ]
    sections = [Section(HOSTILE[i].decode("latin-1"), note_bytes(notes[:1])) for i in range(3)]
    named = directory / "strings.elf"
    named.write_bytes(xen_kernel(notes, sections=sections, note_section="\n::error::sec"))
    # No Xen note at all: XL001 names the foreign owners it found.
    foreign = [Note(1, b"\0" * 4, name=h.replace(b"\0", b"") + b"\0") for h in HOSTILE]
    owners = directory / "owners.elf"
    text = Segment(data=b"\x90" * 0x100)
    owners.write_bytes(build_elf([text, Segment(PT_NOTE, vaddr=0, data=note_bytes(foreign))]))
    guest = directory / "guest.elf"
    legacy = b"GUEST_OS=" + HOSTILE[1] + b",LOADER=" + HOSTILE[0] + b",FEATURES=##[x]\0"
    guest.write_bytes(build_elf([text], [Section("__xen_guest", legacy, type=1)]))
    # A file name that is itself hostile (and not UTF-8).
    name = os.fsdecode(b"::error::name\x1b\xff##[x].elf")
    weird = directory / name
    weird.write_bytes(named.read_bytes())
    return [named, owners, guest, weird]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("escaping")
    found = _images(directory)
    if have_binutils():
        found.append(_hostile_symbol(directory))
    return found


def _hostile_symbol(directory: Path) -> Path:
    """A real as/ld kernel whose PHYS32_ENTRY is the virtual address of a symbol, renamed by
    the real objcopy to a hostile name: the fix names the symbol, and fixes keep their own
    newlines (a newline in the name once split the fix line)."""
    kernel = virtual_kernel(directory)
    name = os.fsdecode(HOSTILE[0] + b"\x1b")
    subprocess.run(["objcopy", f"--redefine-sym=pvh_start_xen={name}", str(kernel)], check=True)
    return kernel


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        ["xenlint", "--isolated", *args], capture_output=True, cwd=cwd, check=False
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


def _assert_safe_lines(output: bytes, own_prefix: bytes = b"") -> None:
    """No control byte but the newline ending each line, no '##[', no '::' (past the
    format's own command prefix)."""
    assert re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", output) is None, output[:400]
    text = output.decode("utf-8")  # the escaping leaves ASCII and xenlint's own en dash
    assert not re.search("[\x80-\x9f]", text)
    for line in text.splitlines():
        assert "##[" not in line, line
        rest = line
        if own_prefix and line.startswith(own_prefix.decode()):
            rest = line.split("::", 2)[2]  # '::error props::message'
        assert "::" not in rest, line


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--show-fixes"],
        ["--format", "full"],
        ["--format", "github"],
        ["--format", "junit"],
        ["--statistics"],
    ],
    ids=["text", "show-fixes", "full", "github", "junit", "statistics"],
)
def test_line_formats_carry_no_control_bytes_or_ci_commands(
    images: list[Path], args: list[str]
) -> None:
    proc = _run([*args, "--target", "xen", "--exit-zero", *map(str, images)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(b"\n") > 5
    _assert_safe_lines(proc.stdout, b"::" if "github" in args else b"")
    _assert_safe_lines(proc.stderr)
    if "junit" in args:
        ET.fromstring(proc.stdout)  # still XML: an ESC in a file name made it unparseable


def test_matrix_carries_no_control_bytes_or_ci_commands(images: list[Path]) -> None:
    for image in images:
        proc = _run(["matrix", str(image)])
        assert proc.returncode == 0, proc.stderr
        _assert_safe_lines(proc.stdout)
        _assert_safe_lines(proc.stderr)


@needs_binutils
def test_a_hostile_symbol_name_is_escaped_in_fixes(images: list[Path]) -> None:
    proc = _run(["--show-fixes", "--target", "xen>=4.16", str(images[-1])])
    assert b"fix: `\\n:\\x3aerror:\\x3apwned\\x1b` (0x" in proc.stdout, proc.stdout[-2000:]


def test_findings_quote_the_hostile_strings_escaped(images: list[Path]) -> None:
    proc = _run(["--target", "xen", "--exit-zero", str(images[0]), str(images[1])])
    out = proc.stdout.decode()
    assert "'\\n:\\x3aerror:\\x3apwned'" in out  # GUEST_OS, in XL101's message
    assert "\\x1b]52;c;cGF5bG9hZA==\\x07" in out or "\\x1b[2J" in out
    assert "#\\x23[stop-commands]" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_notes_output(images: list[Path], fmt: str) -> None:
    proc = _run(["notes", "--format", fmt, *map(str, images)])
    if fmt == "text":
        _assert_safe_lines(proc.stdout)
        return
    records = json.loads(proc.stdout)
    values = {n["value"] for r in records for n in r["notes"] if isinstance(n["value"], str)}
    assert HOSTILE[0].decode("latin-1") in values  # the exact value, in its own field
    for record in records:
        for note in record["notes"]:
            _assert_safe_lines(note["display"].encode())


@pytest.mark.parametrize("fmt", ["json", "sarif", "sarif-github", "gitlab"])
def test_machine_formats_stay_valid(images: list[Path], fmt: str, tmp_path: Path) -> None:
    proc = _run(
        ["--format", fmt, "--target", "xen", "--exit-zero", *[p.name for p in images]],
        cwd=images[0].parent,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    messages = re.findall(
        r'"(?:message|text|fix|description)": "((?:[^"\\]|\\.)*)"', proc.stdout.decode()
    )
    assert messages
    for message in messages:
        decoded = json.loads(f'"{message}"')
        assert "::" not in decoded and "##[" not in decoded, decoded
        assert re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", decoded) is None, decoded
    if fmt.startswith("sarif"):
        uris = [a["location"]["uri"] for a in data["runs"][0]["artifacts"]]
        assert any("%FF" in u and "%1B" in u for u in uris), uris


def test_escape_policy() -> None:
    assert escape("plain text: fine") == "plain text: fine"
    assert escape("a\nb\tc\x1b\x7f\x9b\xe9") == "a\\nb\\x09c\\x1b\\x7f\\x9b\\xe9"
    assert escape("a\nb", newlines=True) == "a\nb"
    assert escape("::x:::y") == ":\\x3ax:\\x3a:y"
    assert escape("###[x ##[y") == "##\\x23[x #\\x23[y"
    assert escape("\u2028\U0001f600") == "\\u2028\\U0001f600"
    for text in HOSTILE:
        once = escape(text.decode("latin-1"))
        assert escape(once) == once  # idempotent
        assert once.isascii() and once.isprintable()


def test_quoted_keeps_real_values_whole_and_cuts_long_ones() -> None:
    """The longest FEATURES string a kernel can mean (every name Xen defines, each required)
    is quoted whole; a 4096-byte hostile string is cut and its length given."""
    every = "|".join("!" + name for name in F.BY_NAME)
    assert quoted(every) == repr(every)
    long = "x" * 4096
    assert quoted(long) == repr("x" * QUOTED_MAX) + "... (4096 characters)"
