"""Xen notes where they are written: assembly sources, linker scripts, relocatable objects.

`kind(path)` says whether a path is one of them (by name for text, by content for objects);
`read(path)` returns what the file says about the notes. The checks live in
`xenlint.source.check` (notes) and `xenlint.source.lds` (linker scripts).
"""

from __future__ import annotations

import os
from typing import Literal

from xenlint.abi.elf import ELF_MAGIC, ET_REL
from xenlint.errors import XenlintError

SourceKind = Literal["gas", "nasm", "lds", "object"]
# The kinds this version reads; the others are recognised but still read as images.
READ_KINDS: tuple[SourceKind, ...] = ("gas", "lds", "nasm", "object")

# Linker scripts: Linux's vmlinux.lds.S, plain .lds/.ld, FreeBSD's sys/conf/ldscript.<arch>.
_LDS_SUFFIXES = (".lds", ".ld", ".lds.S", ".lds.s", ".ld.S")
MAX_SOURCE_BYTES = 8 << 20  # a source bigger than this is not a hand-written boot stub


class SourceError(XenlintError):
    """A source file that cannot be read; the message is one line."""


def kind(path: str) -> SourceKind | None:
    """The kind of source `path` is, or None for anything else (an image, say)."""
    found = _kind(path)
    return found if found in READ_KINDS else None


def _kind(path: str) -> SourceKind | None:
    base = os.path.basename(path)
    if base.endswith(_LDS_SUFFIXES) or base.startswith("ldscript."):
        return "lds"
    if base.endswith((".S", ".s", ".sx")):
        return "gas"
    if base.endswith((".asm", ".nasm")):
        return "nasm"
    if base.endswith(".o") or base.endswith(".obj"):
        try:
            with open(path, "rb") as fh:
                head = fh.read(18)
        except OSError:
            return None
        if head[:4] == ELF_MAGIC and len(head) == 18:
            etype = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
            if etype == ET_REL:
                return "object"
    return None


def read_bytes(path: str, too_large: str) -> bytes:
    """At most MAX_SOURCE_BYTES of a source or object file; one-line SourceError when it
    cannot be read, or `too_large` followed by the limit when the file is bigger."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(too_large.format(limit=f"{MAX_SOURCE_BYTES >> 20} MiB"))
    return data


def read_text(path: str) -> str:
    """The text of a source file; one-line SourceError when it cannot be read."""
    data = read_bytes(path, "larger than {limit}; not a source xenlint reads")
    return data.decode("utf-8", "replace")
