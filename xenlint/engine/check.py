"""Run the selected rules over one image and turn their per-cell results into findings."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from xenlint.abi import notes as N
from xenlint.abi.profile import MODE_ORDER, Mode, Profile
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.engine.targets import collapse
from xenlint.errors import XenlintError
from xenlint.escape import escape
from xenlint.image.model import Image, ImageError
from xenlint.record import Frozen, replace
from xenlint.replay.engines import LoaderEngine

UNREADABLE = "XL000"
# A real kernel has a few dozen notes, so a rule yields at most a few hundred results on it.
# A hostile image with 65536 notes (libelf's own cap) would make a per-note rule yield
# millions across all cells; past this many results the rule's output is cut short. (5,000
# made 12,000 lines of a CI log from one hostile image, and a fifth of its check's time.)
MAX_RESULTS_PER_RULE = 2000


class Finding(Frozen):
    __slots__ = (
        "cells",
        "code",
        "fix",
        "location",
        "message",
        "modes",
        "name",
        "path",
        "severity",
        "targets",
    )

    path: str
    code: str
    name: str
    severity: Severity
    message: str
    targets: tuple[str, ...]  # target names, collapsed into ranges for display by reporters
    modes: tuple[str, ...]
    location: Location | None
    fix: str
    cells: tuple[Cell, ...]

    def __init__(
        self,
        path: str,
        code: str,
        name: str,
        severity: Severity,
        message: str,
        targets: tuple[str, ...],
        modes: tuple[str, ...],
        location: Location | None,
        fix: str,
        cells: tuple[Cell, ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "code", code)
        set_(self, "name", name)
        set_(self, "severity", severity)
        set_(self, "message", message)
        set_(self, "targets", targets)
        set_(self, "modes", modes)
        set_(self, "location", location)
        set_(self, "fix", fix)
        set_(self, "cells", cells)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "message": self.message,
            "targets": list(self.targets),
            "modes": list(self.modes),
            "location": self.location.as_dict() if self.location else None,
            "fix": self.fix,
        }


class RuleTimeout(XenlintError):
    """A rule ran past its time limit (raised inside it by a timer signal)."""


# Seconds one rule may take on one image before it is stopped (config: rule-time-limit).
# Built-in rules take milliseconds even on hostile images; this stops a plugin that hangs.
DEFAULT_RULE_TIME_LIMIT = 10.0


def declared_modes(image: Image) -> tuple[Mode, ...]:
    """The domU modes an image declares (`auto`): PVH with PHYS32_ENTRY; PV with PV notes,
    `__xen_guest`, or no PHYS32_ENTRY at all."""
    pvh = image.has_note(N.PHYS32_ENTRY)
    pv_notes = any(image.has_note(t) for t in N.PV_DECLARING) or image.xen_guest is not None
    modes = []
    if pv_notes or not pvh:
        modes.append(Mode.PV)
    if pvh:
        modes.append(Mode.PVH)
    return tuple(modes)


def cells_for(
    image: Image, profiles: Sequence[Profile], modes: Sequence[Mode] | None
) -> list[Cell]:
    """Named modes are checked on every target; `auto` checks the declared modes on the
    targets that have them, and all of them on a target that has none."""
    cells: list[Cell] = []
    wanted = tuple(modes) if modes else declared_modes(image)
    for profile in profiles:
        if profile.fixed_modes:
            chosen = [m for m in profile.modes if not modes or m in modes]
        else:
            chosen = [m for m in wanted if modes or m in profile.modes] or list(wanted)
        cells.extend(_cell(profile, m) for m in MODE_ORDER if m in chosen)
    return cells


# A Cell is a value: one object per profile and mode serves every image of a run (a directory
# of thousands of images would build some forty per image).
# By the ids of the profile and the mode (an Enum hashes in Python, and a Mode lives as long as
# its class).
_CELLS: dict[tuple[int, int], Cell] = {}


def _cell(profile: Profile, mode: Mode) -> Cell:
    cell = _CELLS.get((id(profile), id(mode)))
    if cell is None or cell.profile is not profile:  # the cell keeps its profile, and its id
        if len(_CELLS) > 4096:
            _CELLS.clear()
        cell = _CELLS[(id(profile), id(mode))] = Cell(profile, mode)
    return cell


def run_rules(
    image: Image,
    rules: Iterable[Rule],
    cells: Sequence[Cell],
    universe: Sequence[Profile],
    severity: dict[str, Severity] | None = None,
    engines: Mapping[str, LoaderEngine] | None = None,
    options: Mapping[str, Mapping[str, object]] | None = None,
    *,
    time_limit: float | None = None,
    disabled: set[str] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Findings for one image, plus one-line errors for rules that misbehaved: raised (even
    SystemExit), yielded something that is no well-formed Result, or ran past `time_limit`
    seconds (None, the default for library callers such as the fuzz harness, sets no timer
    signal; the CLI passes rule-time-limit). Such a rule's results on the image are left out
    and its code is added to `disabled`, whose rules are not run (pass one set for a whole
    run: a broken plugin rule is reported once, not once per image). Rule code writes to
    standard error, never into a report on standard output. `engines`: the registered
    loader replay engines (None: the built-in ones). `options` maps rule codes to what
    `ctx.options` holds while that rule runs (its plugin's options)."""
    ctx = Context(image, cells, engines)
    # Rules that judge a release by its behaviour (Rule.judges_behaviour) see one cell per
    # run of alike releases; their results are given to every cell of the run. Not on an
    # image with hundreds of notes or note problems (a real kernel has a few dozen): there
    # rules pass the result cap, and running them again on every cell would cost more than
    # the joining saves.
    reduced, fan = alike_cells(ctx.cells)
    if fan is not None and len(image.notes) + len(image.problems) > _BUSY_NOTES:
        fan = None
    small = ctx if fan is None else ctx.alike(reduced)
    findings: list[Finding] = []
    errors: list[str] = []
    disabled = set() if disabled is None else disabled
    no_options: Mapping[str, object] = MappingProxyType({})
    # Once per image, not once per rule: a directory of thousands of small images runs 44
    # rules on each, and swapping the signal handler and sys.stdout per rule cost more than
    # most rules do.
    options = options or {}
    with contextlib.redirect_stdout(sys.stderr), _TimeLimit(time_limit) as timer:
        for rule in rules:
            if rule.code in disabled:
                continue
            by_behaviour = fan is not None and rule.judges_behaviour
            ran = _run_one(
                small if by_behaviour else ctx,
                rule,
                timer,
                errors,
                disabled,
                options.get(rule.code, no_options),
                ctx if by_behaviour else None,
                fan,
            )
            if ran is not None and ran[0]:  # most rules find nothing on most images
                found, fanned = ran
                findings.extend(merge(image.path, rule, found, universe, severity or {}, fanned))
    findings.sort(key=_order)
    return findings, errors


