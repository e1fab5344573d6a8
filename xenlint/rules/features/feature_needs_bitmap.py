"""XL402: a feature that exists as a bit but that a targeted release's FEATURES parser does
not know by name belongs in the SUPPORTED_FEATURES bitmap (the 2015 FreeBSD PVH case)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.engine.rule import Context, Result, Rule, Severity
from xenlint.replay.xen import FeatureToken


class FeatureNeedsBitmap(Rule):
    code = "XL402"
    name = "feature-needs-bitmap"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a FEATURES name the targeted release only understands as a SUPPORTED_FEATURES bit"
    explanation = """
Xen reads the FEATURES note as '|'-separated names and looks each one up in a table that
has grown slowly: 3.1-4.1 know writable_page_tables, writable_descriptor_tables,
auto_translated_physmap, supervisor_mode_kernel and pae_pgdir_above_4gb; 4.2 adds dom0;
4.4 adds hvm_callback_vector. Other feature bits (hvm_safe_pvclock, linux_rsdp_unrestricted,
...) are never accepted by name.

What a release does with a name it does not know:
- Xen 3.1 to 4.1.x refuse the kernel: any unknown name fails elf_xen_parse().
- Xen 4.2 and later ignore it silently, so the kernel never advertises that feature.
- A name marked required with '!' is refused by every release that does not know it.

This is why SUPPORTED_FEATURES (note type 17, a 32-bit bitmap) exists: releases from 4.2
read it, older ones ignore the unknown note type, so a bit set there is safe everywhere.
It was first raised for FreeBSD's PVH note set on xen-devel in June 2015.
"""
    fix = """
Remove the name from the FEATURES string and set its bit in a SUPPORTED_FEATURES note
instead, e.g. for hvm_callback_vector (bit 8):
    ELFNOTE(Xen, XEN_ELFNOTE_SUPPORTED_FEATURES, .long (1 << 8))
The bitmap has no "required" form: if the feature was marked '!', drop the mark.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        for cell, parse in ctx.xen_pairs:
            for token in parse.unknown:
                feature = F.BY_NAME.get(token.text)
                if feature is None or token.split:  # pieces of an over-long name: XL403
                    continue
                refused = parse.refuses(token)
                yield Result(
                    (cell,),
                    _message(token, refused),
                    ctx.location(token.note),
                    Severity.ERROR if refused and token.note else Severity.WARNING,
                    _fix(token, feature),
                )


def _message(token: FeatureToken, refused: bool) -> str:
    head = f"FEATURES names '{token.display}', which this release accepts only as a feature bit"
    if not refused:
        return f"{head}: Xen silently drops it, so the kernel does not advertise {token.text}"
    if token.note is None:
        return f"{head}: Xen stops reading the rest of the __xen_guest string there"
    if token.required:
        return f"{head}: a required ('!') name Xen does not know makes it refuse the kernel"
    return f"{head}: an unknown name makes Xen refuse the kernel (fatal before 4.2)"


def _fix(token: FeatureToken, feature: F.Feature) -> str:
    mark = "drop the '!' and " if token.required else ""
    return (
        f"remove '{token.display}' from the FEATURES string, {mark}set bit {feature.bit} "
        f"({1 << feature.bit:#x}) in a SUPPORTED_FEATURES note "
        f"(type {N.SUPPORTED_FEATURES.number}), which Xen 4.2+ reads and older releases ignore"
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [FeatureNeedsBitmap()]
