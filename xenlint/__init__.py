"""xenlint: lint the Xen boot-ABI ELF notes of guest kernel images, per hypervisor release."""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Mark plugin functions that implement a `xenlint_*` hook.
hookimpl = pluggy.HookimplMarker("xenlint")

__all__ = ["__version__", "hookimpl"]
