"""XL403: a FEATURES string whose '|'-separated names libelf does not read the way they look:
empty names, names with whitespace, names cut at 63 characters, and a trailing '|'."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.engine.rule import Cell, Context, Result, Rule, Severity
from xenlint.image.model import Note
from xenlint.record import Frozen
from xenlint.replay.xen import FeatureToken, XenParse


class FeatureSyntax(Rule):
    code = "XL403"
    name = "feature-syntax"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a FEATURES string with empty names, whitespace or names cut at the length limit"
    explanation = f"""
libelf's elf_xen_parse_features cuts the FEATURES string at every '|' and compares each piece
with its table by exact strcmp, without trimming anything:
- 'a||b', a leading '|' and a lone '!' give an empty name;
- ' dom0' (with a space) is not 'dom0';
- a name is read at most {F.TOKEN_MAX} characters at a time: a longer one becomes several
  names, and a '|' right after a full {F.TOKEN_MAX}-character piece gives an empty name;
- a trailing '|' is harmless: it only ends the last name.
Each such piece is an unknown name, so what Xen does depends on the release:
- Xen 3.1 to 4.1.x refuse the kernel (any unknown name fails elf_xen_parse());
- a piece starting with '!' is refused by every release;
- Xen 4.2 and later ignore the rest, so a feature meant by ' dom0' is silently lost;
- in the legacy __xen_guest string a failure only stops libelf reading that string.
"""
    fix = """
Write the FEATURES string as names separated by single '|' characters, with no spaces, no
empty entries and no trailing '|', e.g. "writable_page_tables|pae_pgdir_above_4gb".
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # Which names are long, empty or spaced and which strings end in '|' does not depend
        # on the cell: worked out once per tokens list (cells sharing a parse share it and
        # its feature_strings, and the context keeps them alive), not per cell. A cell whose
        # list has none (nearly every kernel) costs one lookup; only the verdict on what is
        # found is the cell's own.
        found: dict[int, _Odd] = {}
        for cell, parse in ctx.xen_pairs:
            odd = found.get(id(parse.tokens))
            if odd is None:
                odd = found[id(parse.tokens)] = _Odd(parse)
            if odd.long:
                yield from _long_names(ctx, cell, parse, odd.long)
            if odd.names:
                yield from _bad_names(ctx, cell, parse, odd.names)
            for note in odd.bars:
                yield _trailing_bar(ctx, cell, note)


class _Odd:
    """What is odd in one parse's FEATURES tokens, whatever the release: the pieces of each
    name libelf cuts (by note and name, in token order), the empty and spaced names
    (_odd_names), and the notes whose string ends with a '|' that only closes the last name."""

    def __init__(self, parse: XenParse) -> None:
        tokens = parse.tokens
        self.long: dict[tuple[int, str], list[FeatureToken]] = {}
        for token in tokens:
            if token.split:
                self.long.setdefault((id(token.note), token.word), []).append(token)
        self.names = _odd_names(tokens)
        self.bars: list[Note | None] = []
        if any(text.endswith("|") for _, text in parse.feature_strings):
            last: dict[int, FeatureToken] = {}  # each note's last token, in one pass
            for token in tokens:
                last[id(token.note)] = token
            for note, text in parse.feature_strings:
                final = last.get(id(note))
                if text.endswith("|") and final is not None and final.text and not final.split:
                    self.bars.append(note)


class _Verdict(Frozen):
    """What a release does with an unknown piece: refuse the kernel, stop reading the
    __xen_guest string, or ignore it."""

    __slots__ = ("consequence", "severity")

    severity: Severity
    consequence: str

    def __init__(self, severity: Severity, consequence: str) -> None:
        set_ = object.__setattr__
        set_(self, "severity", severity)
        set_(self, "consequence", consequence)


def _verdict(
    parse: XenParse, tokens: list[FeatureToken], ignored: Severity, it: str = "it"
) -> _Verdict:
    unknown = _unknown(parse)
    refused = any(id(t) in unknown and parse.refuses(t) for t in tokens)
    legacy = tokens[0].note is None
    if refused and legacy:
        return _Verdict(Severity.WARNING, "Xen stops reading the __xen_guest string there")
    if refused and any(t.required for t in tokens if id(t) in unknown):
        return _Verdict(Severity.ERROR, "a required ('!') unknown name makes Xen refuse the kernel")
    if refused:
        return _Verdict(Severity.ERROR, "this release refuses a kernel naming unknown features")
    return _Verdict(ignored, f"Xen ignores {it}")


