"""Ground truth for the GRUB targets: Debian's grub-file 2.06 runs GRUB's own Xen PV parser
(grub_xen_file + grub_xen_get_info, `--is-x86_64-xen-domu`, `--is-i386-xen-pae-domu`) and its
multiboot header search (`--is-x86-multiboot`, `--is-x86-multiboot2`). Byte-level images; what
grub-file cannot show (GRUB 2.02, the `xen_linux` command's own checks) is cited from GRUB's
source at its release tag.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import Lint, cells
from elfbuilder import Note, Section, Segment, build_elf, note_bytes, u64, xen_kernel
from wrapping import COMPRESSORS, wrap

from xenlint.abi import loaders as L
from xenlint.abi.loaders import LOADERS
from xenlint.image.read import load_image
from xenlint.replay import pvh

GRUB_FILE = shutil.which("grub-file")
needs_grub_file = pytest.mark.skipif(
    GRUB_FILE is None, reason="grub-file not installed (apt grub-common)"
)
BY = {p.name: p for p in LOADERS}


def s(text: str) -> bytes:
    return text.encode() + b"\0"


PV64 = [
    Note(6, s("linux")),
    Note(5, s("xen-3.0")),
    Note(8, s("generic")),
    Note(3, u64(0xFFFFFFFF80000000)),
    Note(1, u64(0xFFFFFFFF80100000)),
]

# name -> (image, GRUB 2.04+ boots it on x86_64-xen, on i386-xen)
PV_CASES: dict[str, tuple[bytes, bool, bool]] = {
    "pv64": (xen_kernel(PV64), True, False),
    # Unikraft's case: the notes sit only in an SHT_NOTE section, no PT_NOTE covers them.
    "pv64-section-only": (
        xen_kernel([], sections=[Section(".note.Xen", note_bytes(PV64))]),
        True,
        False,
    ),
    "pv64-loader-special": (xen_kernel([Note(6, s("linux")), Note(8, s("special"))]), False, False),
    "pv32-no-pae": (xen_kernel([Note(8, s("generic"))], bits=32), False, False),
    "pv32-pae": (xen_kernel([Note(8, s("generic")), Note(9, s("yes"))], bits=32), False, True),
    "no-xen-note": (xen_kernel([Note(1, b"1234", name=b"GNU\0")]), False, False),
    # parse_note takes a 3-byte name "Xen" (no NUL) as Xen's.
    "name-3": (xen_kernel([Note(8, s("generic"), name=b"Xen", namesz=3)]), True, False),
}


def grub_file(option: str, path: Path) -> bool:
    assert GRUB_FILE is not None
    proc = subprocess.run([GRUB_FILE, option, str(path)], capture_output=True, timeout=30)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode == 0


def grub_reading(path: Path, target: str) -> pvh.Reading:
    return pvh.read(load_image(str(path)), BY[target])


@needs_grub_file
@pytest.mark.parametrize("name", list(PV_CASES))
def test_grub_pv_loader_agrees_with_grub_file(tmp_path: Path, name: str) -> None:
    data, boots64, boots32 = PV_CASES[name]
    path = tmp_path / f"{name}.elf"
    path.write_bytes(data)
    assert grub_file("--is-x86_64-xen-domu", path) is boots64
    assert grub_file("--is-i386-xen-pae-domu", path) is boots32
    reading = grub_reading(path, "grub-xen-2.04")
    image = load_image(str(path))
    assert (reading.failure is None and image.elf_class == 64) is boots64
    assert (reading.failure is None and image.elf_class == 32) is boots32


def test_grub_2_02_reads_no_section_notes(tmp_path: Path, lint: Lint) -> None:
    """Before 67580c006 (grub-2.04-rc1) grub_xen_get_infoXX went from the PT_NOTEs straight to
    `__xen_guest`: a section-only kernel is "no XEN note found" on 2.02, boots on 2.04+."""
    data = PV_CASES["pv64-section-only"][0]
    findings = lint(data, targets=["grub-xen"])
    assert cells(findings, "XL514", "error") == {("grub-xen-2.02", "pv")}
    (msg,) = [f.message for f in findings if f.code == "XL514"]
    assert '"no XEN note found"' in msg and "SHT_NOTE" in msg and "2.04" in msg


def test_grub_refusals_quote_grub(tmp_path: Path, lint: Lint) -> None:
    found = lint(PV_CASES["pv64-loader-special"][0], targets=["grub-xen-2.04"])
    assert next(f.message for f in found if f.code == "XL514").count('"invalid loader"') == 1
    found = lint(PV_CASES["pv32-no-pae"][0], targets=["grub-xen-2.04"])
    assert '"incompatible architecture: 1"' in next(f.message for f in found if f.code == "XL514")
    # grub_cmd_xen (xen.c, not run by grub-file): VIRT_BASE must be page-aligned.
    odd = xen_kernel([Note(8, s("generic")), Note(3, u64(0xFFFFFFFF80000010))])
    found = lint(odd, targets=["grub-xen-2.04"])
    assert '"unaligned virt_base"' in next(f.message for f in found if f.code == "XL514")
    assert not [f for f in lint(PV_CASES["pv64"][0], targets=["grub-xen"]) if f.code == "XL514"]


def test_grub_targets_are_pv_only_and_named_by_version(lint: Lint) -> None:
    from xenlint.engine.targets import resolve

    assert [p.name for p in resolve(["grub-xen-2.06"], LOADERS)] == ["grub-xen-2.04"]
    assert [p.name for p in resolve(["grub-xen<2.04"], LOADERS)] == ["grub-xen-2.02"]
    assert [str(m) for m in BY["grub-xen-2.04"].modes] == ["pv"]


# --- multiboot: GRUB i386-xen_pvh and QEMU ----------------------------------------------------


def multiboot_elf(offset: int, v2: bool = False) -> bytes:
    """An ELF64 whose PT_LOAD (from file offset 0x1000) holds a multiboot header at file
    offset `offset` and nothing else: no PVH note."""
    if v2:
        header = struct.pack("<IIII", 0xE85250D6, 0, 16, -(0xE85250D6 + 16) & 0xFFFFFFFF)
    else:
        header = struct.pack("<III", 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000) & 0xFFFFFFFF)
    body = bytearray(b"\x90" * 0x7000)
    body[offset - 0x1000 : offset - 0x1000 + len(header)] = header
    text = Segment(data=bytes(body), offset=0x1000, section=".text")
    return build_elf([text])


@pytest.mark.parametrize(
    ("offset", "v2", "grub", "qemu"),
    [
        (0x1000, False, True, True),
        (0x1FCC, False, True, True),  # QEMU's last probe: 8192 - 48 - 4
        (0x1FD0, False, True, False),
        (0x1FE0, False, True, False),  # the image: GRUB finds it, QEMU does not
        (0x1FF4, False, True, False),  # GRUB's last: the 12-byte header ends at 8192
        (0x1FF8, False, False, False),
        (0x6000, True, True, False),  # multiboot2 within 32 KiB: GRUB only
    ],
)
def test_multiboot_windows(
    tmp_path: Path, lint: Lint, offset: int, v2: bool, grub: bool, qemu: bool
) -> None:
    path = tmp_path / "mb.elf"
    path.write_bytes(multiboot_elf(offset, v2))
    if GRUB_FILE is not None:
        assert grub_file("--is-x86-multiboot2" if v2 else "--is-x86-multiboot", path) is grub
    reading = grub_reading(path, "grub-xen-pvh-2.04")
    assert (reading.failure is None) is grub
    assert (pvh.multiboot_header(load_image(str(path))) is not None) is qemu
    findings = lint(path, targets=["grub-xen-pvh"])
    assert bool(cells(findings, "XL514", "error")) is not grub


def test_pvh_only_elf_is_refused_by_grub_pvh(tmp_path: Path, lint: Lint) -> None:
    data = xen_kernel([Note(18, struct.pack("<I", 0x100000))])
    findings = lint(data, targets=["grub-xen-pvh"])
    (msg,) = [f.message for f in findings if f.code == "XL514"]
    assert '"no multiboot header found"' in msg and "never a PVH ELF" in msg


QEMU64 = shutil.which("qemu-system-x86_64")


@pytest.mark.skipif(QEMU64 is None, reason="qemu-system-x86_64 not installed (apt qemu-system-x86)")
@pytest.mark.parametrize(("offset", "seen"), [(0x1FCC, True), (0x1FD0, False), (0x1FE0, False)])
def test_qemu_multiboot_window(tmp_path: Path, lint: Lint, offset: int, seen: bool) -> None:
    """QEMU 7.2 itself: a header at 0x1fcc is taken (the multiboot path runs the nop kernel
    until the timeout), one at 0x1fd0 or later is not ("without PVH ELF Note"). xenlint says
    the header is outside QEMU's window and how far to move it."""
    assert QEMU64 is not None
    path = tmp_path / "mb.elf"
    path.write_bytes(multiboot_elf(offset))
    cmd = [QEMU64, "-kernel", str(path), "-m", "64", "-display", "none", "-nodefaults"]
    try:
        proc = subprocess.run([*cmd, "-no-reboot"], capture_output=True, text=True, timeout=3)
        outcome = proc.stderr
    except subprocess.TimeoutExpired:
        outcome = "runs"
    assert ("without PVH ELF Note" not in outcome) is seen
    findings = lint(path, targets=["qemu-6.0"])
    xl510 = [f for f in findings if f.code == "XL510"]
    if seen:
        assert not xl510
        return
    (finding,) = xl510
    assert f"multiboot header at {offset:#x} is outside QEMU's multiboot window" in finding.message
    assert f"at least {offset - 0x1FCC} bytes earlier (to 0x1fcc or below)" in finding.fix


