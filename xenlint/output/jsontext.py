"""JSON text laid out as `json.dumps(obj, indent=2)` lays it out, byte for byte, written in C.

The standard library indents in pure Python (its C encoder writes only compact JSON): the
SARIF report of 10,000 findings on a hostile image took 0.75 s to indent, half of the whole
run. ujson, a maintained C encoder, writes the same bytes with `ensure_ascii`, except that it
leaves DEL (0x7f) raw where the standard library writes `\\u007f`; DEL is a control byte, which
no xenlint output carries, so it is escaped afterwards (a raw DEL can only be inside a string).
Floats, which xenlint's outputs do not hold, may be spelt differently (`1e-7`, not `1e-07`).
Where ujson is not installed or refuses a value (an int past 64 bits, say), the standard
library writes the text, and raises what it raises (TypeError for a value JSON has no form for).
"""

from __future__ import annotations

import json


def dumps(obj: object) -> str:
    """`obj` (dicts with str keys, lists, tuples, str, int, bool, None) as indented JSON
    text, without a final newline; ASCII only, as `json.dumps(obj, indent=2)` writes it."""
    try:
        import ujson

        text: str = ujson.dumps(obj, indent=2, ensure_ascii=True, escape_forward_slashes=False)
    except Exception:  # ujson missing, or a value it refuses: the standard library decides
        return json.dumps(obj, indent=2)
    return text.replace("\x7f", "\\u007f")
