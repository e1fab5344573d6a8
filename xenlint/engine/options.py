"""Options a plugin declares (the `xenlint_options` hook) and reads back from the config.

A project sets them in `[tool.xenlint.plugins.NAME]` of pyproject.toml (or `[plugins.NAME]`
of xenlint.toml), NAME being the plugin's entry-point name; rules read them as
`ctx.options[KEY]`, with the declared default filled in for keys the project leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from xenlint.errors import XenlintError
from xenlint.record import Frozen

#: The value types an option may have (TOML's, without tables and dates).
TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "list[str]": list,
}


class OptionError(XenlintError):
    """A plugin option table or value the plugins do not declare; one line naming the key."""


class Option(Frozen):
    """One configuration key a plugin reads.

    `type` is one of "str", "int", "float", "bool", "list[str]"; `default` is what rules see
    when the project does not set the key (it is not checked against `type`)."""

    name: str
    type: str
    default: object
    help: str

    __slots__ = ("default", "help", "name", "type")

    def __init__(self, name: str, type: str, default: object, help: str) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "type", type)
        set_(self, "default", default)
        set_(self, "help", help)

    def check(self, value: object, where: str) -> object:
        """`value` if it has this option's type, else OptionError naming `where`."""
        expected = TYPES[self.type]
        ok = isinstance(value, expected) and not (
            isinstance(value, bool) and self.type in ("int", "float")
        )
        if ok and self.type == "list[str]":
            ok = all(isinstance(item, str) for item in value)  # type: ignore[attr-defined]
        if not ok:
            raise OptionError(f"{where}: expected {self.type}, got {value!r}")
        return value


def resolve(
    declared: Mapping[str, list[Option]],
    tables: Mapping[str, Mapping[str, Any]],
    where: str,
) -> dict[str, Mapping[str, object]]:
    """Each declaring plugin's options: the config's values (checked) over the defaults.

    `declared` maps plugin names to their options, `tables` the config's `plugins.NAME`
    tables; `where` prefixes messages ("pyproject.toml: [tool.xenlint] "). A table for a
    plugin that declares no options, an unknown key, or a value of the wrong type is an
    OptionError."""
    for plugin, table in tables.items():
        if plugin not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise OptionError(
                f"{where}plugins.{plugin}: no loaded plugin named {plugin!r} declares options "
                f"(plugins with options: {known})"
            )
        if not isinstance(table, Mapping):
            raise OptionError(f"{where}plugins.{plugin}: expected a table, got {table!r}")
        names = [o.name for o in declared[plugin]]
        for key in table:
            if key not in names:
                import difflib  # only for the error message

                hint = difflib.get_close_matches(key, names, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise OptionError(
                    f"{where}plugins.{plugin}: unknown option {key!r}{extra}; "
                    f"{plugin} reads {', '.join(names)}"
                )
    resolved: dict[str, Mapping[str, object]] = {}
    for plugin, options in declared.items():
        table = tables.get(plugin, {})
        values = {
            o.name: (
                o.check(table[o.name], f"{where}plugins.{plugin}.{o.name}")
                if o.name in table
                else o.default
            )
            for o in options
        }
        resolved[plugin] = MappingProxyType(values)
    return resolved
