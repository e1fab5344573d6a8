"""Constant expressions of assembly sources, as far as they are knowable without linking.

An expression evaluates to an int, or to a linear form over symbols (`Expr`) when it needs the
linker. Names of the Xen ABI are known from xenlint's own tables: `XEN_ELFNOTE_<name>` from
`xenlint.abi.notes`, `XENFEAT_<name>` from `xenlint.abi.features`; they are what the public
headers `elfnote.h` and `features.h` define.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.source.model import Expr

_NUM = re.compile(r"\b(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)[uUlL]*\b")
_CHAR = re.compile(r"'(\\?.)'?")
_LOCAL = re.compile(r"\b(\d+)([fb])\b")


class _Opaque(Exception):
    pass


Linear = tuple[dict[str, int], int]  # symbol -> coefficient, constant


def abi_name(name: str) -> int | None:
    """The value of a XEN_ELFNOTE_* or XENFEAT_* name from the ABI tables, else None."""
    if name.startswith("XEN_ELFNOTE_") and name[12:] in N.BY_NAME:
        return N.BY_NAME[name[12:]].number
    if name.startswith("XENFEAT_") and name[8:] in F.BY_NAME:
        return F.BY_NAME[name[8:]].bit
    return None


def evaluate(
    text: str,
    lookup: Callable[[str], Linear | int | None],
    local: Callable[[str, str], Linear | None] | None = None,
) -> int | Expr:
    """Evaluate `text`; `lookup(name)` gives a name's value (None when the linker decides),
    `local(number, 'f' or 'b')` a numeric local label. Returns an int or an Expr."""
    source = text.strip()
    if not source:
        return Expr(text, opaque=True)
    rewritten = _LOCAL.sub(lambda m: f"__local_{m.group(1)}_{m.group(2)}", source)
    rewritten = _CHAR.sub(lambda m: str(ord(m.group(1)[-1])), rewritten)
    rewritten = _NUM.sub(lambda m: str(int(m.group(1), 0)), rewritten)
    rewritten = rewritten.replace("/", "//").replace("$", "")
    try:
        tree = ast.parse(rewritten, mode="eval")
    except SyntaxError:
        return Expr(text, opaque=True)

    def name_value(name: str) -> Linear:
        if name.startswith("__local_") and local is not None:
            number, direction = name[len("__local_") :].split("_")
            got = local(number, direction)
            if got is None:
                raise _Opaque
            return got
        known = abi_name(name)
        if known is not None:
            return {}, known
        found = lookup(name)
        if found is None:
            return {name: 1}, 0
        if isinstance(found, int):
            return {}, found
        return found

    def walk(node: ast.AST) -> Linear:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return {}, node.value
        if isinstance(node, ast.Name):
            return name_value(node.id)
        if isinstance(node, ast.UnaryOp):
            terms, const = walk(node.operand)
            if isinstance(node.op, ast.USub):
                return {k: -v for k, v in terms.items()}, -const
            if isinstance(node.op, ast.UAdd):
                return terms, const
            if isinstance(node.op, ast.Invert) and not terms:
                return {}, ~const
            raise _Opaque
        if isinstance(node, ast.BinOp):
            lt, lc = walk(node.left)
            rt, rc = walk(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                sign = 1 if isinstance(node.op, ast.Add) else -1
                terms = dict(lt)
                for k, v in rt.items():
                    terms[k] = terms.get(k, 0) + sign * v
                return {k: v for k, v in terms.items() if v}, lc + sign * rc
            if isinstance(node.op, ast.Mult) and (not lt or not rt):
                factor, (terms, const) = (rc, (lt, lc)) if not rt else (lc, (rt, rc))
                return {k: v * factor for k, v in terms.items() if v * factor}, const * factor
            if lt or rt:
                raise _Opaque
            ops: dict[type, Callable[[int, int], int]] = {
                ast.BitOr: lambda a, b: a | b,
                ast.BitAnd: lambda a, b: a & b,
                ast.BitXor: lambda a, b: a ^ b,
                ast.LShift: lambda a, b: a << b if 0 <= b < 128 else 0,
                ast.RShift: lambda a, b: a >> b if b >= 0 else 0,
                ast.FloorDiv: lambda a, b: a // b if b else 0,
                ast.Mod: lambda a, b: a % b if b else 0,
            }
            op = ops.get(type(node.op))
            if op is None:
                raise _Opaque
            return {}, op(lc, rc)
        raise _Opaque

    try:
        terms, const = walk(tree)
    except (_Opaque, RecursionError):
        return Expr(text.strip(), opaque=True)
    if not terms:
        return const
    return Expr(text.strip(), tuple(sorted(terms.items())), const)
