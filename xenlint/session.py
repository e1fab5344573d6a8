"""One lint run over files: the loop `xenlint check` and `xenlint.api.check` share.

It sits above the configuration layer (it takes resolved Settings) and below the output and
command-line layers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence

from xenlint.abi.profile import Mode, Profile
from xenlint.config.settings import Settings
from xenlint.engine.check import (
    DEFAULT_RULE_TIME_LIMIT,
    UNREADABLE,
    Finding,
    cells_for,
    declared_modes,
    run_rules,
    unreadable,
)
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Cell, Severity
from xenlint.errors import XenlintError
from xenlint.image import scan
from xenlint.image.format import ImageFormat
from xenlint.image.model import Image, ImageError
from xenlint.record import Record


class Outcome(Record):
    """What a run found: findings in file order, crashed-rule errors, the files looked at."""

    __slots__ = ("checked", "errors", "findings", "unreadable")

    findings: list[Finding]
    errors: list[str]  # one line each: a rule that raised
    checked: list[str]  # every file looked at, in order
    unreadable: bool  # an XL000 finding at error severity, or an unreadable source

    def __init__(
        self,
        findings: list[Finding] | None = None,
        errors: list[str] | None = None,
        checked: list[str] | None = None,
        unreadable: bool = False,
    ) -> None:
        self.findings = [] if findings is None else findings
        self.errors = [] if errors is None else errors
        self.checked = [] if checked is None else checked
        self.unreadable = unreadable


def expand(
    paths: Iterable[str],
    skip_non_elf: bool = False,
    formats: Sequence[ImageFormat] | None = None,
) -> Iterator[tuple[str, str | None]]:
    """Files to check, each with the reason it cannot be read (None when it can). Files found
    inside a directory are taken only if one of `formats` (default: the built-in ELF,
    gzip-compressed ELF, bzImage) recognises their content, and so are named files with
    `skip_non_elf` (pre-commit hands over any binary file); what cannot be read (a file or
    directory without permission, a dangling or looping symbolic link) is never skipped: it
    is an XL000 of its own. FIFOs, devices and sockets inside a directory are no images and
    are passed over. An empty path is a usage error."""
    from xenlint.image.read import probe

    for raw in paths:
        if not raw:
            raise XenlintError("an empty PATH ('') names no file (use '.' for this directory)")
        if os.path.isdir(raw):
            yield from _walk(raw, formats)
        elif not skip_non_elf:
            yield raw, None
        else:
            kind = probe(raw, formats)
            if kind != "other":
                yield raw, _unreadable(raw) if kind == "unreadable" else None


def _walk(top: str, formats: Sequence[ImageFormat] | None) -> Iterator[tuple[str, str | None]]:
    """The images below `top` in path order, and every entry that could not be read."""
    from xenlint.image.read import probe

    found: list[tuple[str, str | None]] = []

    def failed(exc: OSError) -> None:
        found.append((exc.filename or top, exc.strerror or str(exc)))

    for directory, _, names in os.walk(top, onerror=failed):
        for name in names:
            path = os.path.join(directory, name)
            kind = probe(path, formats)
            if kind == "image":
                found.append((path, None))
            elif kind == "unreadable":
                found.append((path, _unreadable(path)))
    from pathlib import PurePath  # a directory walk: not on a named file's start-up path

    yield from sorted(found, key=lambda item: PurePath(item[0]).parts)


def _unreadable(path: str) -> str:
    """Why `path` cannot be read, in the words of the OS."""
    try:
        os.stat(path)
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return "cannot be read"


def load_image(
    path: str,
    max_decompressed: int | None = None,
    formats: Sequence[ImageFormat] | None = None,
    data: bytes | None = None,
) -> Image:
    """Read one image (raises ImageError) in the first of `formats` that claims it;
    `max_decompressed` bytes bound decompression (None: the default, 2 GiB). `data`: the
    whole file, when it has been read already (xenlint.image.read.read_small)."""
    from xenlint.image.read import DEFAULT_MAX_DECOMPRESSED
    from xenlint.image.read import load_image as read

    limit = max_decompressed or DEFAULT_MAX_DECOMPRESSED
    return read(path, max_decompressed=limit, formats=formats, data=data)


class _CellMemo:
    """`cells_for` once per distinct (targets, modes, declared modes) of a run, not once per
    image: a directory of thousands of kernels has a handful of kinds, and each image would
    build the same few dozen Cells. The cells depend on the image only through the modes it
    declares (under `auto`). Settings.profiles_for hands out one profiles sequence per kind
    of image, so the entry is found by that sequence's id, and keeps the sequence (its id
    stays its own)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[object, ...], tuple[Sequence[Profile], tuple[Cell, ...]]] = {}

    def __call__(
        self, image: Image, profiles: Sequence[Profile], modes: Sequence[Mode] | None
    ) -> tuple[Cell, ...]:
        declared = None if modes else declared_modes(image)
        key = (id(profiles), tuple(modes) if modes else None, declared)
        hit = self._memo.get(key)
        if hit is not None and hit[0] is profiles:
            return hit[1]
        if len(self._memo) > 256:
            self._memo.clear()
        cells = tuple(cells_for(image, profiles, modes))
        self._memo[key] = (profiles, cells)
        return cells


