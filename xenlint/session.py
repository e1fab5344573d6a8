"""One lint run over files: the loop `xenlint check` and `xenlint.api.check` share.

It sits above the configuration layer (it takes resolved Settings) and below the output and
command-line layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xenlint.config.settings import Settings
from xenlint.engine.check import UNREADABLE, Finding, cells_for, run_rules, unreadable
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Severity
from xenlint.image.format import ImageFormat
from xenlint.image.model import Image, ImageError


@dataclass
class Outcome:
    """What a run found: findings in file order, crashed-rule errors, the files looked at."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each: a rule that raised
    checked: list[str] = field(default_factory=list)  # every file looked at, in order
    unreadable: bool = False  # an XL000 finding at error severity, or an unreadable source


def expand(
    paths: Iterable[str],
    skip_non_elf: bool = False,
    formats: Sequence[ImageFormat] | None = None,
) -> Iterator[tuple[str, bool]]:
    """Files to check, each with whether it was found inside a directory; files found inside a
    directory are taken only if one of `formats` (default: the built-in ELF, gzip-compressed
    ELF, bzImage) recognises their content, and so are named files with `skip_non_elf`
    (pre-commit hands over any binary file)."""
    from xenlint.image.read import looks_like_image

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                if looks_like_image(str(sub), formats):
                    yield str(sub), True
        elif not skip_non_elf or looks_like_image(raw, formats):
            yield raw, False


def load_image(
    path: str, max_decompressed: int | None = None, formats: Sequence[ImageFormat] | None = None
) -> Image:
    """Read one image (raises ImageError) in the first of `formats` that claims it;
    `max_decompressed` bytes bound decompression (None: the default, 2 GiB)."""
    from xenlint.image.read import DEFAULT_MAX_DECOMPRESSED
    from xenlint.image.read import load_image as read

    limit = max_decompressed or DEFAULT_MAX_DECOMPRESSED
    return read(path, max_decompressed=limit, formats=formats)


def lint(
    paths: Iterable[str], settings: Settings, registry: Registry, skip_non_elf: bool = False
) -> Outcome:
    """Run the selected rules over every file under `paths` (see `expand`). A file that
    cannot be read gives an XL000 finding, unless XL000 is ignored for it. Source files
    (assembly, linker scripts: xenlint.source) are checked together, as pieces of one tree."""
    from xenlint.source import kind as source_kind

    out = Outcome()
    sources: list[str] = []
    formats = registry.image_formats
    for path, _ in expand(paths, skip_non_elf, formats):
        out.checked.append(path)
        if source_kind(path) is not None:
            sources.append(path)  # checked together below: pieces of one tree
            continue
        try:
            image = load_image(path, settings.max_decompressed, formats)
        except ImageError as exc:
            rule = registry.rules.get(UNREADABLE)
            if rule is not None and rule not in settings.rules_for(path):
                continue  # XL000 ignored (for this file): the file is skipped silently
            finding = unreadable(path, exc, rule, settings.severity.get(UNREADABLE))
            out.findings.append(finding)
            out.unreadable |= finding.severity is Severity.ERROR
            continue
        cells = cells_for(image, settings.profiles, settings.modes)
        found, crashed = run_rules(
            image,
            settings.rules_for(path),
            cells,
            registry.profiles,
            settings.severity,
            registry.engines,
            settings.rule_options,
        )
        out.findings.extend(found)
        out.errors.extend(crashed)
    if sources:
        from xenlint.source.run import check_paths

        found, crashed, bad = check_paths(sources, settings, registry)
        out.findings.extend(found)
        out.errors.extend(crashed)
        out.unreadable |= bool(bad)
    return out
