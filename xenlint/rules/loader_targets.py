"""Contributes the PVH loader profiles (QEMU, linux-loader, Firecracker, Cloud Hypervisor).

They are not in the default target set (every Xen 4.x release); name them with `--target qemu`,
`--target 'firecracker>=1.12'` or `targets = [...]` in the configuration. They boot `pvh` only.
"""

from __future__ import annotations

from xenlint import hookimpl
from xenlint.abi.loaders import LOADERS
from xenlint.abi.profile import Profile


@hookimpl
def xenlint_targets() -> list[Profile]:
    return list(LOADERS)
