"""One escaping policy for text that came from an image (note strings, owner and section
names, the `__xen_guest` string) or from a file name, wherever it is shown as text.

An image is attacker-controlled data: an ESC, BEL or CR in a note string would drive the
terminal (screen clears, title and clipboard writes through OSC 52), a newline would start a
line of its own, and a line starting with `::` (or holding `##[` anywhere) is a command to the
GitHub Actions runner (`::error::`, `::add-mask::`, `##[stop-commands]`). So in every line
xenlint prints for humans or CI logs:

- printable ASCII (0x20-0x7e) stays as it is;
- a newline becomes `\\n` (or stays, where a caller lays out several lines itself), every
  other character `\\xNN` (`\\uNNNN`/`\\UNNNNNNNN` above 0xff);
- `::` becomes `:\\x3a` and `##[` becomes `#\\x23[`, so no CI command sequence survives.

xenlint's own messages are printable ASCII without those sequences, so escaping a whole
message changes only what came from outside; escaping is idempotent. JSON and SARIF keep exact
values where they have a field for them (the JSON encoder escapes them validly).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Anything that is not printable ASCII, plus the two CI command sequences.
_UNSAFE = re.compile(r"[^\x20-\x7e]|::|##\[")
_UNSAFE_KEEP_NEWLINES = re.compile(r"[^\x20-\x7e\n]|::|##\[")


def _one(match: re.Match[str]) -> str:
    found = match.group()
    if found == "::":
        return ":\\x3a"
    if found == "##[":
        return "#\\x23["
    if found == "\n":
        return "\\n"
    code = ord(found)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str, *, newlines: bool = False) -> str:
    """`text` made safe for a terminal or a CI log line (see the module docstring).
    With `newlines`, a newline is kept (for text the caller indents line by line)."""
    pattern = _UNSAFE_KEEP_NEWLINES if newlines else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_one, text)


def escape_bytes(data: bytes) -> str:
    """Raw bytes from an image as safe text: each byte as its latin-1 character, escaped."""
    return escape(data.decode("latin-1"))


# How many characters of an image string a message or listing quotes. Real note strings are
# shorter: "linux", "xen-3.0", "yes", and a FEATURES string naming every feature Xen defines,
# each with its '!', is 429 characters. A hostile note's 4096-byte string, or a list of
# thousands of them, would make one finding pages (or megabytes) long.
QUOTED_MAX = 512


def quoted(text: str, limit: int = QUOTED_MAX) -> str:
    """`text` as a message quotes it: repr() of its first `limit` characters, and, when it is
    longer, how long it is (`'abc...'... (4096 characters)`). Escaping for the terminal is
    left to escape(), which the report applies to every message."""
    return clipped(text, limit, repr)


def clipped(text: str, limit: int = QUOTED_MAX, show: Callable[[str], str] = str) -> str:
    """`show` of `text`, or of its first `limit` characters followed by how long it is."""
    if len(text) <= limit:
        return show(text)
    return f"{show(text[:limit])}... ({len(text)} characters)"