def lint(
    paths: Iterable[str],
    settings: Settings,
    registry: Registry,
    skip_non_elf: bool = False,
    time_limit: float | None = DEFAULT_RULE_TIME_LIMIT,
    on_skip: Callable[[str, str], None] | None = None,
) -> Outcome:
    """Run the selected rules over every file under `paths` (see `expand`). A file that
    cannot be read gives an XL000 finding, unless XL000 is ignored for it. Source files
    (assembly, linker scripts: xenlint.source) are checked together, as pieces of one tree.
    A rule runs at most rule-time-limit (else `time_limit`) seconds per image; one that
    misbehaves is reported once and not run again (xenlint.engine.check.run_rules)."""
    from xenlint.image.read import read_small
    from xenlint.source import kind as source_kind

    out = Outcome()
    same_cells = _CellMemo()
    sources: list[str] = []
    disabled: set[str] = set()  # rules that misbehaved: reported once, then not run again
    formats = registry.image_formats
    paths = list(paths)
    named = set(paths)
    for path, problem in expand(paths, skip_non_elf, formats):
        discovered = path not in named
        item: scan.Candidate | scan.Skipped = scan.Candidate(path, discovered)
        data = None
        if problem is None:
            if discovered or skip_non_elf:
                # Read once for the structural tests and the load (a directory of thousands
                # of small kernels opened each file three times after the walk's probe).
                data = read_small(path)
            # A directory's files are judged only when they can be kernel images (not a
            # build tree's objects, host programs, boot sectors: xenlint.image.scan); so are
            # named files with skip_non_elf; other named files are checked as given.
            item = scan.classify(path, discovered, skip_non_elf, data)
            if isinstance(item, scan.Skipped):
                if on_skip is not None:
                    on_skip(item.path, item.reason)
                continue
        if problem is None and source_kind(path) is not None:
            out.checked.append(path)
            sources.append(path)  # checked together below: pieces of one tree
            continue
        try:
            if problem is not None:  # an entry of a directory that cannot be read
                raise ImageError(problem)
            image = load_image(path, settings.max_decompressed, formats, data)
        except ImageError as exc:
            rule = registry.rules.get(UNREADABLE)
            if rule is not None and rule not in settings.rules_for(path):
                continue  # XL000 ignored (for this file): the file is skipped silently
            finding = unreadable(path, exc, rule, settings.severity.get(UNREADABLE))
            out.checked.append(path)
            out.findings.append(finding)
            out.unreadable |= finding.severity is Severity.ERROR
            continue
        reason = scan.guest_reason(image, item)  # type: ignore[arg-type]
        if reason is not None:
            if on_skip is not None:
                on_skip(path, reason)
            continue
        out.checked.append(path)
        cells = same_cells(image, settings.profiles_for(image), settings.modes)
        found, crashed = run_rules(
            image,
            settings.rules_for(path),
            cells,
            registry.profiles,
            settings.severity,
            registry.engines,
            settings.rule_options,
            time_limit=settings.rule_time_limit or time_limit,
            disabled=disabled,
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
