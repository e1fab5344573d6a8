"""Compare xenlint with every release's own libelf on a set of images (issue 11).

For each image, release and mode (pv, pvh, pv-dom0, pvh-dom0; the dom0 modes against the
same libelf parse: hvm=false for PV dom0, hvm=true for PVH dom0 from 4.16, as
`xen/arch/x86/{pv,hvm}/dom0_build.c` call `elf_xen_parse`):

(a) libelf refuses => xenlint has an error in that cell that quotes libelf's message;
(b) libelf accepts => every xenlint error in that cell is a later stage that really refuses,
    listed in `LATER` with its source;
(c) the value `xenlint notes --format json` shows for the last note of each type libelf
    parsed equals libelf's value (and notes libelf ignores show no value).

Used by tests/test_libelf_differential.py (a short seeded run) and
benchmarks/libelf_diff.py (the long run).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libelf_oracle

from xenlint.abi.profile import Mode
from xenlint.cli.main import main as xenlint_main
from xenlint.engine.check import Finding, cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.targets import resolve
from xenlint.image.model import ImageError
from xenlint.image.read import load_image
from xenlint.replay import xen as xen_replay

MODES = (Mode.PV, Mode.PVH, Mode.PV_DOM0, Mode.PVH_DOM0)

# Errors xenlint may report where libelf accepts: each is a later stage that really refuses
# (or a boot that cannot run), with its source. Keyed by code; a value names the modes it
# covers (None: all).
LATER: dict[str, tuple[str, str]] = {
    "XL103": (
        "no PVH (HVM-container) boot before 4.7 nor PVH dom0 before 4.9; the toolstack (4.10+) "
        "and the PVH dom0 builder refuse a kernel without PHYS32_ENTRY",
        "RELEASE-4.10.0:tools/libxc/xc_dom_elfloader.c xc_dom_guest_type; "
        "RELEASE-4.9.0:xen/arch/x86/hvm/dom0_build.c dom0_construct_pvh",
    ),
    "XL005": (
        "its only error: HYPERCALL_PAGE before VIRT_BASE in __xen_guest (before 4.11) puts the "
        "hypercall page at (page << 12) - 1, which the toolstack writes at boot: the kernel "
        "faults at its first hypercall",
        "RELEASE-4.10.0:xen/common/libelf/libelf-dominfo.c elf_xen_parse_guest_info; "
        "tools/libxc/xc_dom_x86.c setup_hypercall_page",
    ),
    "XL006": (
        "its dom0 error only: a SUPPORTED_FEATURES that is not whole words loses the dom0 bit, "
        "and the dom0 builder refuses a kernel without it",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv; "
        "RELEASE-4.22.0:xen/arch/x86/hvm/dom0_build.c dom0_construct_pvh",
    ),
    "XL008": (
        "its PVH error only: Xen's walk lost PHYS32_ENTRY, and the toolstack (4.10+) and the "
        "PVH dom0 builder refuse a kernel without it (as XL103)",
        "RELEASE-4.10.0:tools/libxc/xc_dom_elfloader.c xc_dom_guest_type; "
        "RELEASE-4.9.0:xen/arch/x86/hvm/dom0_build.c dom0_construct_pvh",
    ),
    "XL201": (
        "a boot that cannot run: the vCPU starts at the truncated PHYS32_ENTRY",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_x86.c vcpu_hvm",
    ),
    "XL202": (
        "a boot that cannot run (releases that do not bounds-check PHYS32_ENTRY, 4.7-4.15): "
        "the vCPU starts outside the loaded kernel",
        "RELEASE-4.15.0:tools/libs/guest/xg_dom_x86.c vcpu_hvm",
    ),
    "XL203": (
        "a boot that cannot run: the vCPU starts at a PHYS32_ENTRY that is not code",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_x86.c vcpu_hvm",
    ),
    "XL204": (
        "a boot that cannot run: a PHYS32_ENTRY libelf reads as 0 starts the vCPU at 0",
        "RELEASE-4.17.0:xen/common/libelf/libelf-tools.c elf_note_numeric; "
        "tools/libs/guest/xg_dom_x86.c vcpu_hvm",
    ),
    "XL205": (
        "the PVH dom0 builder refuses a PHYS32_RELOC range it cannot place the kernel in",
        "RELEASE-4.19.0:xen/arch/x86/hvm/dom0_build.c find_kernel_memory",
    ),
    "XL303": (
        "the hypercall page is written at boot outside the kernel, or the dom0 builder refuses",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_x86.c setup_hypercall_page; "
        "xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    "XL305": (
        "a 32-bit PV kernel without PAE is refused by the toolstack's ABI check from 4.0",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_core.c xc_dom_compat_check",
    ),
    "XL306": (
        "the PV dom0 builder refuses HV_START_LOW above the compat area",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    "XL307": (
        "the toolstack's segment allocator needs a page-aligned kernel start",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_core.c xc_dom_alloc_pad",
    ),
    "XL403": (
        "the toolstack or dom0 builder refuses a required feature the hypervisor lacks",
        "RELEASE-4.17.0:tools/libs/guest/xg_dom_core.c xc_dom_parse_image; "
        "xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    "XL405": (
        "dom0 capability: the dom0 builders refuse a kernel without the dom0 bit, the toolstack "
        "one that requires dom0",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv; "
        "tools/libs/guest/xg_dom_core.c xc_dom_parse_image",
    ),
    "XL406": (
        "the toolstack refuses a required feature it does not provide (auto-translated PV)",
        "RELEASE-4.9.0:tools/libxc/xc_dom_x86.c bootearly",
    ),
}


# The hypervisor's own dom0 checks after libelf's parse: no oracle runs them (the harness is
# the toolstack's libelf), so these rest on the source; the rules cite them.
DOM0_SOURCE_ONLY: tuple[tuple[str, str, str], ...] = (
    (
        "XL304/XL305/XL306",
        "Mismatch between Xen and DOM0 kernel (class, machine, PAE); Domain 0 expects too "
        "high a hypervisor start address (HV_START_LOW); P2M table overlapping the initial "
        "mapping",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    (
        "XL405",
        "Kernel does not support Dom0 operation (no dom0 feature bit): PV dom0 from 4.2, PVH "
        "dom0 from 4.22 / 4.20.4 / 4.21.2",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv; "
        "RELEASE-4.22.0:xen/arch/x86/hvm/dom0_build.c dom0_construct_pvh",
    ),
    (
        "XL403/XL406",
        "required features the hypervisor does not provide (supervisor_mode_kernel panics)",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    (
        "XL303",
        "hypercall page below VIRT_BASE or beyond the initial mapping",
        "RELEASE-4.17.0:xen/arch/x86/pv/dom0_build.c dom0_construct_pv",
    ),
    (
        "XL103/XL205",
        "Unable to find XEN_ELFNOTE_PHYS32_ENTRY address; PHYS32_RELOC placement",
        "RELEASE-4.19.0:xen/arch/x86/hvm/dom0_build.c pvh_load_kernel, find_kernel_memory",
    ),
)


def _later(code: str, profile, mode: Mode, image_is_x86: bool, message: str = "") -> bool:
    """Whether an error with this code, in this cell, is a later stage that refuses."""
    if not image_is_x86 and mode in (Mode.PV, Mode.PV_DOM0):
        # the x86 domain builders take only EM_386/EM_X86_64 as PV kernels ("unknown image
        # type", RELEASE-4.17.0:tools/libs/guest/xg_dom_elfloader.c xc_dom_guest_type)
        return True
    if code == "XL202":
        return not profile.pvh_entry_bounds_checked
    if code == "XL008":
        return mode.is_pvh and "without PHYS32_ENTRY" in message
    if code == "XL006":
        return mode.is_dom0 and "not even the dom0 bit" in message
    return code in LATER


@dataclass
class Outcome:
    """Counts and the first few examples of each kind of disagreement."""

    images: int = 0
    cells: int = 0
    refusals: int = 0
    crashes: int = 0
    values: int = 0
    missed: list[str] = field(default_factory=list)  # (a) libelf refuses, xenlint silent
    misquoted: list[str] = field(default_factory=list)  # (a) error without libelf's message
    false: list[str] = field(default_factory=list)  # (b) errors libelf and later accept
    mismatched: list[str] = field(default_factory=list)  # (c) notes value differs
    kinds: Counter = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not (self.missed or self.misquoted or self.false or self.mismatched)

    def summary(self) -> str:
        return (
            f"{self.images} images, {self.cells} cells ({self.refusals} libelf refusals, "
            f"{self.crashes} pre-XSA-55 crashes skipped), {self.values} values: "
            f"{len(self.missed)} missed refusals, {len(self.false)} false errors, "
            f"{len(self.mismatched)} value mismatches, {len(self.misquoted)} misquoted"
        )


def _quotes(finding: Finding) -> list[str]:
    """The Xen messages a finding quotes ("... with '<message>'")."""
    out = []
    msg = finding.message
    while " with '" in msg:
        msg = msg.split(" with '", 1)[1]
        end = msg.find("'")
        # the quote ends at the last "'" before the next clause; messages may hold quotes
        out.append(msg[: msg.rfind("'")] if end >= 0 else msg)
    return out


def _quoted_in(findings: Sequence[Finding], errors: Sequence[str]) -> bool:
    for f in findings:
        for q in _quotes(f):
            while q:
                if any(q in e for e in errors):
                    return True
                # a message that itself holds "'" was cut too late: retry shorter
                cut = q.rfind("'")
                q = q[:cut] if cut > 0 else ""
    return False


def notes_json(paths: Sequence[Path]) -> list[dict]:
    """`xenlint notes --format json` on the paths (in-process), one record per image."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        xenlint_main(["--isolated", "notes", "--format", "json", *map(str, paths)])
    return json.loads(buf.getvalue())


