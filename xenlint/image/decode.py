"""Human-readable values of notes, for `xenlint notes` and for rule messages."""

from __future__ import annotations

from typing import Literal, cast

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.escape import clipped, escape, quoted
from xenlint.image.model import Image, Note


def feature_names(bits: int) -> list[str]:
    return [F.BY_BIT[b].name if b in F.BY_BIT else f"bit{b}" for b in range(64) if bits & (1 << b)]


def words(image: Image, data: bytes, size: int) -> list[int]:
    order: Literal["little", "big"] = "little" if image.little_endian else "big"
    return [int.from_bytes(data[i : i + size], order) for i in range(0, len(data) - size + 1, size)]


def value(image: Image, note: Note) -> object:
    """A JSON-friendly value, as Xen reads it: int (0 where libelf's number reader gives up),
    str, None for a string without a NUL that Xen skips, list of ints, or a hex string for
    unknown types."""
    kind = N.BY_NUMBER.get(note.type)
    if kind is None or kind.kind is N.DescKind.NONE:
        if note.string_terminated and note.string and note.string.isascii():
            return note.string.decode("ascii")
        return note.desc.hex()
    if kind.kind is N.DescKind.STRING:
        if not note.string_terminated:
            return None  # no NUL in the file (or within 4096 bytes): Xen 4.1.6+ skips the note
        return note.string.decode("latin-1")
    if kind.kind is N.DescKind.NUMERIC:
        return number(image, note)
    if kind.kind in (N.DescKind.BITMAP, N.DescKind.WORDS):
        return words(image, note.desc, 4)
    return words(image, note.desc, 8 if image.elf_class == 64 else 4)


def number(image: Image, note: Note) -> int:
    """A number note as elf_note_numeric reads it: descsz 1, 2, 4 or 8 in the ELF's byte
    order; any other size, or a descriptor cut off by the end of the file, reads as 0
    (RELEASE-4.17.0:xen/common/libelf/libelf-tools.c elf_note_numeric, elf_access_unsigned)."""
    if note.descsz not in N.NUMERIC_SIZES or note.truncated:
        return 0
    return int.from_bytes(note.desc, "little" if image.little_endian else "big")


def display(image: Image, note: Note) -> str:
    """The note's value as one line of text, with image-given strings escaped."""
    return escape(_display(image, note))


def _display(image: Image, note: Note) -> str:
    val = value(image, note)
    kind = N.BY_NUMBER.get(note.type)
    numeric = kind is not None and kind.kind is N.DescKind.NUMERIC
    if numeric and (note.descsz not in N.NUMERIC_SIZES or note.truncated):
        why = "cut off by the end of the file" if note.truncated else "not a 1/2/4/8-byte number"
        return f"0 (<{note.descsz} bytes: {_hex(note.desc)}> {why}: Xen reads 0)"
    if val is None:
        text = note.string[:40].decode("latin-1")
        return (
            f"{text!r}... (no NUL before the end of the file or within 4096 bytes: "
            "Xen 4.1.6 and later ignore it)"
        )
    if isinstance(val, str):
        if kind is None or kind.kind is not N.DescKind.NONE:
            return quoted(val)
        return clipped(val)
    if isinstance(val, int):
        return f"{val:#x} ({note.descsz} bytes)"
    val = cast("list[int]", val)  # what is left: the word arrays (SUPPORTED_FEATURES...)
    if kind is N.SUPPORTED_FEATURES and val:
        return f"{val[0]:#010x} = {'|'.join(feature_names(val[0])) or 'none'}"
    shown = ", ".join(f"{w:#x}" for w in val[:_WORDS_SHOWN])
    if len(val) > _WORDS_SHOWN:
        shown += f", ... ({len(val)} words)"
    return f"[{shown}]"


# What one line shows of a long descriptor (a real one has one to three words): a hostile
# note's 4096 bytes would make a message of 8 KB.
_WORDS_SHOWN = 8
_BYTES_SHOWN = 32


def _hex(data: bytes) -> str:
    """`data` in hex, its first _BYTES_SHOWN bytes only."""
    if len(data) <= _BYTES_SHOWN:
        return data.hex()
    return f"{data[:_BYTES_SHOWN].hex()}..."
