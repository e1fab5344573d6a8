"""The rule contract shared by built-in and third-party plugins.

A rule judges each (target, mode) cell on its own and yields `Result`s naming the cells they
apply to; the core merges equal results across cells into one finding with a target list.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, TypeVar

from xenlint.abi.profile import Mode, Profile
from xenlint.abi.xen import XenRelease
from xenlint.record import Frozen

if TYPE_CHECKING:
    from collections.abc import Mapping

    from xenlint.abi.loaders import LoaderProfile
    from xenlint.image.model import Container, Image, Note, XenGuest
    from xenlint.replay.engines import LoaderEngine
    from xenlint.replay.pvh import Reading
    from xenlint.replay.xen import NoteIndex, XenParse


T = TypeVar("T")


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


class Cell(Frozen):
    """One target in one guest mode: the unit every rule judges."""

    __slots__ = ("key", "loader", "mode", "profile", "xen")

    profile: Profile
    mode: Mode
    if TYPE_CHECKING:
        # Not fields (equality, hash and repr stay those of profile and mode): the profile
        # again, typed, worked out once here because rules ask hundreds of times per image.
        xen: XenRelease | None  # the Xen release this cell targets, if it is one
        loader: LoaderProfile | None  # the PVH loader (QEMU, linux-loader, a VMM), if one
        # (profile name, mode value): what merging results compares cells by (str hashes
        # are cached; Mode.value is an Enum property, Python code, on every result).
        key: tuple[str, str]

    def __init__(self, profile: Profile, mode: Mode) -> None:
        from xenlint.abi.loaders import LoaderProfile

        set_ = object.__setattr__
        set_(self, "profile", profile)
        set_(self, "mode", mode)
        set_(self, "xen", profile if isinstance(profile, XenRelease) else None)
        set_(self, "loader", profile if isinstance(profile, LoaderProfile) else None)
        set_(self, "key", (profile.name, mode.value))

    def __str__(self) -> str:
        return f"{self.profile.name} {self.mode}"


class Location(Frozen):
    """Where in the file a finding points: a note, a segment or section, a byte range."""

    __slots__ = ("column", "container", "length", "line", "note", "offset", "origin")

    note: str | None  # "PHYS32_ENTRY"
    container: str | None  # "PT_NOTE segment 1 (.note.Xen)"
    offset: int | None  # file offset
    length: int | None
    # Where the ELF came from when the file wraps it ("bzImage payload, xz", "gzip"); offsets
    # are then offsets in the decompressed ELF.
    origin: str | None
    # A line and column (1-based) in a source file, for findings on the assembly or linker
    # script that writes a note; text output then names `path:line:column` as compilers do.
    line: int | None
    column: int | None

    def __init__(
        self,
        note: str | None = None,
        container: str | None = None,
        offset: int | None = None,
        length: int | None = None,
        origin: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "note", note)
        set_(self, "container", container)
        set_(self, "offset", offset)
        set_(self, "length", length)
        set_(self, "origin", origin)
        set_(self, "line", line)
        set_(self, "column", column)

    @classmethod
    def of_note(cls, note: Note) -> Location:
        size = note.desc_offset - note.offset + note.descsz
        return cls(note.type_name, note.container.describe(), note.offset, size)

    @classmethod
    def of_xen_guest(cls, guest: XenGuest) -> Location:
        """The legacy `__xen_guest` section, where values without a note come from."""
        return cls(None, f"section {guest.section.name}", guest.section.offset, guest.section.size)

    @classmethod
    def of_container(cls, container: Container, offset: int | None = None) -> Location:
        return cls(None, container.describe(), container.offset if offset is None else offset)

    def describe(self) -> str:
        parts = []
        if self.note:
            parts.append(f"{self.note} note")
        if self.container:
            parts.append(("in " if self.note else "") + self.container)
        if self.offset is not None:
            parts.append(f"at offset {self.offset:#x}")
        if self.origin:
            parts.append(f"{'of' if parts else 'in'} the ELF inside ({self.origin})")
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        values = {k: getattr(self, k) for k in self._fields}
        return {k: v for k, v in values.items() if v is not None}


class Result(Frozen):
    """One problem found in some cells; severity and fix default to the rule's."""

    __slots__ = ("cells", "fix", "location", "message", "severity")

    cells: tuple[Cell, ...]
    message: str
    location: Location | None
    severity: Severity | None
    fix: str | None

    def __init__(
        self,
        cells: tuple[Cell, ...],
        message: str,
        location: Location | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "cells", cells)
        set_(self, "message", message)
        set_(self, "location", location)
        set_(self, "severity", severity)
        set_(self, "fix", fix)