def test_xl002_names_the_loaders_of_each_mode(lint: Lint) -> None:
    """Section-only notes: in pv mode the loader that misses them is GRUB's PV loader before
    2.04 (QEMU, Firecracker and Cloud Hypervisor never boot PV kernels); in pvh mode the PVH
    loaders."""
    data = PV_CASES["pv64-section-only"][0]
    found = lint(data, targets=["xen-4.19"], modes=["pv", "pvh"])
    by_mode = {f.modes: f.message for f in found if f.code == "XL002"}
    assert "GRUB's Xen PV loader (pvgrub2 2.02)" in by_mode[("pv",)]
    assert "QEMU" not in by_mode[("pv",)]
    assert "QEMU, Firecracker, Cloud Hypervisor" in by_mode[("pvh",)]


@needs_grub_file
@pytest.mark.parametrize("codec", ["gzip", "xz", "lzo", "bzip2", "lzma", "lz4", "zstd"])
def test_grub_pv_loader_bzimage_codecs(tmp_path: Path, lint: Lint, codec: str) -> None:
    """grub_xen_file opens a bzImage's payload through GRUB's file filters (gzio, xzio,
    lzopio); grub-file 2.06 runs that code and boots the gzip and xz payloads only (lzo is
    refused too, observed); any other payload is "not xen image"."""
    if shutil.which(COMPRESSORS[codec][0]) is None:
        pytest.skip(f"{COMPRESSORS[codec][0]} not installed")
    path = wrap(tmp_path, PV_CASES["pv64"][0], codec)
    boots = grub_file("--is-x86_64-xen-domu", path)
    assert boots is (codec in ("gzip", "xz"))
    errors = cells(lint(path, targets=["grub-xen-2.04"]), "XL514", "error")
    assert bool(errors) is not boots