# The cells of a run, by the id of their tuple (kept in the entry, so the id stays theirs):
# (the tuple, one cell per run of alike releases, each such cell's id -> the cells it stands
# for, None when no two cells are alike).
_Fan = dict[int, tuple[Cell, ...]]
_ALIKE: dict[int, tuple[tuple[Cell, ...], tuple[Cell, ...], _Fan | None]] = {}
# Notes and note problems past which an image is judged cell by cell (see run_rules).
_BUSY_NOTES = 512
# The profile fields that tell alike releases apart without changing what they do.
_NAMING_FIELDS = frozenset({"name", "version", "note", "covers_later", "before"})


def alike_cells(cells: tuple[Cell, ...]) -> tuple[tuple[Cell, ...], _Fan | None]:
    """`cells` with one cell per run of alike releases in each mode, and for each cell kept
    the cells it stands for (itself first), by its id; None when no two are alike. Alike:
    Xen releases judged in the same modes whose fields differ only in naming
    (_NAMING_FIELDS) or, in each of those modes, in fields that describe other modes
    (xenlint.abi.xen.MODE_SCOPED_FIELDS), next to each other in the order of the cells'
    profiles. Only neighbours are joined, and only in all their modes at once: a finding
    lists its targets in the order they first appear among its cells, and each target's
    cells in mode order, and a rule's results on the kept cells, given to their neighbours,
    then name them in the same order as results on each cell would."""
    hit = _ALIKE.get(id(cells))
    if hit is not None and hit[0] is cells:
        return hit[1], hit[2]
    modes_of: dict[int, list[Mode]] = {}  # id(profile) -> its cells' modes, in cell order
    profiles: dict[int, object] = {}
    for cell in cells:
        profiles.setdefault(id(cell.profile), cell.profile)
        modes_of.setdefault(id(cell.profile), []).append(cell.mode)
    leader: dict[int, object] = {}  # id(profile) -> the first profile of its run
    previous: object = None
    previous_key: tuple[object, ...] | None = None
    for pid, profile in profiles.items():
        parts = [_behaviour(profile, mode) for mode in modes_of[pid]]
        key = None if None in parts else (tuple(modes_of[pid]), *parts)
        if key is not None and key == previous_key:
            leader[pid] = leader[id(previous)]
        else:
            leader[pid] = profile
        previous, previous_key = profile, key
    kept: list[Cell] = []
    stands: dict[tuple[int, int], list[Cell]] = {}  # (id of the run's profile, id of mode)
    for cell in cells:
        run_key = (id(leader[id(cell.profile)]), id(cell.mode))
        run = stands.get(run_key)
        if run is None:
            stands[run_key] = [cell]
            kept.append(cell)
        else:
            run.append(cell)
    fan: _Fan | None = None
    if len(kept) < len(cells):
        fan = {id(run[0]): tuple(run) for run in stands.values() if len(run) > 1}
    if len(_ALIKE) > 256:
        _ALIKE.clear()
    _ALIKE[id(cells)] = (cells, tuple(kept), fan)
    return tuple(kept), fan


