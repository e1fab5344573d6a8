"""Find entry points of one group without importing `importlib.metadata`.

Why: importing importlib.metadata pulls in email, zipfile, csv, socket and more, about 16 ms,
a third of xenlint's start-up on a small kernel. This reads the same files it reads, the
way the PyPA entry-points specification lays them out: `entry_points.txt` (INI format) in
each `*.dist-info` or `*.egg-info` directory of each `sys.path` entry, the first
distribution of a (normalised) name winning. The metadata file is read, for the name and
version shown to users, only for the distributions that have an entry point in the group.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any, NamedTuple

_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint(NamedTuple):  # not a dataclass: those cost a millisecond each to define
    name: str
    value: str  # "module:attr.attr" or "module"
    group: str

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def find(group: str) -> list[tuple[EntryPoint, str, str]]:
    """(entry point, distribution name, version) for every entry point in `group`."""
    seen: set[str] = set()
    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip archive or a missing directory: no metadata directories
            continue
        for name in names:
            if not name.endswith(_SUFFIXES):
                continue
            key = _normalise(name.rsplit(".", 1)[0].split("-")[0])
            if key in seen:
                continue
            seen.add(key)
            directory = os.path.join(entry or ".", name)
            points = _section(_read(os.path.join(directory, "entry_points.txt")), group)
            if points:
                dist, version = _name_version(directory)
                found.extend((EntryPoint(n, v, group), dist, version) for n, v in points)
    return found


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines of INI section [group]."""
    if f"[{group}]" not in text:
        return []
    items, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            items.append((name.strip(), value.strip()))
    return items


def _name_version(directory: str) -> tuple[str, str]:
    """Name and Version from the core metadata headers (METADATA or PKG-INFO)."""
    meta = _read(os.path.join(directory, "METADATA")) or _read(os.path.join(directory, "PKG-INFO"))
    headers: dict[str, str] = {}
    for line in meta.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    stem = os.path.basename(directory).rsplit(".", 1)[0]
    fallback_name, _, fallback_version = stem.partition("-")
    return headers.get("name", fallback_name), headers.get("version", fallback_version or "?")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()
