"""XL404: SUPPORTED_FEATURES bits Xen reads but no release gives a meaning, and words after
the first, which every release ignores."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.abi import features as F
from xenlint.engine.rule import Cell, Context, Location, Result, Rule, Severity
from xenlint.image.decode import feature_names
from xenlint.image.model import Note


class SupportedFeaturesBits(Rule):
    code = "XL404"
    name = "supported-features-bits"
    judges_behaviour = True
    severity = Severity.WARNING
    summary = "SUPPORTED_FEATURES sets bits no Xen release defines, or has ignored extra words"
    explanation = f"""
Xen 4.2 and later OR the SUPPORTED_FEATURES bitmap into the kernel's supported features.
It reads only XENFEAT_NR_SUBMAPS words of {F.SUBMAP_BITS} bits, and that is 1 in every
release, so:
- a bit in the first word that no release's features.h defines is accepted silently; a
  later release may give it a meaning the kernel does not implement;
- words after the first are ignored, so any bit set there is lost.
Releases before 4.2 ignore the whole note (an unknown note type), so this rule only judges
releases that read it. Known bits: {", ".join(f"{f.bit}={f.name}" for f in F.FEATURES)}.
"""
    fix = """
Set only bits features.h defines, in a single 32-bit word:
    ELFNOTE(Xen, XEN_ELFNOTE_SUPPORTED_FEATURES, .long <mask>)
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        # Cells whose releases read notes alike share one parse and its supported_words list,
        # so each distinct list is judged once for all of them (65536 notes x dozens of cells).
        groups: dict[int, tuple[list[tuple[Note, tuple[int, ...]]], list[Cell]]] = {}
        for cell, parse in ctx.xen_pairs:
            seen = parse.supported_words  # only releases that read the note
            groups.setdefault(id(seen), (seen, []))[1].append(cell)
        judged: dict[int, list[tuple[str, Severity, str]]] = {}  # per note, for every group
        for seen, cells in groups.values():
            for note, words in seen:
                if words:
                    if id(note) not in judged:
                        judged[id(note)] = _judge(note, words)
                    for message, severity, fix in judged[id(note)]:
                        yield Result(tuple(cells), message, Location.of_note(note), severity, fix)


def _judge(note: Note, words: tuple[int, ...]) -> list[tuple[str, Severity, str]]:
    return [*_undefined_bits(words[0]), *_extra_words(note, words)]


def _undefined_bits(word: int) -> Iterator[tuple[str, Severity, str]]:
    """Bits of the word Xen reads that no release's features.h defines."""
    undefined = [b for b in _bits(word) if b not in F.BY_BIT]
    if not undefined:
        return
    mask = sum(1 << b for b in undefined)
    keep = word & ~mask
    yield (
        f"SUPPORTED_FEATURES sets {_bit_list(undefined)}, which no Xen release defines: Xen "
        f"accepts {_them(undefined)} silently, and a later release may give {_them(undefined)} "
        "a meaning the kernel does not have",
        Severity.WARNING,
        f"clear {mask:#010x} from the SUPPORTED_FEATURES word: use {keep:#010x} "
        f"({'|'.join(feature_names(keep)) or 'no features'})",
    )


# Bits after the first word listed by number; a hostile descriptor may set millions of them.
LISTED_BITS = 16


def _extra_words(note: Note, words: tuple[int, ...]) -> Iterator[tuple[str, Severity, str]]:
    """Words after the first: XENFEAT_NR_SUBMAPS is 1, so Xen never looks at them. They are
    counted (int.bit_count), and only the first LISTED_BITS set bits are named."""
    if len(words) < 2:
        return
    count = int.from_bytes(note.desc[4 : 4 * len(words)], "little").bit_count()
    lost: list[int] = []
    for i, w in enumerate(words[1:], 1):
        if len(lost) >= LISTED_BITS:
            break
        if w:
            lost.extend(i * F.SUBMAP_BITS + b for b in _bits(w))
    lost = lost[:LISTED_BITS]
    head = f"SUPPORTED_FEATURES has {len(words)} 32-bit words; Xen reads only the first"
    fix = f"shorten the SUPPORTED_FEATURES descriptor to one 32-bit word ({words[0]:#010x})"
    if lost:
        more = f" and {count - len(lost)} more" if count > len(lost) else ""
        message = f"{head}, so {_bit_list(lost)}{more} set after it {_are(count)} lost"
        yield message, Severity.WARNING, fix
    else:
        yield f"{head}; the others are all zero and ignored", Severity.INFO, fix


def _bits(word: int) -> list[int]:
    return [b for b in range(F.SUBMAP_BITS) if word >> b & 1]


def _them(bits: list[int]) -> str:
    return "it" if len(bits) == 1 else "them"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _bit_list(bits: list[int]) -> str:
    return ("bit " if len(bits) == 1 else "bits ") + ", ".join(str(b) for b in bits)


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [SupportedFeaturesBits()]