def compare(
    paths: Sequence[Path], bindir: Path, registry: Registry, releases: Sequence[str] = ()
) -> Outcome:
    """Run every release's libelf and xenlint on `paths`; the disagreements, by kind."""
    releases = list(releases) or libelf_oracle.releases()
    profiles = {r: resolve([f"xen-{r}"], registry.profiles)[0] for r in releases}
    unique = tuple({p.name: p for p in profiles.values()}.values())  # 4.10.1 and 4.10.4 share
    oracle = {
        (r, m): libelf_oracle.run(bindir, r, m, paths) for r in releases for m in ("pv", "pvh")
    }
    out = Outcome(images=len(paths))
    readable = []
    for i, path in enumerate(paths):
        try:
            image = load_image(str(path))
        except ImageError as exc:
            _unreadable(out, path, str(exc), releases, oracle, i)
            continue
        readable.append(path)
        cells = cells_for(image, unique, list(MODES))
        found, errors = run_rules(image, list(registry.rules.values()), cells, registry.profiles)
        assert not errors, errors
        findings: dict[tuple[str, Mode], list[Finding]] = {}
        for f in found:
            if str(f.severity) == "error":
                for c in f.cells:
                    findings.setdefault((c.profile.name, c.mode), []).append(f)
        for r in releases:
            profile = profiles[r]
            for mode in MODES:
                res = oracle[(r, "pvh" if mode.is_pvh else "pv")][i]
                _cell(out, path, r, profile, mode, res, findings, image.is_x86)
            for m in ("pv", "pvh"):
                _features(out, path, r, profile, image, oracle[(r, m)][i], m)
    records = {rec["path"]: rec for rec in notes_json(readable)} if readable else {}
    for i, path in enumerate(paths):
        rec = records.get(str(path))
        if rec is not None:
            for r in releases:
                _values(out, path, r, oracle[(r, "pv")][i], rec)
    return out