class Context:
    """What a rule may look at: the image, the cells to judge, and Xen's parse of each."""

    def __init__(
        self,
        image: Image,
        cells: Iterable[Cell],
        engines: Mapping[str, LoaderEngine] | None = None,
    ) -> None:
        """`engines`: the registered loader replay engines by name (the plugin registry's);
        None means xenlint's built-in ones."""
        self.image = image
        self.cells = tuple(cells)
        self._engines = engines
        self._engine_by_name: dict[str, LoaderEngine] = {}
        #: The options of the plugin whose rule is running: its [tool.xenlint.plugins.NAME]
        #: table over the defaults it declares (the xenlint_options hook); read-only.
        self.options: Mapping[str, object] = MappingProxyType({})
        self._parses: dict[tuple[str, int], XenParse] = {}  # by profile name and mode id
        self._by_cell: dict[int, tuple[Cell, XenParse]] = {}
        self._parsed_cells: list[tuple[Cell, XenParse]] | None = None
        self._shared_parses: dict[tuple[object, ...], XenParse] = {}
        self._image_parses: dict[tuple[object, ...], XenParse] = {}
        self._note_index: NoteIndex | None = None
        self._readings: dict[str, Reading] = {}
        self._memo: dict[object, object] = {}
        self._locations: dict[int, tuple[Note | None, Location | None]] = {}

    def alike(self, cells: tuple[Cell, ...]) -> Context:
        """A context over other `cells` of the same image that shares this one's per-image
        work (Xen's parses, the loaders' readings, note locations)."""
        other = Context(self.image, cells, self._engines)
        other._note_index = self._index()
        other._image_parses = self._image_parses
        other._readings = self._readings
        other._locations = self._locations
        other._engine_by_name = self._engine_by_name
        return other

    @cached_property
    def xen_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.xen is not None)

    @cached_property
    def xen_pairs(self) -> tuple[tuple[Cell, XenParse], ...]:
        """(cell, Xen's parse) for every Xen cell, in cell order: most rules walk them all."""
        from xenlint.replay import xen as xenparse

        cells = self.xen_cells
        if not cells:
            return ()
        index = self._index()
        plan = _parse_plan(self.cells, cells, index)
        shared = []
        for alike, release, mode in plan[1]:
            parse = self._image_parses.get(alike)
            if parse is None:
                parse = xenparse.parse(self.image, release, mode, index)
                self._image_parses[alike] = parse
            shared.append(parse)
        # Each cell gets its own shell naming its release and mode; the cell whose release
        # and mode a parse was made for gets that parse.
        pairs = tuple(
            (cell, parse)
            if (parse := shared[group]).release is cell.xen and parse.mode is cell.mode
            else (cell, parse.for_cell(cell.xen, cell.mode))  # type: ignore[arg-type]
            for cell, group in zip(cells, plan[2], strict=True)
        )
        by_cell = self._by_cell
        for pair in pairs:
            by_cell[id(pair[0])] = pair  # the cell is kept: its id stays its own
        return pairs

    def _index(self) -> NoteIndex:
        if self._note_index is None:
            from xenlint.replay import xen as xenparse

            self._note_index = xenparse.NoteIndex(self.image)
        return self._note_index

    def remember(self, key: object, compute: Callable[[], T]) -> T:
        """compute(), once per context and `key`: for what several rules derive from the same
        cells and parses (use a key naming your module)."""
        memo = self._memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]  # type: ignore[return-value]

    @cached_property
    def loader_cells(self) -> tuple[Cell, ...]:
        """Loader cells whose loader reads this file as the ELF it is. A loader given a
        bzImage or a gzip-compressed ELF never reads the ELF inside (XL513 says what it does
        instead), so the PVH-note rules have nothing to judge there."""
        if self.image.format != "elf":
            return ()
        return tuple(c for c in self.boot_cells if self.engine(c).reads_pvh_note)

    @cached_property
    def boot_cells(self) -> tuple[Cell, ...]:
        """Every loader cell, whatever the file format and however the loader boots (GRUB's
        PV loader, multiboot, Firecracker before 1.12, as well as the PVH loaders)."""
        return tuple(c for c in self.cells if c.loader is not None)

    def engine(self, cell: Cell) -> LoaderEngine:
        """The replay engine the cell's loader profile names."""
        assert cell.loader is not None, "engine() needs a loader cell"
        name = cell.loader.engine
        # Asked twice per loader cell of every image: found once per engine name.
        found = self._engine_by_name.get(name)
        if found is None:
            from xenlint.replay.engines import builtin_engine

            if self._engines is not None and name in self._engines:
                found = self._engines[name]
            else:
                found = builtin_engine(name)
            self._engine_by_name[name] = found
        return found

    def loader(self, cell: Cell) -> Reading:
        """The cell's loader's reading of the image (cached per loader profile)."""
        reading = self._readings.get(cell.profile.name)
        if reading is not None:
            return reading
        from xenlint.replay import pvh as pvhload

        assert cell.loader is not None, "loader() needs a loader cell"
        name = cell.profile.name
        if name not in self._readings:
            self._readings[name] = pvhload.read(self.image, cell.loader, self.engine(cell))
        return self._readings[name]

    def parsed_cells(self) -> Iterator[tuple[Cell, XenParse]]:
        """(cell, Xen's parse) for the Xen cells whose libelf parse reaches the address
        checks: the release boots the mode, no FEATURES name failed the parse, and Xen found
        notes or __xen_guest, or the machine is not x86 (elf_xen_note_check lets a non-x86
        image without notes through to the address checks; an x86 one is XL001's)."""
        if self._parsed_cells is None:  # a dozen rules ask, each for every cell
            pairs = []
            for cell in self.xen_cells:
                if cell.mode not in cell.profile.modes:
                    continue
                parse = self.xen(cell)
                if (parse.source is not None or not self.image.is_x86) and not parse.failed:
                    pairs.append((cell, parse))
            self._parsed_cells = pairs
        return iter(self._parsed_cells)

    def location(self, note: Note | None) -> Location | None:
        """Where a parsed value came from: its note, or `__xen_guest` when note is None."""
        # Rules ask for every cell they report: one Location per note (kept with the note,
        # so no other note takes its id while the entry lives).
        hit = self._locations.get(id(note))
        if hit is not None and hit[0] is note:
            return hit[1]
        if note is not None:
            found: Location | None = Location.of_note(note)
        else:
            guest = self.image.xen_guest
            found = Location.of_xen_guest(guest) if guest is not None else None
        self._locations[id(note)] = (note, found)
        return found

    def xen(self, cell: Cell) -> XenParse:
        """Xen's reading of the notes for this cell (cached)."""
        # Rules ask for the parse of each cell, rule after rule (hundreds of calls per
        # image): the cells they pass are ctx.cells' own, so an identity lookup answers first.
        hit = self._by_cell.get(id(cell))
        if hit is not None and hit[0] is cell:
            return hit[1]
        if "xen_pairs" not in self.__dict__:  # the first ask parses every Xen cell at once
            self.xen_pairs  # noqa: B018
            hit = self._by_cell.get(id(cell))
            if hit is not None and hit[0] is cell:
                return hit[1]
        return self._parse((cell,))[0]

    def _parse(self, cells: Iterable[Cell]) -> list[XenParse]:
        """The parses of cells that are not ctx.cells' own objects (equal ones get the same
        parse as theirs)."""
        from xenlint.replay import xen as xenparse

        if not self._parses:
            self._parses = {(c.profile.name, id(c.mode)): p for c, p in self.xen_pairs}
        found = []
        for cell in cells:
            assert cell.xen is not None, "xen() needs a Xen cell"
            key = (cell.profile.name, id(cell.mode))  # an Enum hashes in Python
            parse = self._parses.get(key)
            if parse is None:
                # Cells whose releases read notes alike share one parse (the lists in it
                # too); each cell gets its own shell naming its release and mode.
                same = xenparse.parse_key(cell.xen, cell.mode)
                shared = self._shared_parses.get(same)
                if shared is None:
                    index = self._index()
                    # ... and so do releases whose keys differ only in what this image
                    # lacks (note types, feature names): a dozen keys, a few parses.
                    alike = index.parse_key(cell.xen, cell.mode)
                    shared = self._image_parses.get(alike)
                    if shared is None:
                        shared = xenparse.parse(self.image, cell.xen, cell.mode, index)
                        self._image_parses[alike] = shared
                    self._shared_parses[same] = shared
                parse = self._parses[key] = shared.for_cell(cell.xen, cell.mode)
            self._by_cell[id(cell)] = (cell, parse)  # the cell is kept: its id stays its own
            found.append(parse)
        return found