def _probe_every_offset(
    data: bytes, magic: int, align: int, words: int, stop: int
) -> list[tuple[int, tuple[int, ...]]]:
    """The loaders' probe as they write it: one read at every `align` bytes below `stop`."""
    out = []
    for off in range(0, max(stop, 0), align):
        found = struct.unpack_from(f"<{words}I", data, off)
        if found[0] == magic:
            out.append((off, found))
    return out


def test_aligned_header_search_equals_probing_every_offset() -> None:
    """pvh.aligned_headers (bytes.find) finds what a probe at every aligned offset finds:
    magics planted aligned and not, overlapping, at both ends of the window (issue 14)."""
    rng = random.Random(14)
    for case in range(3000):
        data = bytearray(rng.randbytes(rng.choice([0, 3, 12, 15, 16, 64, 200, 8192])))
        magic = rng.choice([L.MULTIBOOT_MAGIC, L.MULTIBOOT2_MAGIC, 0x02020202])
        for _ in range(rng.randrange(4)):
            if len(data) >= 4:
                at = rng.randrange(len(data) - 3)
                data[at : at + 4] = magic.to_bytes(4, "little")
        align, words = rng.choice([(4, 3), (8, 4)])
        stop = rng.randrange(-2, len(data) - 4 * words + 2) if len(data) >= 4 * words else 0
        got = list(pvh.aligned_headers(bytes(data), magic, align, words, stop))
        assert got == _probe_every_offset(bytes(data), magic, align, words, stop), case