def _behaviour(profile: object, mode: Mode) -> tuple[object, ...] | None:
    """What a Xen release does in `mode` (None for another kind of profile): its fields but
    the naming ones and those that describe other modes."""
    from xenlint.abi.xen import MODE_SCOPED_FIELDS, XenRelease

    if not isinstance(profile, XenRelease):
        return None
    return tuple(
        getattr(profile, f)
        for f in profile._fields
        if f not in _NAMING_FIELDS
        and (f not in MODE_SCOPED_FIELDS or mode in MODE_SCOPED_FIELDS[f])
    )


def _run_one(
    ctx: Context,
    rule: Rule,
    timer: _TimeLimit,
    errors: list[str],
    disabled: set[str],
    options: Mapping[str, object],
    whole: Context | None = None,
    fan: _Fan | None = None,
) -> tuple[list[Result], _Fan | None] | None:
    """The rule's results on ctx.image, and the fan that gives them to the cells each
    stands for (None: they name their own cells); None when the rule misbehaved (then
    `errors` says how and its code is added to `disabled`). With `whole`, ctx holds one cell
    per run of alike releases and `fan` says which cells each stands for; should the results
    stand for more than a rule may yield, the rule is run again on `whole`, every cell, so it
    is cut where it would have been."""
    image = ctx.image
    time_limit = timer.seconds
    # Inline, not timer.start()/stop(): this runs for every rule on every image.
    usable = timer.usable
    ctx.options = options
    try:
        try:
            if usable:
                timer.started = _monotonic()
            if whole is None:
                fan = None
                results = list(itertools.islice(rule.check(ctx), MAX_RESULTS_PER_RULE + 1))
            else:
                assert fan is not None
                results = []
                weight = 0  # what the results stand for: at least as many as on every cell
                for res in rule.check(ctx):
                    results.append(res)
                    weight += _weight(res, fan)
                    if weight > MAX_RESULTS_PER_RULE:
                        break
                if weight > MAX_RESULTS_PER_RULE:
                    ctx = whole
                    ctx.options = options
                    fan = None
                    results = list(itertools.islice(rule.check(ctx), MAX_RESULTS_PER_RULE + 1))
        finally:
            timer.started = None
        if results:  # most rules find nothing on most images
            checked: set[int] = set()  # ids of cell tuples found well-formed (shared)
            for res in results:
                problem = _malformed(res, checked)
                if problem:
                    raise MalformedResult(problem)
    except RuleTimeout:
        disabled.add(rule.code)
        errors.append(
            escape(
                f"rule {rule.code} ({rule.name}) ran for more than {time_limit:g} s on "
                f"{image.path} and was stopped (rule-time-limit); it is disabled"
            )
        )
        return None
    except (Exception, SystemExit) as exc:  # a plugin bug must not hide other findings
        disabled.add(rule.code)
        errors.append(
            escape(
                f"rule {rule.code} ({rule.name}) failed on {image.path}: "
                f"{type(exc).__name__}: {_short(exc)}; it is disabled"
            )
        )
        return None
    if len(results) > MAX_RESULTS_PER_RULE:
        results[-1] = Result(
            ctx.cells,
            f"more than {MAX_RESULTS_PER_RULE} results for this image; the rest are not "
            "reported (an image this broken is probably not a kernel)",
            severity=Severity.INFO,
        )
    if image.origin:
        results = [_with_origin(res, image.origin) for res in results]
    return results, fan