# Which Xen cells share a parse depends on the image only through NoteIndex.signature: worked
# out once per run's cells and signature (a directory of thousands of kernels has a handful),
# not per image (a NoteIndex.parse_key per release and mode). By the id of the context's cells
# (a run passes one tuple per kind of image); the entry keeps them, so the id stays theirs.
_Plan = tuple[
    tuple[Cell, ...],  # the context's cells
    tuple[
        tuple[tuple[object, ...], XenRelease, Mode], ...
    ],  # per distinct parse: key, release, mode
    tuple[int, ...],  # per Xen cell (in order): its distinct parse
]
_PLANS: dict[tuple[int, tuple[object, ...]], _Plan] = {}


def _parse_plan(all_cells: tuple[Cell, ...], cells: tuple[Cell, ...], index: NoteIndex) -> _Plan:
    """Which of the Xen `cells` (those of `all_cells`) share a parse on images like `index`'s:
    the first cell of each group is the one parsed."""
    key = (id(all_cells), index.signature)
    plan = _PLANS.get(key)
    if plan is None or plan[0] is not all_cells:
        firsts: dict[tuple[object, ...], int] = {}
        parses: list[tuple[tuple[object, ...], XenRelease, Mode]] = []
        groups = []
        for cell in cells:
            assert cell.xen is not None
            alike = index.parse_key(cell.xen, cell.mode)
            group = firsts.get(alike)
            if group is None:
                group = firsts[alike] = len(parses)
                parses.append((alike, cell.xen, cell.mode))
            groups.append(group)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        plan = _PLANS[key] = (all_cells, tuple(parses), tuple(groups))
    return plan


