"""Find the `xenlint` entry points, with a memo of the last scan.

`importlib.metadata` is the only reader of installed distributions: it finds every entry
point and reads each distribution's name and version (once per distribution: on Python
3.11 `ep.dist.name` re-parses the whole METADATA file on every access). A run's start-up
is otherwise dominated by that scan (importing `importlib.metadata` and the email parser,
parsing METADATA files that embed READMEs), so its result is kept in the user's cache
directory, keyed on everything it depends on: the interpreter, `sys.path`, the finders
that can report distributions, and for each `*.dist-info`/`*.egg-info` on `sys.path` its
name and the (mtime, size, inode) of its `entry_points.txt` and METADATA/PKG-INFO. Any
change there (a plugin installed, removed, upgraded, a different `PYTHONPATH`) makes the
key differ and the scan run again through `importlib.metadata`.

`XENLINT_NO_CACHE=1` turns the memo off (the scan then runs on every start); a cache
directory that cannot be written is silently not used.
"""

from __future__ import annotations

import marshal
import os
import sys
from importlib import import_module
from typing import Any

GROUP = "xenlint"
#: Set to a non-empty value other than 0 to scan the installed distributions on every run.
NO_CACHE_ENV = "XENLINT_NO_CACHE"
_FORMAT = 1  # bump when the memo's layout changes
_KEEP = 8  # keys remembered per interpreter


class EntryPoint:
    """One `xenlint` entry point as `importlib.metadata` reported it: `name`, `value`
    (`module[:attr]`), and the `module`/`attr` it parsed from the value (None when
    `importlib.metadata` could not parse it; `load()` then lets it raise its own error)."""

    __slots__ = ("attr", "module", "name", "value")

    def __init__(self, name: str, value: str, module: str | None, attr: str | None) -> None:
        self.name = name
        self.value = value
        self.module = module
        self.attr = attr

    def load(self) -> Any:
        """Import the module and follow the dotted attribute, as `EntryPoint.load()` does;
        raises what the import raises (ImportError, AttributeError, any error of the
        plugin's own code)."""
        if self.module is None:
            import importlib.metadata as md

            return md.EntryPoint(self.name, self.value, GROUP).load()
        obj = import_module(self.module)
        for attr in filter(None, (self.attr or "").split(".")):
            obj = getattr(obj, attr)
        return obj

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={GROUP!r})"


Found = list[tuple[EntryPoint, str, str]]


def entry_points() -> Found:
    """The `xenlint` entry points with their distribution's name and version ("?" when
    unknown), built-ins first, then by distribution and name so the order does not depend on
    sys.path. From the memo when nothing it depends on changed, else from a fresh scan."""
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return _records_to_found(_scan())
    key = _fingerprint()
    path = _memo_path()
    records = _read_memo(path, key) if path else None
    if records is None:
        records = _scan()
        if path:
            _write_memo(path, key, records)
    return _records_to_found(records)


def _records_to_found(records: list[tuple[str, str, Any, Any, str, str]]) -> Found:
    return [(EntryPoint(n, v, m, a), dist, ver) for n, v, m, a, dist, ver in records]


def _scan() -> list[tuple[str, str, Any, Any, str, str]]:
    """Ask importlib.metadata; one METADATA parse per distribution that has entry points."""
    import importlib.metadata as md

    seen: set[tuple[str, str]] = set()
    about: dict[int, tuple[str, str]] = {}
    found = []
    for ep in md.entry_points(group=GROUP):
        dist = ep.dist
        if id(dist) not in about:
            meta = dist.metadata if dist is not None else None
            about[id(dist)] = (
                (meta["Name"] if meta is not None else None) or "?",
                (meta["Version"] if meta is not None else None) or "?",
            )
        dist_name, version = about[id(dist)]
        if (dist_name, ep.name) in seen:
            continue
        seen.add((dist_name, ep.name))
        module: str | None
        attr: str | None
        try:
            module, attr = ep.module, ep.attr
        except Exception:  # a value importlib.metadata cannot parse; load() reports it
            module = attr = None
        found.append((ep.name, ep.value, module, attr, dist_name, version))
    found.sort(key=lambda item: (item[4] != "xenlint", item[4].lower(), item[0]))
    return found


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _fingerprint() -> tuple[Any, ...]:
    """Everything `importlib.metadata.entry_points()` depends on, cheaply: directory
    listings of sys.path and a few stats (no file is read)."""
    entries: list[Any] = []
    for entry in sys.path:
        where = entry or "."  # importlib.metadata reads '' as the current directory
        try:
            names = os.listdir(where)
        except OSError:  # a zip file (its own mtime) or a missing directory
            entries.append((entry, _stat(where)))
            continue
        infos: list[Any] = []
        is_egg = where.lower().endswith(".egg")
        for name in names:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")) or (is_egg and low == "egg-info"):
                base = os.path.join(where, name)
                eps = _stat(os.path.join(base, "entry_points.txt"))
                meta = None
                if eps is not None:
                    meta = _stat(os.path.join(base, "METADATA")) or _stat(
                        os.path.join(base, "PKG-INFO")
                    )
                infos.append((name, eps, meta))
        infos.sort()
        entries.append((entry, tuple(infos)))
    finders = tuple(
        f"{type(f).__module__}.{type(f).__qualname__}"
        for f in sys.meta_path
        if hasattr(f, "find_distributions")
    )
    return (_FORMAT, sys.version, sys.executable, finders, tuple(entries))


def _cache_dir() -> str | None:
    """The user's cache directory for xenlint (XDG on Unix, LOCALAPPDATA on Windows,
    ~/Library/Caches on macOS); never inside the project being linted."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    if not base or not os.path.isabs(base):
        return None
    return os.path.join(base, "xenlint")


def _memo_path() -> str | None:
    directory = _cache_dir()
    if directory is None:
        return None
    # One file per interpreter, so two virtual environments do not evict each other.
    from zlib import crc32

    tag = crc32(f"{sys.executable}\0{sys.prefix}\0{sys.version}".encode()) & 0xFFFFFFFF
    return os.path.join(directory, f"entry-points-{tag:08x}.marshal")


def _read_memo(path: str, key: tuple[Any, ...]) -> list[Any] | None:
    for stored_key, records in _load_memo(path):
        if stored_key == key:
            return records
    return None


def _load_memo(path: str) -> list[Any]:
    try:
        with open(path, "rb") as fh:
            memo = marshal.loads(fh.read())
    except Exception:  # missing, unreadable, truncated or from another Python: rescan
        return []
    if not isinstance(memo, list) or not all(
        isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], list) for item in memo
    ):
        return []
    return memo


def _write_memo(path: str, key: tuple[Any, ...], records: list[Any]) -> None:
    # A few keys are kept: `python -m xenlint` (the current directory is on sys.path) and
    # the `xenlint` script have different keys and must not evict each other on every run.
    memo = [(key, records)] + [item for item in _load_memo(path) if item[0] != key]
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps(memo[:_KEEP]))
        os.replace(tmp, path)  # atomic: a concurrent run reads the old or the new memo
    except OSError:  # read-only home, full disk: run without the memo
        from contextlib import suppress

        with suppress(OSError):
            os.unlink(tmp)
