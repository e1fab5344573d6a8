"""XL401: a FEATURES name that is no Xen feature at all, usually a typo; before 4.2 (or with
'!') Xen refuses the whole kernel because of it, later releases silently drop it."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.abi.xen import RELEASES
from xenlint.engine.rule import Cell, Context, Result, Rule, Severity
from xenlint.replay.xen import FeatureToken, XenParse

# Names some release accepts in the FEATURES string; others exist only as bitmap bits.
_BY_NAME_SOMEWHERE = frozenset().union(*(r.feature_names for r in RELEASES))


class FeatureUnknown(Rule):
    code = "XL401"
    name = "feature-unknown"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "a FEATURES name that is no Xen feature at all"
    explanation = f"""
Xen compares every '|'-separated FEATURES name with its table by exact, case-sensitive
strcmp. A name that is no Xen feature bit at all (a typo such as 'writable_page_table',
or 'Writable_Page_Tables') matches nothing, and then:
- Xen 3.1 to 4.1.x refuse the kernel: any unknown name fails elf_xen_parse().
- Xen 4.2 and later ignore a plain unknown name, so the intended feature is silently not
  advertised.
- A name marked required with '!' is refused by every release.
- In the legacy __xen_guest string the failure is not fatal, but libelf stops reading
  that string there, so the items after FEATURES are lost.
Real feature names that a release does not accept by name are XL402's; empty names,
names with whitespace and names over {F.TOKEN_MAX} characters are XL403's.
"""
    fix = """
Correct the spelling (names are lower-case, e.g. writable_page_tables) or remove the name.
A feature that is only a bit for Xen goes into a SUPPORTED_FEATURES note instead.
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # Cells whose releases read notes alike share one parse and its list of unknown
        # tokens: each list is judged once for all of them (thousands of names x cells).
        groups: dict[int, tuple[XenParse, list[Cell]]] = {}
        for cell, parse in ctx.xen_pairs:
            groups.setdefault(id(parse.unknown), (parse, []))[1].append(cell)
        for parse, cells in groups.values():
            for token in parse.unknown:
                if not _mine(token):
                    continue
                refused = parse.refuses(token)
                yield Result(
                    tuple(cells),
                    _message(parse, token, refused),
                    ctx.location(token.note),
                    Severity.ERROR if refused and token.note else Severity.WARNING,
                    _fix(token),
                )


def _mine(token: FeatureToken) -> bool:
    """No feature bit has this name, and it is none of XL403's syntax problems."""
    if token.text in F.BY_NAME or token.split or not token.text:
        return False
    return not any(c.isspace() for c in token.text)


_LOWER = {name.lower(): name for name in F.BY_NAME}


@functools.lru_cache(maxsize=4096)  # once per name: a FEATURES string may hold thousands
def suggestion(text: str) -> str | None:
    """The real feature name closest to `text`, ignoring case; None if none is close."""
    import difflib

    close = difflib.get_close_matches(text.lower(), list(_LOWER), n=1, cutoff=0.6)
    return _LOWER[close[0]] if close else None


def _message(parse: XenParse, token: FeatureToken, refused: bool) -> str:
    guess = suggestion(token.text)
    head = f"FEATURES names '{token.display}', which is no Xen feature"
    if guess:
        head += f" (did you mean '{guess}'?)"
    if token.note is None:
        if refused:
            return f"{head}: Xen stops reading the rest of the __xen_guest string there"
        return f"{head}: Xen ignores it in the __xen_guest string"
    if refused and token.required:
        return f"{head}: a required ('!') name Xen does not know makes it refuse the kernel"
    if refused:
        return f"{head}: this release refuses a kernel that names an unknown feature"
    meant = guess or "the feature it meant"
    return f"{head}: Xen ignores it, so the kernel does not advertise {meant}"


def _fix(token: FeatureToken) -> str:
    guess = suggestion(token.text)
    mark = "!" if token.required else ""
    if guess is None:
        return f"remove '{token.display}' from the FEATURES string"
    if guess in _BY_NAME_SOMEWHERE:
        return f"replace '{token.display}' with '{mark}{guess}' in the FEATURES string"
    bit = F.BY_NAME[guess].bit
    return (
        f"remove '{token.display}' from the FEATURES string; if you meant {guess}, set bit "
        f"{bit} ({1 << bit:#x}) in a SUPPORTED_FEATURES note (type "
        f"{N.SUPPORTED_FEATURES.number}): no release accepts that name in FEATURES"
    )


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [FeatureUnknown()]
