"""XL005: the legacy `__xen_guest` string. Xen reads it only when the kernel has no Xen notes,
parses it with quirks of its own, and from 4.16 ignores it for PVH."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import notes as N
from xenlint.abi.profile import format_version
from xenlint.abi.xen import RELEASES
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.image.model import XenGuest

SECTION = N.XEN_GUEST_SECTION
# The first releases without the two version-dependent quirks.
ANY_ORDER = format_version(min(r.version for r in RELEASES if r.xen_guest_hypercall_any_order))
PV_ONLY = format_version(min(r.version for r in RELEASES if not r.xen_guest_for_pvh))
# Items holding numbers, read with strtoull(value, NULL, 0).
_NUMERIC = tuple(
    str(t.legacy_key) for t in (N.VIRT_BASE, N.ENTRY, N.PADDR_OFFSET, N.HYPERCALL_PAGE)
)
_EXTCR3 = "yes[extended-cr3]"


class LegacyXenGuest(Rule):
    code = "XL005"
    name = "legacy-xen-guest"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = f"the legacy {SECTION} string: quirky when used, ignored for PVH, dead with notes"
    explanation = f"""
Before ELF notes, kernels described themselves in a section named {SECTION} holding
"NAME=VALUE,..." items. Every release still reads it, but only when neither the PT_NOTE
segments nor the SHT_NOTE sections hold a single Xen note, and its syntax differs from the
notes:
- HYPERCALL_PAGE is a page number; Xen makes it (page << 12) + VIRT_BASE. Before
  {ANY_ORDER}, VIRT_BASE was added at the HYPERCALL_PAGE item itself, so when VIRT_BASE comes
  later or not at all the unset value (all-ones) is added and the hypercall page lands on
  the wrong address (a PV kernel dies at its first hypercall);
- ELF_PADDR_OFFSET defaults to VIRT_BASE (with notes it defaults to 0);
- numbers are read with strtoull(value, NULL, 0): "0x" is hex, a leading 0 means octal;
- PAE=yes[extended-cr3] selects extended-cr3, any other "yes..." plain PAE, and "bimodal"
  is not understood;
- a FEATURES name Xen rejects stops the parse: the items after it are lost;
- names keep 31 characters and values 127.
From {PV_ONLY}, Xen ignores {SECTION} for PVH boots (elf_xen_parse with hvm set), so such a
kernel has no Xen information at all there. When Xen notes exist, {SECTION} is never read.
"""
    fix = f"""
Replace {SECTION} with Xen ELF notes: GUEST_OS, XEN_VERSION, LOADER, VIRT_BASE, ENTRY,
HYPERCALL_PAGE (a virtual address, not a page number), ... in a PT_NOTE segment.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        guest = ctx.image.xen_guest
        if guest is None or not ctx.xen_cells:
            return
        location = Location.of_xen_guest(guest)
        if ctx.image.notes:
            yield Result(
                ctx.xen_cells,
                f"the kernel has Xen notes, so Xen never reads the {SECTION} section: it is "
                "dead weight",
                location,
                Severity.INFO,
                f"delete the {SECTION} section",
            )
            return
        fix, quirks = _fix(guest), _quirks(guest)  # the same for every cell
        for cell in ctx.xen_cells:
            yield from _judge(ctx, cell, guest, location, fix, quirks)


