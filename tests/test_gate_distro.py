"""Quiet success on real kernels (issue 10): Debian's 6.1 amd64 and cloud kernels, unpacked
by .ci/fetch-distro-images into build/distro, pass xenlint's default settings with no line
at all, as the build recipes run it (`--show-fixes --stderr --quiet`) and plainly; so does
the `vmlinux` inside each, taken out of the bzImage by the real decompressor (an ELF with a
PVH entry is also judged for the PVH loaders by default).

Debian's 32-bit 686-pae kernel is PVH-only (Linux 6.1 has no 32-bit PV): Xen 4.7-4.15 refuse
it ("ELF start or entries are out of bounds": before 4.16 libelf checks the e_entry of a PVH
kernel against its virtual range), which Xen's own 4.15 and 4.16 libelf confirm here; the
default gate says exactly that, in one line, and nothing on 4.16 and later."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BOOT = ROOT / "build" / "distro" / "boot"
FLAVOURS = ["amd64", "cloud-amd64"]
# payload magic -> the real tool that decompresses it
DECOMPRESSORS = {
    b"\x1f\x8b": ["gzip", "-dc"],
    b"\xfd7zXZ": ["xz", "-dc"],
    b"\x02\x21\x4c\x18": ["lz4", "-dc"],
    b"\x28\xb5\x2f\xfd": ["zstd", "-dcq"],
}


def kernel(flavour: str) -> Path:
    # vmlinuz-6.1.0-57-amd64, not vmlinuz-6.1.0-57-cloud-amd64
    found = sorted(
        p for p in BOOT.glob("vmlinuz-*") if re.fullmatch(rf"vmlinuz-[0-9.]+-\d+-{flavour}", p.name)
    )
    if not found:
        pytest.skip(f"no Debian {flavour} kernel in {BOOT} (run .ci/fetch-distro-images)")
    return found[-1]


def xenlint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xenlint", "--isolated", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def extract_vmlinux(bz: Path, out: Path) -> Path:
    """The ELF inside the bzImage, located by the boot-protocol fields and decompressed by
    the real tool (what scripts/extract-vmlinux does)."""
    data = bz.read_bytes()
    setup_sects = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = data[start : start + length - 4]
    cmd = next((c for magic, c in DECOMPRESSORS.items() if payload.startswith(magic)), None)
    assert cmd is not None, f"{bz.name}: unknown payload {payload[:6].hex()}"
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (.ci/run installs it)")
    proc = subprocess.run(cmd, input=payload, capture_output=True)
    assert proc.stdout.startswith(b"\x7fELF"), proc.stderr
    out.write_bytes(proc.stdout)
    return out


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_debian_kernel_passes_the_default_gate_quietly(flavour: str, tmp_path: Path) -> None:
    bz = kernel(flavour)
    recipe = xenlint("--show-fixes", "--stderr", "--quiet", str(bz))
    assert (recipe.returncode, recipe.stdout, recipe.stderr) == (0, "", "")
    plain = xenlint(str(bz))
    assert (plain.returncode, plain.stdout) == (0, ""), plain.stdout
    assert plain.stderr.startswith("xenlint: no problems in 1 file"), plain.stderr

    vmlinux = extract_vmlinux(bz, tmp_path / "vmlinux")
    bare = xenlint("--show-fixes", "--stderr", "--quiet", str(vmlinux))
    assert (bare.returncode, bare.stdout, bare.stderr) == (0, "", "")


def test_debian_686_pae_kernel_is_refused_by_4_7_to_4_15_only(tmp_path: Path) -> None:
    bz = kernel("686-pae")
    recipe = xenlint("--show-fixes", "--stderr", "--quiet", str(bz))
    assert recipe.returncode == 1 and recipe.stdout == ""
    (line,) = [line for line in recipe.stderr.splitlines() if line.startswith(str(bz))]
    assert line.startswith(
        f"{bz}: error: XL301 pv-entry-out-of-bounds: the entry 0x1000000 (from e_entry)"
    )
    assert (
        "Xen refuses the kernel with 'ELF start or entries are out of bounds' [xen-4.7–4.15; pvh]"
        in line
    )
    current = xenlint("--target", "xen>=4.16", "--show-fixes", "--stderr", "--quiet", str(bz))
    assert (current.returncode, current.stdout, current.stderr) == (0, "", "")

    import libelf_oracle

    if libelf_oracle.available() is not None:
        pytest.skip(f"libelf oracles: {libelf_oracle.available()}")
    vmlinux = extract_vmlinux(bz, tmp_path / "vmlinux")
    bindir = libelf_oracle.build()
    (old,) = libelf_oracle.run(bindir, "4.15", "pvh", [vmlinux])
    (new,) = libelf_oracle.run(bindir, "4.16", "pvh", [vmlinux])
    assert old["rc"] == -1 and old["errors"] == ["ERROR: ELF start or entries are out of bounds"]
    assert new["rc"] == 0
