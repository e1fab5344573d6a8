"""Contributes the loader profiles (QEMU, linux-loader, Firecracker, Cloud Hypervisor, GRUB's
Xen PV and PVH builds) and the replay engines that read them, through the same hooks a
third-party plugin uses.

They are not in the default target set (every Xen 4.x release); name them with `--target qemu`,
`--target 'firecracker>=1.12'` or `targets = [...]` in the configuration. They boot `pvh` only.
"""

from __future__ import annotations

from xenlint import hookimpl
from xenlint.abi.loaders import LOADERS
from xenlint.abi.profile import Profile
from xenlint.replay.engines import LoaderEngine, builtin


@hookimpl
def xenlint_targets() -> list[Profile]:
    return list(LOADERS)


@hookimpl
def xenlint_loader_engines() -> list[LoaderEngine]:
    return builtin()