def _judge(
    ctx: Context, cell: Cell, guest: XenGuest, location: Location, fix: str, quirks: list[str]
) -> Iterator[Result]:
    release = cell.xen
    assert release is not None
    if cell.mode.is_pvh and not release.xen_guest_for_pvh:
        yield Result(
            (cell,),
            f"the kernel's only Xen information is the {SECTION} string, which this release "
            "ignores for PVH, so the kernel has no Xen information in this mode",
            location,
            # A warning: what refuses the boot is libelf's note check on x86 (XL001) and the
            # missing PHYS32_ENTRY (XL103); a non-x86 image passes libelf's parse
            Severity.WARNING,
            fix + f"; a PVH kernel needs at least PHYS32_ENTRY (type {N.PHYS32_ENTRY.number})",
        )
        return
    head = f"the kernel's only Xen information is the legacy {SECTION} string"
    if quirks:
        message = f"{head}, read with quirks notes do not have: {'; '.join(quirks)}"
    else:
        message = f"{head}, which Xen reads only as a fallback and ignores for PVH from {PV_ONLY}"
    yield Result((cell,), message, location, Severity.WARNING, fix)
    if not release.xen_guest_hypercall_any_order and not cell.mode.is_pvh:
        yield from _hypercall_order(ctx, cell, guest, location)


def _hypercall_order(
    ctx: Context, cell: Cell, guest: XenGuest, location: Location
) -> Iterator[Result]:
    """Before the order fix, HYPERCALL_PAGE only gets the right VIRT_BASE if that came first."""
    names = [name for name, _ in guest.items]
    if "HYPERCALL_PAGE" not in names:
        return
    page = names.index("HYPERCALL_PAGE")
    if "VIRT_BASE" in names[:page]:
        return
    address = ctx.xen(cell).numbers.get(N.HYPERCALL_PAGE.name)
    got = f" {address:#x}" if address is not None else ""
    later = "comes after it" if "VIRT_BASE" in names else "is missing"
    yield Result(
        (cell,),
        f"HYPERCALL_PAGE precedes VIRT_BASE in {SECTION} (VIRT_BASE {later}): this release "
        f"adds the still-unset VIRT_BASE (all-ones), so the hypercall page address becomes"
        f"{got}, not (page << 12) + VIRT_BASE, and the kernel faults at its first hypercall",
        location,
        Severity.ERROR,
        "put VIRT_BASE=... before HYPERCALL_PAGE=... in the __xen_guest string "
        "(or, better, replace the string with ELF notes)",
    )


def _quirks(guest: XenGuest) -> list[str]:
    """The legacy-syntax quirks this string actually runs into."""
    items = dict(guest.items)
    names = [name for name, _ in guest.items]
    quirks = []
    if "HYPERCALL_PAGE" in items:
        quirks.append(
            f"HYPERCALL_PAGE={items['HYPERCALL_PAGE']} is a page number, which Xen turns into "
            "(page << 12) + VIRT_BASE"
        )
    if "VIRT_BASE" in items and "ELF_PADDR_OFFSET" not in items:
        quirks.append("ELF_PADDR_OFFSET is absent, so it defaults to VIRT_BASE, not 0")
    for name in _NUMERIC:
        value = items.get(name, "").strip()
        if len(value) > 1 and value[0] == "0" and value[1] not in "xX":
            quirks.append(f"{name}={value} starts with 0, so Xen reads it as octal")
    pae = items.get("PAE")
    if pae is not None and pae.startswith("yes") and pae != _EXTCR3:
        quirks.append(f"PAE={pae} means plain PAE; only PAE={_EXTCR3} selects extended-cr3")
    elif pae is not None and "bimodal" in pae:
        quirks.append(f"PAE={pae}: 'bimodal' is not understood here, the kernel counts as non-PAE")
    if "FEATURES" in names and names.index("FEATURES") < len(names) - 1:
        quirks.append("a FEATURES name Xen rejects would stop the parse before the items after it")
    return quirks


def _fix(guest: XenGuest) -> str:
    """Name the notes that replace the string's items."""
    by_key = {t.legacy_key: t for t in N.NOTE_TYPES if t.legacy_key}
    notes = [by_key[name].name for name, _ in guest.items if name in by_key]
    listed = ", ".join(dict.fromkeys(notes)) or "GUEST_OS, XEN_VERSION, LOADER"
    return (
        f"replace the {SECTION} section with Xen ELF notes in a PT_NOTE segment ({listed}), "
        "giving HYPERCALL_PAGE as a virtual address rather than a page number"
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [LegacyXenGuest()]
