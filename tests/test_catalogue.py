"""The rule catalogue stays complete: every rule is explained, documented and tested."""

from __future__ import annotations

import re

from conftest import ROOT

from xenlint.engine.plugin import Registry

EXPECTED = {
    "XL000": "image-unreadable",
    "XL001": "no-xen-notes",
    "XL002": "notes-only-in-sections",
    "XL003": "malformed-note",
    "XL004": "duplicate-note",
    "XL005": "legacy-xen-guest",
    "XL006": "note-descriptor",
    "XL007": "note-ignored-by-target",
    "XL008": "unreachable-note",
    "XL101": "loader-or-guest-os",
    "XL102": "xen-version",
    "XL103": "missing-phys32-entry",
    "XL201": "phys32-entry-not-32bit",
    "XL202": "phys32-entry-outside-image",
    "XL203": "phys32-entry-not-code",
    "XL204": "phys32-entry-size",
    "XL205": "phys32-reloc",
    "XL301": "pv-entry-out-of-bounds",
    "XL302": "paddr-offset-without-virt-base",
    "XL303": "hypercall-page-out-of-bounds",
    "XL304": "init-p2m-inside-image",
    "XL305": "pae-mode",
    "XL306": "hv-start-low",
    "XL307": "pv-segment-alignment",
    "XL401": "feature-unknown",
    "XL402": "feature-needs-bitmap",
    "XL403": "feature-syntax",
    "XL404": "supported-features-bits",
    "XL405": "dom0-capability",
    "XL406": "required-feature-refused",
    "XL501": "pvh-note-not-in-segment",
    "XL502": "note-segment-alignment",
    "XL503": "pvh-note-owner",
    "XL504": "pvh-note-not-last-segment",
    "XL505": "elf-class-for-loader",
    "XL506": "elf-entry-low",
    "XL507": "multiboot-shadows-pvh",
    "XL508": "qemu-elf-flags",
    "XL509": "pvh-entry-desc-width",
    "XL510": "no-pvh-note",
    "XL511": "pvh-entry-not-loaded",
    "XL512": "loader-reads-past-file",
    "XL513": "loader-file-format",
    "XL514": "loader-boot",
}


def test_every_rule_exists_with_its_stable_code(registry: Registry) -> None:
    assert {c: r.name for c, r in registry.rules.items()} == EXPECTED


def test_every_rule_is_explained(registry: Registry) -> None:
    for rule in registry.rules.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.code
        assert len(rule.explanation.strip()) > 80, rule.code
        assert rule.fix.strip(), rule.code
        assert not rule.summary.endswith("."), rule.code


def test_every_rule_has_a_test(registry: Registry) -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for code in registry.rules:
        if code == "XL000":
            continue
        uses = re.findall(rf'["\']{code}["\']', sources)
        assert len(uses) >= 2, f"{code} needs a positive and a negative test"


def test_readme_lists_every_rule(registry: Registry) -> None:
    readme = (ROOT / "README.md").read_text()
    for code, rule in registry.rules.items():
        assert f"| {code} | `{rule.name}` |" in readme, code


def test_no_rule_spells_a_release_or_note_number() -> None:
    """ABI facts live in xenlint/abi; rules read profiles."""
    for path in (ROOT / "plugins").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"\(4, \d+", text), path.name
        assert not re.search(r"\.type == \d+", text), path.name
        assert "RELEASE-4" not in text, path.name