class Rule:
    """Subclass and set the class attributes; `check` yields Results."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    explanation: ClassVar[str]  # why it matters, what each target does
    fix: ClassVar[str]  # how to fix it, in general terms
    # False for informational rules that run only when selected by code, prefix or name
    # (flake8's off_by_default); a default selection leaves them out.
    default_enabled: ClassVar[bool] = True
    # True when what the rule says of a Xen cell depends on its release only through the
    # release's behaviour (every XenRelease field but its name, version, note, covers_later
    # and before) and on the cell's mode, not on which other cells there are. The engine then
    # judges one cell for each run of alike releases (xen-4.11 to 4.15 behave alike) and
    # gives its results to all of them (xenlint.engine.check.alike_cells): the same findings
    # for a third of the rule's per-cell work. xenlint's own rules declare it.
    judges_behaviour: ClassVar[bool] = False

    def check(self, ctx: Context) -> Iterator[Result]:
        raise NotImplementedError
        yield  # pragma: no cover

    def __repr__(self) -> str:
        return f"<rule {self.code} {self.name}>"


K = TypeVar("K")  # a per-cell verdict, for group_cells


def group_cells(pairs: Iterable[tuple[Cell, K | None]]) -> dict[K, tuple[Cell, ...]]:
    """Group cells by a key computed per cell (None: the cell is left out), keeping cell
    order; rules use it to turn per-cell verdicts into one Result per distinct verdict."""
    groups: dict[K, list[Cell]] = {}
    for cell, key in pairs:
        if key is not None:
            groups.setdefault(key, []).append(cell)
    return {k: tuple(v) for k, v in groups.items()}
