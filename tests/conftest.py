"""Shared fixtures: run the real engine (real plugin loading, real ELF parsing) on bytes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from elfbuilder import Note, u32, xen_kernel

from xenlint.abi.profile import Mode
from xenlint.cli.main import main
from xenlint.engine.check import Finding, cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.plugin import load as load_plugins
from xenlint.engine.targets import resolve
from xenlint.image.read import load_image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = load_plugins()
    assert not reg.errors, reg.errors
    return reg


Lint = Callable[..., list[Finding]]


@pytest.fixture
def lint(registry: Registry, tmp_path: Path) -> Lint:
    """lint(data_or_path, targets=["xen"], modes=None, select=None) -> findings.

    `modes` None means auto; `select` limits the rules to these codes."""
    counter = iter(range(10**6))

    def run(
        data: bytes | Path,
        targets: Sequence[str] = ("xen",),
        modes: Sequence[str] | None = None,
        select: Sequence[str] | None = None,
    ) -> list[Finding]:
        if isinstance(data, bytes):
            path = tmp_path / f"image{next(counter)}.elf"
            path.write_bytes(data)
        else:
            path = data
        image = load_image(str(path))
        profiles = resolve(list(targets), registry.profiles)
        mode_list = [Mode(m) for m in modes] if modes else None
        rules = [r for c, r in registry.rules.items() if select is None or c in select]
        findings, errors = run_rules(
            image, rules, cells_for(image, profiles, mode_list), registry.profiles
        )
        assert not errors, errors
        return findings

    return run


def cells(
    findings: Sequence[Finding], code: str, severity: str | None = None
) -> set[tuple[str, str]]:
    """The (target, mode) pairs a code fired for, optionally only at one severity."""
    return {
        (c.profile.name, c.mode.value)
        for f in findings
        if f.code == code and (severity is None or str(f.severity) == severity)
        for c in f.cells
    }


def targets_of(findings: Sequence[Finding], code: str, severity: str | None = None) -> set[str]:
    return {t for t, _ in cells(findings, code, severity)}


# The seed case: FreeBSD's 2015 PVH note set with hvm_callback_vector in FEATURES.
FREEBSD_FEATURES = (
    b"writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel|hvm_callback_vector"
)


def freebsd_notes(entry: int = 0x100010) -> list[Note]:
    return [
        Note(6, b"FreeBSD\0"),
        Note(7, b"1100000\0"),
        Note(5, b"xen-3.0\0"),
        Note(8, b"generic\0"),
        Note(10, FREEBSD_FEATURES + b"\0"),
        Note(18, u32(entry)),
    ]


@pytest.fixture
def freebsd(tmp_path: Path) -> Path:
    path = tmp_path / "freebsd.elf"
    path.write_bytes(xen_kernel(freebsd_notes(), entry=0x100010))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--isolated", *args])
    out, err = capsys.readouterr()
    return code, out, err
