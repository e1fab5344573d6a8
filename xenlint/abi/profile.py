"""What every target profile has in common: a name, a version and the guest modes it boots.

Xen releases are one family of profiles; loaders such as QEMU or Firecracker are meant to be
more families of the same shape, contributed through the `xenlint_targets` hook.
"""

from __future__ import annotations

import enum

from xenlint.record import Frozen


class Mode(enum.Enum):
    """How a guest is booted: a classic PV guest or a PVH (HVM-container) guest, domU or dom0."""

    PV = "pv"
    PVH = "pvh"
    PV_DOM0 = "pv-dom0"
    PVH_DOM0 = "pvh-dom0"

    is_pvh: bool
    is_dom0: bool

    def __init__(self, value: str) -> None:
        # Plain attributes, not properties: rules ask them for every cell of every image.
        self.is_pvh = value in ("pvh", "pvh-dom0")
        self.is_dom0 = value in ("pv-dom0", "pvh-dom0")

    def __str__(self) -> str:
        return self.value

    # Hashed by identity, in C: a member is its class's only instance of its value (equality
    # is identity), and Enum's own __hash__ is Python code hashing the name, asked for every
    # cell of every image (`cell.mode in release.modes`: 0.4 us against 0.2).
    __hash__ = object.__hash__


MODE_ORDER: tuple[Mode, ...] = (Mode.PV, Mode.PVH, Mode.PV_DOM0, Mode.PVH_DOM0)


def format_version(version: tuple[int, ...]) -> str:
    """'4.7' for (4, 7, 0), '4.10.1' for (4, 10, 1): a trailing .0 point release is implied."""
    parts = list(version)
    while len(parts) > 2 and parts[-1] == 0:
        parts.pop()
    return ".".join(str(part) for part in parts)


def parse_version(text: str) -> tuple[int, ...]:
    """Parse '4.10.1' into (4, 10, 1); raises ValueError on anything else."""
    parts = text.split(".")
    if not text or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts)


class Profile(Frozen):
    """One target a project can name: a hypervisor release or a loader version."""

    __slots__ = (
        "before",
        "covers_later",
        "family",
        "fixed_modes",
        "modes",
        "name",
        "note",
        "version",
    )

    family: str  # "xen"; later "qemu", "firecracker", ...
    version: tuple[int, ...]  # the first release this profile describes
    name: str  # e.g. "xen-4.6" or "xen-4.10.1"
    modes: frozenset[Mode]  # guest modes this target can boot at all
    note: str  # one line shown by `xenlint targets`
    # Loaders boot one mode whatever the image declares: judged in `modes` only, and a named
    # mode outside them does not apply (a Xen release is judged in every named mode instead).
    fixed_modes: bool
    # The profile covers later versions up to the next profile of its family, so `qemu-7.2`
    # names the profile `qemu-6.0` (Xen lists every series, so an unlisted one is an error).
    covers_later: bool
    # For a family's oldest profile: what came before it, in words, for the message naming an
    # older version ("Firecracker 0.x releases are not modelled").
    before: str

    def __init__(
        self,
        *,
        family: str,
        version: tuple[int, ...],
        name: str,
        modes: frozenset[Mode],
        note: str = "",
        fixed_modes: bool = False,
        covers_later: bool = False,
        before: str = "",
    ) -> None:
        set_ = object.__setattr__
        set_(self, "family", family)
        set_(self, "version", version)
        set_(self, "name", name)
        set_(self, "modes", modes)
        set_(self, "note", note)
        set_(self, "fixed_modes", fixed_modes)
        set_(self, "covers_later", covers_later)
        set_(self, "before", before)

    @property
    def label(self) -> str:
        """The name without the family prefix, used when collapsing ranges ('4.10.1')."""
        prefix = self.family + "-"
        return self.name[len(prefix) :] if self.name.startswith(prefix) else self.name
