"""Real images from Debian's packages, unpacked by .ci/fetch-distro-images into build/distro:
the cloud kernel's bzImage (lz4 payload, PV and PVH notes), the Xen 4.17 hypervisor's xen.gz
and a GRUB x86_64-xen image made by the real grub-mkimage.

xenlint must read the bzImage exactly as the real `lz4` tool's output reads bare, and its
xen-4.17 verdicts must be Xen 4.17's own (libxenguest, tests/xenguest.py) on all three."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import xenguest
from conftest import ROOT, Lint, cells

from xenlint.image.read import load_image

DISTRO = ROOT / "build" / "distro"
KERNELS = sorted((DISTRO / "boot").glob("vmlinuz-*-cloud-amd64"))
XEN_GZ = DISTRO / "boot" / "xen-4.17-amd64.gz"
GRUB = DISTRO / "grub.xen"

pytestmark = pytest.mark.skipif(
    not (KERNELS and XEN_GZ.is_file() and GRUB.is_file()),
    reason="no Debian images in build/distro (run .ci/fetch-distro-images; needs apt-get)",
)


def _payload(bz: bytes) -> bytes:
    """The compressed vmlinux, located by the boot-protocol fields (Documentation/arch/x86/
    boot.rst), without its le32 size trailer."""
    setup_sects = bz[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bz, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return bz[start : start + length - 4]


def test_bzimage_reads_like_the_vmlinux_the_real_lz4_extracts(tmp_path: Path, lint: Lint) -> None:
    if not shutil.which("lz4"):
        pytest.skip("lz4 not installed (.ci/run installs it)")
    bz = KERNELS[-1]
    payload = _payload(bz.read_bytes())
    assert payload[:4] == b"\x02\x21\x4c\x18", "Debian's cloud kernel uses the legacy lz4 frame"
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(subprocess.run(["lz4", "-dc"], input=payload, capture_output=True).stdout)

    wrapped, bare = load_image(str(bz)), load_image(str(vmlinux))
    assert wrapped.origin == "bzImage payload, lz4"
    assert [(n.offset, n.type, n.desc) for n in wrapped.notes] == [
        (n.offset, n.type, n.desc) for n in bare.notes
    ]
    readelf = subprocess.run(["readelf", "-nW", str(vmlinux)], capture_output=True, text=True)
    xen_rows = [line for line in readelf.stdout.splitlines() if line.strip().startswith("Xen ")]
    assert len(xen_rows) == len(bare.notes) >= 15  # Linux's xen-head.S note set

    def summary(path: Path) -> list[tuple[str, str, str]]:
        return [(f.code, str(f.severity), f.message) for f in lint(path, targets=["xen"])]

    assert summary(bz) == summary(vmlinux)


@pytest.mark.skipif(xenguest.available() is not None, reason=xenguest.available() or "")
@pytest.mark.parametrize("name", ["kernel", "xen.gz", "grub.xen"])
def test_xen_4_17_verdicts_are_libxenguests(name: str, lint: Lint) -> None:
    path = {"kernel": KERNELS[-1], "xen.gz": XEN_GZ, "grub.xen": GRUB}[name]
    xen = xenguest.Xen417()
    findings = lint(path, targets=["xen-4.17"], modes=["pv", "pvh"])
    for mode in ("pv", "pvh"):
        refused = sorted(
            f.code
            for f in findings
            if str(f.severity) == "error" and ("xen-4.17", mode) in cells([f], f.code)
        )
        build = xen.build(path, hvm=mode == "pvh")
        assert build.accepted == (not refused), (name, mode, refused, build.reason)
    # What Debian ships: the kernel boots both ways, Xen (built without CONFIG_PVH_GUEST) is
    # no guest at all, GRUB's PV image is PV only.
    expected = {"kernel": (True, True), "xen.gz": (False, False), "grub.xen": (True, False)}
    assert (xen.build(path, hvm=False).accepted, xen.build(path, hvm=True).accepted) == (
        expected[name]
    )
