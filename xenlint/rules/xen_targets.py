"""Contributes one target profile per Xen release (the table in xenlint.abi.xen)."""

from __future__ import annotations

from xenlint import hookimpl
from xenlint.abi.profile import Profile
from xenlint.abi.xen import RELEASES


@hookimpl
def xenlint_targets() -> list[Profile]:
    return list(RELEASES)