def _weight(res: Result, fan: _Fan) -> int:
    """How many results on every cell one result on alike cells can stand for: one per cell
    it names there, at least one."""
    try:
        return sum(len(fan.get(id(cell), ())) or 1 for cell in res.cells) or 1
    except (AttributeError, TypeError):  # no Result, or no cells: checked below
        return 1


_monotonic = time.monotonic


class MalformedResult(XenlintError):
    """A rule yielded something that is not a well-formed Result."""


def _malformed(res: object, checked: set[int]) -> str | None:
    """Why `res` is no Result xenlint can report (a plugin's rule may yield anything).
    `checked` holds the ids of cell tuples and locations already found well-formed (kept
    alive by the results that hold them), so 2000 results over one tuple of 100 cells check
    it once."""
    if not isinstance(res, Result):
        return f"it yielded {_short(res)}, not a Result"
    cells = res.cells
    if id(cells) not in checked:
        if not isinstance(cells, tuple) or not all(isinstance(c, Cell) for c in cells):
            return f"a Result's cells are {_short(cells)}, not a tuple of Cells"
        checked.add(id(cells))
    if not isinstance(res.message, str):
        return f"a Result's message is {_short(res.message)}, not a string"
    if res.severity is not None and not isinstance(res.severity, Severity):
        return f"a Result's severity is {_short(res.severity)}, not a Severity"
    if res.fix is not None and not isinstance(res.fix, str):
        return f"a Result's fix is {_short(res.fix)}, not a string"
    loc = res.location
    if loc is None or id(loc) in checked:  # results may share a Location, as cells
        return None
    if not isinstance(loc, Location):
        return f"a Result's location is {_short(loc)}, not a Location"
    for key in ("offset", "length"):
        value = getattr(loc, key)
        if value is not None and (type(value) is not int or value < 0):
            return f"a Result's location {key} is {_short(value)}, not a non-negative int"
    for key in ("note", "container", "origin"):
        value = getattr(loc, key)
        if value is not None and not isinstance(value, str):
            return f"a Result's location {key} is {_short(value)}, not a string"
    checked.add(id(loc))
    return None


