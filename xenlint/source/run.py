"""Check the source files of one run together: they are pieces of one kernel tree."""

from __future__ import annotations

from collections.abc import Sequence

from xenlint.config.settings import Settings
from xenlint.engine.check import Finding, unreadable
from xenlint.engine.plugin import Registry
from xenlint.image.model import ImageError
from xenlint.source import SourceError, kind, read_text
from xenlint.source.model import SourceFile


def read(path: str) -> SourceFile | None:
    """The notes of one assembly source or object; None for a linker script.
    Raises SourceError with a one-line reason."""
    what = kind(path)
    if what == "gas":
        from xenlint.source.asm import read_gas

        return read_gas(path, read_text(path))
    if what == "nasm":
        from xenlint.source.nasm import read_nasm

        return read_nasm(path, read_text(path))
    if what == "object":
        from xenlint.source.relobj import read_object

        return read_object(path)
    return None


def check_paths(
    paths: Sequence[str], settings: Settings, registry: Registry
) -> tuple[list[Finding], list[str], bool]:
    """(findings, rule errors, whether some file could not be read) for the source files."""
    from xenlint.source.check import check_sources

    findings: list[Finding] = []
    sources: list[SourceFile] = []
    scripts: list[str] = []
    bad = False
    for path in paths:
        try:
            if kind(path) == "lds":
                scripts.append(path)
                continue
            src = read(path)
        except SourceError as exc:
            findings.append(unreadable(path, ImageError(str(exc)), registry.rules.get("XL000")))
            bad = True
            continue
        except (ValueError, IndexError, KeyError, RecursionError, OverflowError) as exc:
            # A reader bug on an odd file: one line naming the file, never a traceback.
            message = f"could not be read as a source ({type(exc).__name__}: {exc})"
            findings.append(unreadable(path, ImageError(message), registry.rules.get("XL000")))
            bad = True
            continue
        if src is not None:
            sources.append(src)
    found, errors = check_sources(
        sources,
        settings.xen_profiles_for,
        settings.modes,
        registry.profiles,
        settings.rules_for,
        registry.rules,  # type: ignore[arg-type]
        settings.severity,
    )
    findings.extend(found)
    if scripts:
        from xenlint.source.lds import check_scripts, default_cells

        cells = default_cells(settings.profiles, settings.modes)
        for path in scripts:
            try:
                findings.extend(
                    check_scripts(
                        [path],
                        sources,
                        cells,
                        settings.rules_for,
                        registry.rules,  # type: ignore[arg-type]
                        settings.severity,
                        read_text,
                    )
                )
            except SourceError as exc:
                findings.append(unreadable(path, ImageError(str(exc)), registry.rules.get("XL000")))
                bad = True
    return findings, errors, bad