def _unreadable(out: Outcome, path: Path, why: str, releases, oracle, i: int) -> None:
    """xenlint refuses the whole file (XL000): libelf must refuse it too, everywhere."""
    for r in releases:
        for m in ("pv", "pvh"):
            res = oracle[(r, m)][i]
            out.cells += 1
            if res.get("crash"):
                out.crashes += 1
            elif res["rc"] == 0:
                out.false.append(f"{path.name} xen-{r} {m}: XL000 ({why}) but libelf accepts")
                out.kinds["false XL000"] += 1
            else:
                out.refusals += 1


def _cell(out, path, release, profile, mode, res, findings, is_x86: bool) -> None:
    out.cells += 1
    if res.get("crash"):
        out.crashes += 1  # that release reads past the image: undefined, not compared
        return
    here = findings.get((profile.name, mode), [])
    codes = sorted({f.code for f in here})
    where = f"{path.name} xen-{release} {mode}"
    if mode not in profile.modes:  # this release cannot boot the mode: XL103 says so
        if "XL103" not in codes:
            out.missed.append(f"{where}: mode not bootable, no XL103 ({codes})")
            out.kinds["missed no-mode"] += 1
        return
    if res["rc"] != 0:
        out.refusals += 1
        libelf = res["errors"] or ["(no message)"]
        if not here:
            out.missed.append(f"{where}: libelf refuses {libelf}, xenlint {codes}")
            out.kinds[f"missed {libelf[-1][:60]}"] += 1
        elif res["errors"] and res["stage"] != "init" and not _quoted_in(here, libelf):
            out.misquoted.append(f"{where}: libelf {libelf}, xenlint {codes}")
            out.kinds[f"misquoted {codes}"] += 1
        return
    wrong = sorted({f.code for f in here if not _later(f.code, profile, mode, is_x86, f.message)})
    if wrong:
        msgs = [f.message[:160] for f in here if f.code in wrong]
        out.false.append(f"{where}: libelf accepts, xenlint {wrong}: {msgs}")
        for c in wrong:
            out.kinds[f"false {c}"] += 1


