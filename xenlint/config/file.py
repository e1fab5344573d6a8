"""Project configuration: `xenlint.toml` or `[tool.xenlint]` in `pyproject.toml`.

Found by walking up from the working directory (kernel builds are often out of tree, so not
from the image's directory). Keys are checked here for shape; codes and targets are checked
against the loaded plugins by `xenlint.selection`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from xenlint.errors import XenlintError
from xenlint.record import Record

if TYPE_CHECKING:
    # pathlib (with urllib.parse and ipaddress) is a sixth of a small run's start-up: it is
    # imported only once a config file is found or named.
    from pathlib import Path

FILES = ("xenlint.toml", ".xenlint.toml", "pyproject.toml")
KEYS = (
    "targets",
    "modes",
    "mode",
    "select",
    "ignore",
    "extend-select",
    "severity",
    "per-file-ignores",
    "paths",
    "max-decompressed-size",
    "plugins",
    "rule-time-limit",
)


class ConfigError(XenlintError):
    """A configuration problem, reported as one line naming the file and key."""


class Config(Record):
    __slots__ = (
        "extend_select",
        "ignore",
        "max_decompressed",
        "modes",
        "path",
        "paths",
        "per_file_ignores",
        "plugins",
        "rule_time_limit",
        "select",
        "severity",
        "targets",
    )

    path: Path | None
    targets: list[str] | None
    modes: list[str] | None
    select: list[str] | None
    ignore: list[str]
    extend_select: list[str]
    severity: dict[str, str]
    plugins: dict[str, dict[str, Any]]  # plugin -> its table
    per_file_ignores: dict[str, list[str]]
    paths: list[str]  # images to check when none are named
    max_decompressed: int | None  # bytes; None = the loader's default
    rule_time_limit: float | None  # seconds per rule and image; None = the default

    def __init__(
        self,
        path: Path | None = None,
        targets: list[str] | None = None,
        modes: list[str] | None = None,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        extend_select: list[str] | None = None,
        severity: dict[str, str] | None = None,
        plugins: dict[str, dict[str, Any]] | None = None,
        per_file_ignores: dict[str, list[str]] | None = None,
        paths: list[str] | None = None,
        max_decompressed: int | None = None,
        rule_time_limit: float | None = None,
    ) -> None:
        self.path = path
        self.targets = targets
        self.modes = modes
        self.select = select
        self.ignore = list() if ignore is None else ignore
        self.extend_select = list() if extend_select is None else extend_select
        self.severity = dict() if severity is None else severity
        self.plugins = dict() if plugins is None else plugins
        self.per_file_ignores = dict() if per_file_ignores is None else per_file_ignores
        self.paths = list() if paths is None else paths
        self.max_decompressed = max_decompressed
        self.rule_time_limit = rule_time_limit

    def resolved_paths(self) -> list[str]:
        """`paths` relative to the config file's directory (build outputs, for hooks), shown
        relative to the working directory when they are below it, as a path typed there is:
        the pre-commit hook and `xenlint build/vmlinux` then print the same lines."""
        if not self.paths:
            return []
        from pathlib import Path

        base = self.path.parent if self.path else Path.cwd()
        out = []
        for p in self.paths:
            path = Path(p) if Path(p).is_absolute() else base / p
            try:
                out.append(str(path.absolute().relative_to(Path.cwd())))
            except ValueError:
                out.append(str(path))
        return out

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "command line"


def find(start: str | os.PathLike[str]) -> Path | None:
    """The nearest config file at or above the absolute directory `start`; a pyproject.toml
    counts only with a [tool.xenlint] table. (Walked with os.path: most runs find none.)"""
    directory = os.fspath(start)
    while True:
        for name in FILES:
            candidate = os.path.join(directory, name)
            if not os.path.isfile(candidate):
                continue
            if name != "pyproject.toml" or _mentions_xenlint(candidate):
                from pathlib import Path

                return Path(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _mentions_xenlint(pyproject: str) -> bool:
    """Whether pyproject.toml has [tool.xenlint]; a byte search first spares parsing the
    TOML of every project that does not mention xenlint at all."""
    try:
        with open(pyproject, "rb") as fh:
            if b"xenlint" not in fh.read():
                return False
    except OSError:
        return False
    tool = _read(pyproject).get("tool", {})
    return isinstance(tool, dict) and "xenlint" in tool


def load(path: Path) -> Config:
    """The config in `path` (xenlint.toml keys at the top or under [tool.xenlint]; in a
    pyproject.toml only [tool.xenlint]). Raises ConfigError with one line naming the file and
    the key for anything wrong: missing, not a file, not UTF-8, not TOML, a wrong shape."""
    data = _read(path)
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table, not {_kind(tool)}")
    if path.name == "pyproject.toml":
        table = (tool or {}).get("xenlint")
        if table is None:
            raise ConfigError(f"{path}: no [tool.xenlint] table")
        prefix = "[tool.xenlint] "
    else:
        table = tool.get("xenlint", data) if tool is not None else data
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'tool.xenlint' must be a table, not {_kind(table)}")
    return from_table(table, path, prefix)


def _kind(value: object) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
        type(value), "an array" if isinstance(value, list) else f"a {type(value).__name__}"
    )


def from_table(table: dict[str, Any], path: Path | None, prefix: str = "") -> Config:
    import difflib

    where = f"{path}: {prefix}" if path else prefix
    for key in table:
        if key not in KEYS:
            hint = difflib.get_close_matches(key, KEYS, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}unknown key {key!r}{extra}")
    cfg = Config(path=path)
    cfg.targets = _list(table, "targets", where)
    modes = _list(table, "modes", where)
    mode = _list(table, "mode", where)
    if modes is not None and mode is not None:
        raise ConfigError(f"{where}give 'modes' or 'mode', not both")
    cfg.modes = modes if modes is not None else mode
    cfg.paths = _list(table, "paths", where) or []
    if "max-decompressed-size" in table:
        cfg.max_decompressed = parse_size(
            table["max-decompressed-size"], f"{where}max-decompressed-size"
        )
    if "rule-time-limit" in table:
        cfg.rule_time_limit = _seconds(table["rule-time-limit"], f"{where}rule-time-limit")
    cfg.select = _list(table, "select", where)
    cfg.ignore = _list(table, "ignore", where) or []
    cfg.extend_select = _list(table, "extend-select", where) or []
    cfg.severity = _table(table, "severity", where, str)
    # Checked against the plugins' declared options in xenlint.config.settings.
    cfg.plugins = _table(table, "plugins", where, dict)
    cfg.per_file_ignores = {
        glob: _as_list(codes, f"per-file-ignores.{glob!r}", where)
        for glob, codes in _table(table, "per-file-ignores", where, (list, str)).items()
    }
    return cfg


def _read(path: str | Path) -> dict[str, Any]:
    # Imported here: most runs find no config file and should not pay for the TOML parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    data = read_config_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "TOML files are UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


# A config is a few hundred bytes; a bigger one is not a config.
MAX_CONFIG_BYTES = 1 << 20


def read_config_bytes(path: str | Path) -> bytes:
    """The bytes of a config file. Any readable regular file will do, and the null device
    (`--config /dev/null`, an empty config); a directory, a FIFO (which would wait for a
    writer), another device or a socket is refused before it is opened."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as exc:
        what = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        raise ConfigError(f"config file {path}: {what}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"config file {path}: is a directory")
    if not stat.S_ISREG(info.st_mode):
        null = os.stat(os.devnull)
        if stat.S_ISCHR(info.st_mode) and info.st_rdev == null.st_rdev:
            return b""
        raise ConfigError(f"config file {path}: not a regular file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path}: {info.st_size} bytes is too large for a config")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat
                raise ConfigError(f"config file {path}: not a regular file")
            return os.read(fd, MAX_CONFIG_BYTES + 1)[:MAX_CONFIG_BYTES]
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None


def _seconds(value: object, where: str) -> float:
    """A positive, finite number of seconds."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {value!r} is not a number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where}: the time limit must be a positive number, not {value!r}")
    return float(value)


def _list(table: dict[str, Any], key: str, where: str) -> list[str] | None:
    if key not in table:
        return None
    return _as_list(table[key], key, where)


def _as_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}{key!r} must be a string or a list of strings")


def _table(table: dict[str, Any], key: str, where: str, kind: Any) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{key!r} must be a table")
    for k, v in value.items():
        if not isinstance(v, kind):
            raise ConfigError(f"{where}{key}.{k} has the wrong type ({type(v).__name__})")
    return value


def split_list(text: str) -> list[str]:
    """Comma-separated command-line lists ('XL2,XL401')."""
    return [part.strip() for part in text.split(",") if part.strip()]


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(value: object, where: str) -> int:
    """A byte count: an integer, or a string like '512M', '4G', '1.5G' (binary units, an
    optional 'iB'/'B' suffix)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        try:
            scaled = float(text[: len(text) - len(unit)]) * _UNITS[unit]
            number = int(scaled)  # 'inf', '1e400' overflow, 'nan' is no number
        except (ValueError, OverflowError):
            raise ConfigError(f"{where}: {value!r} is not a size (use bytes or 512M, 4G)") from None
    else:
        raise ConfigError(f"{where}: {value!r} is not a size (use bytes or 512M, 4G)")
    if number <= 0:
        raise ConfigError(f"{where}: the size must be positive, not {value!r}")
    return number