_UNKNOWN: list[object] = [None, frozenset()]  # the last parse.unknown list and its ids


def _unknown(parse: XenParse) -> frozenset[int]:
    """The ids of the parse's unknown tokens: a set, not a scan of a list of up to 16384
    tokens per token (cells sharing a parse share the list, so the last one is kept)."""
    if _UNKNOWN[0] is not parse.unknown:
        _UNKNOWN[:] = [parse.unknown, frozenset(id(t) for t in parse.unknown)]
    return _UNKNOWN[1]  # type: ignore[return-value]


def _long_names(
    ctx: Context,
    cell: Cell,
    parse: XenParse,
    groups: dict[tuple[int, str], list[FeatureToken]],
) -> Iterator[Result]:
    """One result per name libelf cuts into several tokens (`groups`: its pieces, by note
    and name)."""
    for (_, word), tokens in groups.items():
        verdict = _verdict(parse, tokens, Severity.WARNING, "them")
        # The first pieces only: a 4096-character name is cut into 65.
        pieces = ", ".join(f"'{_short(t.display, 12)}'" for t in tokens[:_PIECES_SHOWN])
        if len(tokens) > _PIECES_SHOWN:
            pieces += ", ..."
        yield Result(
            (cell,),
            f"FEATURES name '{_short(word, 24)}' is {len(word)} characters long; libelf "
            f"reads at most {F.TOKEN_MAX} at a time and sees {len(tokens)} names ({pieces}): "
            f"{verdict.consequence}",
            ctx.location(tokens[0].note),
            verdict.severity,
            f"remove the {len(word)}-character name from the FEATURES string; no feature name "
            f"is longer than {max(len(n) for n in F.BY_NAME)} characters",
        )


_PIECES_SHOWN = 4


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _odd_names(tokens: list[FeatureToken]) -> list[tuple[FeatureToken, str]]:
    """The empty names (with what makes each: "a lone '!'", "a leading '|'", "'||'") and the
    names with whitespace ("whitespace"), in token order."""
    odd = []
    seen: set[int] = set()  # the FEATURES strings (by note) already entered
    for token in tokens:
        first = id(token.note) not in seen
        seen.add(id(token.note))
        if token.split:
            continue
        if not token.text:
            if token.required:
                odd.append((token, "a lone '!'"))
            elif first:
                odd.append((token, "a leading '|'"))
            else:
                odd.append((token, "'||'"))
        elif token.text.split() != [token.text]:  # whitespace (split() cuts where isspace())
            odd.append((token, "whitespace"))
    return odd


def _bad_names(
    ctx: Context, cell: Cell, parse: XenParse, odd: list[tuple[FeatureToken, str]]
) -> Iterator[Result]:
    """Empty names and names with whitespace (`odd`, from _odd_names of parse.tokens)."""
    for token, what in odd:
        if what != "whitespace":
            verdict = _verdict(parse, [token], Severity.INFO)
            fix = "remove the empty entry from the FEATURES string"
            message = f"FEATURES has an empty name ({what}): {verdict.consequence}"
        else:
            verdict = _verdict(parse, [token], Severity.WARNING)
            clean = "".join(token.display.split())
            message = (
                f"FEATURES name {token.display!r} contains whitespace, which libelf does not "
                f"trim, so it matches no feature: {verdict.consequence}"
            )
            fix = f"write '{clean}' without whitespace in the FEATURES string"
        yield Result((cell,), message, ctx.location(token.note), verdict.severity, fix)


def _trailing_bar(ctx: Context, cell: Cell, note: Note | None) -> Result:
    """A '|' at the end that only closes the last name (no empty name follows in libelf)."""
    return Result(
        (cell,),
        "FEATURES string ends with '|': harmless, libelf reads no empty name after it",
        ctx.location(note),
        Severity.INFO,
        "remove the trailing '|' from the FEATURES string",
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [FeatureSyntax()]