# Checks that run after the whole note walk (elf_xen_note_check, elf_xen_addr_calc_check).
_CHECKS = ("Will only load", "Xen will only load", "out of bounds", "PADDR_OFFSET", "Not a Xen")
# SUPPORTED_FEATURES: libelf logs elf_note_numeric of it but uses only its 32-bit words
# (ORed into f_supported), which `xenlint notes` shows; 4.18's L1_MFN_VALID number is
# likewise stored and never used.
_NOT_SHOWN = (17, 13)


def _features(out: Outcome, path: Path, release: str, profile, image, res: dict, m: str) -> None:
    """SUPPORTED_FEATURES has no single note value: what libelf keeps is the bitmap of
    FEATURES names and SUPPORTED_FEATURES words (f_supported[0], f_required[0]), which the
    feature rules read from the replay: compare those for every accepted parse."""
    if res.get("crash") or res["rc"] != 0 or res.get("f_supported") is None:
        return
    parse = xen_replay.parse(image, profile, Mode.PVH if m == "pvh" else Mode.PV)
    out.values += 1
    got = (parse.supported & 0xFFFFFFFF, parse.required & 0xFFFFFFFF)
    want = (res["f_supported"][0], res["f_required"][0])
    if got != want:
        out.mismatched.append(
            f"{path.name} xen-{release} {m} feature bitmaps: libelf {want}, replay {got}"
        )
        out.kinds["value feature bitmaps"] += 1


def _values(out: Outcome, path: Path, release: str, res: dict, rec: dict) -> None:
    """(c): the last note of each type libelf parsed shows libelf's value."""
    if (
        res.get("crash")
        or res.get("notes") is None
        or rec["source"] not in ("segments", "sections")
    ):
        return
    if res["rc"] != 0 and not any(m in e for e in res["errors"] for m in _CHECKS):
        return  # a FEATURES failure stops the note walk: later notes were never parsed
    for entry in res["notes"]:
        if "num" in entry:
            want: object = entry["num"]
        elif "str" in entry:
            want = entry["str"]
            if want is None:
                continue  # the string lies outside the image: nothing to compare
        else:
            continue
        if entry["t"] in _NOT_SHOWN:
            continue
        shown = [n["value"] for n in rec["notes"] if n["type"] == entry["t"]]
        shown = [v for v in shown if v is not None]
        out.values += 1
        got = shown[-1] if shown else None
        if got != want:
            out.mismatched.append(
                f"{path.name} xen-{release} type {entry['t']}: libelf {want!r}, xenlint {got!r}"
            )
            out.kinds[f"value type {entry['t']}"] += 1