def _short(value: object, limit: int = 80) -> str:
    try:
        text = repr(value) if not isinstance(value, BaseException) else str(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _TimeLimit:
    """Raise RuleTimeout in the running rule once it has run `seconds` (a real-time timer
    signal; only where there is one and this is the main thread, else no limit).

    One timer serves every rule of an image: entering installs the signal handler and arms
    the timer, `start`/`stop` only note when the running rule began (two `setitimer` calls
    per rule were 86 system calls per image, some 7 % of a directory check's CPU). The timer
    always fires at or before the running rule's deadline (started + seconds): then the
    handler raises if the deadline has passed, else re-arms for what is left of it (or for
    `seconds` between rules; a rule started later has a later deadline)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.usable = (
            seconds is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self.previous: object = None
        self.started: float | None = None  # time.monotonic() at the running rule's start

    def __enter__(self) -> _TimeLimit:
        if self.usable:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)  # type: ignore[arg-type]
            _Watchdog.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.started = None
            _Watchdog.timer = None
            previous = self.previous
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)  # type: ignore[arg-type]

    def start(self) -> None:
        if self.usable:
            self.started = time.monotonic()

    def stop(self) -> None:
        self.started = None

    def _expire(self, signum: int, frame: object) -> None:
        seconds = self.seconds
        assert seconds is not None
        started = self.started
        left = seconds if started is None else started + seconds - time.monotonic()
        # Re-armed before raising too: the rules after a stopped one keep their limit.
        # (setitimer rounds a positive value up to a microsecond, never to 0, which would
        # disarm it.)
        signal.setitimer(signal.ITIMER_REAL, left if left > 0 else seconds)
        if left <= 0:
            raise RuleTimeout()


class _Watchdog:
    """The timer signal is only seen between Python bytecodes: a rule stuck inside C code (a
    regex, a C-level loop) never sees it. One daemon thread ends the run with one line once
    a rule has run for twice its limit, rather than hang.

    That thread needs the GIL, which C code may hold for good (`sum(range(10**15))` in a
    plugin rule hung xenlint), so while rules run faulthandler's timeout is armed too: its
    own thread needs no GIL, and each tick of ours pushes it on. If our ticks stop, it ends
    the process a second after we would have (exit status 1, the stuck thread's stack on
    stderr, which names the plugin's file and line). The first image arms it before its
    rules start; our thread disarms it when no rules run (a blocked write of the report
    must not end the run) and the next image arms it again."""

    timer: _TimeLimit | None = None  # the image's timer, whose `started` the thread reads
    thread: threading.Thread | None = None
    armed = False  # faulthandler's timeout is set
    # Held while `timer` and `armed` are read and changed together: the thread must not
    # disarm right after the next image found the timeout still armed.
    lock = threading.Lock()

    @classmethod
    def watch(cls, timer: _TimeLimit) -> None:
        """Watch the rules `timer` times (their start times, not a deadline set per rule:
        a directory check runs thousands of rules)."""
        with cls.lock:
            cls.timer = timer
            if not cls.armed and timer.seconds is not None:
                cls.armed = _arm(2 * timer.seconds + 1)
        if cls.thread is None:
            cls.thread = threading.Thread(target=cls._watch, name="xenlint-watchdog", daemon=True)
            cls.thread.start()

    @classmethod
    def _watch(cls) -> None:
        import faulthandler

        while True:
            time.sleep(0.25)
            with cls.lock:
                timer = cls.timer
                if timer is None or timer.seconds is None:
                    if cls.armed:
                        faulthandler.cancel_dump_traceback_later()
                        cls.armed = False
                    continue
                limit = 2 * timer.seconds
                cls.armed = _arm(limit + 1)
            started = timer.started
            if started is not None and time.monotonic() > started + limit:
                sys.stderr.write(
                    f"xenlint: error: a rule ran for more than {limit:g} s and could not "
                    "be stopped (rule-time-limit); xenlint gives up\n"
                )
                sys.stderr.flush()
                os._exit(2)


def _arm(seconds: float) -> bool:
    """(Re)arm faulthandler's timeout to end the process in `seconds`, writing to file
    descriptor 2 (sys.stderr may be an object without one, as under pytest's capture).
    Whether it is armed."""
    import faulthandler

    try:
        faulthandler.dump_traceback_later(seconds, exit=True, file=2)
    except (OSError, ValueError, RuntimeError):  # no usable stderr: the watchdog alone
        return False
    return True


def _order(f: Finding) -> tuple[int, str, int]:
    """Most severe first, then by code, then by file offset (findings without one first)."""
    offset = f.location.offset if f.location is not None else None
    return (-f.severity, f.code, -1 if offset is None else offset)


def _with_origin(res: Result, origin: str) -> Result:
    """Findings on a wrapped image say where its ELF came from (offsets are in that ELF)."""
    if res.location is not None and res.location.origin == origin:
        return res
    return replace(res, location=replace(res.location or Location(), origin=origin))


def merge(
    path: str,
    rule: Rule,
    results: Iterable[Result],
    universe: Sequence[Profile],
    overrides: dict[str, Severity],
    fan: _Fan | None = None,
) -> list[Finding]:
    """Merge equal results across cells; split so each finding's targets × modes is exact.
    `fan` (alike_cells): each result's cells stand for these cells, by id."""
    # By (message, id of the escaped location, severity, fix); the location kept beside.
    groups: dict[tuple[str, int, Severity, str], tuple[Location | None, list[Cell]]] = {}
    seen: dict[tuple[str, int, Severity, str], set[tuple[str, str]]] = {}
    # A rule's results share a few tuples of cells (2000 results over the same 30 cells):
    # each tuple's cells, deduplicated by name, are worked out once (the results keep the
    # tuples alive, so an id names one). It often yields the same message and fix for cell
    # after cell: each distinct text is escaped once.
    unique_of: dict[int, tuple[list[Cell], list[tuple[str, str]]]] = {}
    messages: dict[str, str] = {}
    fixes: dict[str, str] = {}
    # Results share Location objects (one per note, Context.location): each is escaped once,
    # and equal escaped locations become one object, so the group key holds its id instead
    # of hashing a Location (Python code) for every result.
    located: dict[int, Location | None] = {id(None): None}
    canonical: dict[Location, Location] = {}
    kept = list(results)
    for res in kept:
        default = res.severity if res.severity is not None else rule.severity
        sev = overrides.get(rule.code, default)
        fix = res.fix or rule.fix
        escaped_fix = fixes.get(fix)
        if escaped_fix is None:
            escaped_fix = fixes[fix] = escape(fix, newlines=True)
        # Messages quote note strings, owner and section names: escaped here, once for every
        # rule and output (xenlint.escape), so no image byte steers a terminal or a CI log.
        message = messages.get(res.message)
        if message is None:
            message = messages[res.message] = escape(res.message)
        loc = res.location
        where = located.get(id(loc), _UNSEEN)  # `kept` holds every result: ids stay theirs
        if where is _UNSEEN:
            escaped = _escaped(loc)  # not None: None is in `located` from the start
            where = located[id(loc)] = escaped and canonical.setdefault(escaped, escaped)
        key = (message, id(where), sev, escaped_fix)
        named = res.cells
        # A result per cell is the usual shape of many results: each (cell,) is a tuple of
        # its own, so those are known by their cell (alive in ctx.cells), the rest by the id
        # of their tuple (alive in `kept`).
        by = id(named[0]) if len(named) == 1 else id(named)
        unique = unique_of.get(by)
        if unique is None:
            if fan is not None:  # each cell stands for its run of alike cells
                named = tuple([c for cell in named for c in fan.get(id(cell), (cell,))])
            unique = unique_of[by] = _unique_cells(named)
        group = groups.get(key)
        if group is None:  # the usual case: a message of its own
            groups[key] = (where, list(unique[0]))
            seen[key] = set(unique[1])
            continue
        cells = group[1]
        known = seen[key]
        for cell, name in zip(*unique, strict=True):
            if name not in known:
                known.add(name)
                cells.append(cell)
    findings = []
    for (message, _, sev, fix), (location, cells) in groups.items():
        for targets, modes, bucket in _split_once(cells):
            findings.append(
                Finding(
                    path=path,
                    code=rule.code,
                    name=rule.name,
                    severity=sev,
                    message=message,
                    targets=targets,
                    modes=modes,
                    location=location,
                    fix=fix,
                    cells=bucket,
                )
            )
    return findings


_UNSEEN = Location()  # no result's location is this object


def _unique_cells(cells: tuple[Cell, ...]) -> tuple[list[Cell], list[tuple[str, str]]]:
    """The cells without repeats, and their (profile name, mode value) names: compared by
    name (str hashes are cached; an Enum's __hash__ is Python code), as comparing whole
    Cells compares every profile field."""
    if len(cells) == 1:  # a result per cell, the usual shape of a rule's many results
        (cell,) = cells
        return [cell], [cell.key]
    unique: dict[tuple[str, str], Cell] = {}
    for cell in cells:
        unique.setdefault(cell.key, cell)
    return list(unique.values()), list(unique)


_Split = list[tuple[tuple[str, ...], tuple[str, ...], tuple[Cell, ...]]]
# Each distinct list of cells, split once: 2000 results of a rule often cover the same cells,
# and image after image of a directory yields the same lists (cells_for reuses its Cells).
# By the cells' ids; the entry keeps the cells, so no other cell takes an id while it lives.
_SPLITS: dict[tuple[int, ...], tuple[list[Cell], _Split]] = {}


def _split_once(cells: list[Cell]) -> _Split:
    ids = tuple(map(id, cells))
    hit = _SPLITS.get(ids)
    if hit is None:
        if len(_SPLITS) > 4096:
            _SPLITS.clear()
        hit = _SPLITS[ids] = (cells, _split(cells))
    return hit[1]


def _split(cells: list[Cell]) -> _Split:
    """(target names, mode values, cells) per group of targets judged in the same modes."""
    by_profile: dict[str, list[Cell]] = {}
    for cell in cells:
        by_profile.setdefault(cell.profile.name, []).append(cell)
    buckets: dict[tuple[Mode, ...], list[Cell]] = {}
    for profile_cells in by_profile.values():
        present = {c.mode.value for c in profile_cells}
        modes = tuple(m for m in MODE_ORDER if m.value in present)
        buckets.setdefault(modes, []).extend(profile_cells)
    out = []
    for modes, bucket in buckets.items():
        targets = tuple({c.profile.name: None for c in bucket})
        out.append((targets, tuple(m.value for m in modes), tuple(bucket)))
    return out


def _escaped(location: Location | None) -> Location | None:
    """The location with its image-given texts (section names) escaped."""
    if location is None:
        return None
    container = escape(location.container) if location.container else location.container
    origin = escape(location.origin) if location.origin else location.origin
    if container == location.container and origin == location.origin:
        return location  # the usual case: nothing to escape, no copy
    return replace(location, container=container, origin=origin)


def unreadable(
    path: str, error: ImageError, rule: Rule | None, severity: Severity | None = None
) -> Finding:
    """The XL000 finding for a file that could not be read as an image (`error` says why).

    `rule` is the registered XL000 rule (None when its plugin is not loaded: an unread file is
    still reported, as an error); `severity` is the configured override, if any."""
    if severity is None:  # not `or`: Severity.INFO is 0
        severity = rule.severity if rule else Severity.ERROR
    return Finding(
        path=path,
        code=UNREADABLE,
        name=rule.name if rule else "image-unreadable",
        severity=severity,
        message=escape(str(error)),
        targets=(),
        modes=(),
        location=None,
        fix=rule.fix if rule else "",
    )


def target_label(finding: Finding, universe: Sequence[Profile]) -> str:
    """'xen-4.0–4.3; pv, pvh' for text output."""
    # Every output format labels every finding against the same universe: its names are
    # worked out once (the universe is kept, so its identity cannot be reused), not once per
    # finding over some 60 profiles.
    memo = _UNIVERSES.get(id(universe))
    if memo is None or memo[0] is not universe or memo[1] != len(universe):
        if len(_UNIVERSES) > 16:
            _UNIVERSES.clear()
        memo = (universe, len(universe), tuple(p.name for p in universe))
        _UNIVERSES[id(universe)] = memo
    key = (finding.targets, memo[2])
    names = _LABELS.get(key)
    if names is None:  # thousands of findings share a handful of target lists
        chosen = [p for p in universe if p.name in finding.targets]
        names = _LABELS[key] = ", ".join(collapse(chosen, universe))
        if len(_LABELS) > 4096:
            _LABELS.clear()
    return f"{names}; {', '.join(finding.modes)}" if finding.modes else names


_LABELS: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
# id -> (the universe, its length, its profile names)
_UNIVERSES: dict[int, tuple[Sequence[Profile], int, tuple[str, ...]]] = {}
