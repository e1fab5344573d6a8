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
        for cell in ctx.xen_cells:
            for note, words in ctx.xen(cell).supported_words:  # only releases that read it
                if words:
                    yield from _undefined_bits(cell, note, words[0])
                    yield from _extra_words(cell, note, words)


def _undefined_bits(cell: Cell, note: Note, word: int) -> Iterator[Result]:
    """Bits of the word Xen reads that no release's features.h defines."""
    undefined = [b for b in _bits(word) if b not in F.BY_BIT]
    if not undefined:
        return
    mask = sum(1 << b for b in undefined)
    keep = word & ~mask
    yield Result(
        (cell,),
        f"SUPPORTED_FEATURES sets {_bit_list(undefined)}, which no Xen release defines: Xen "
        f"accepts {_them(undefined)} silently, and a later release may give {_them(undefined)} "
        "a meaning the kernel does not have",
        Location.of_note(note),
        Severity.WARNING,
        f"clear {mask:#010x} from the SUPPORTED_FEATURES word: use {keep:#010x} "
        f"({'|'.join(feature_names(keep)) or 'no features'})",
    )


def _extra_words(cell: Cell, note: Note, words: tuple[int, ...]) -> Iterator[Result]:
    """Words after the first: XENFEAT_NR_SUBMAPS is 1, so Xen never looks at them."""
    if len(words) < 2:
        return
    lost = [i * F.SUBMAP_BITS + b for i, w in enumerate(words) if i for b in _bits(w)]
    head = f"SUPPORTED_FEATURES has {len(words)} 32-bit words; Xen reads only the first"
    fix = f"shorten the SUPPORTED_FEATURES descriptor to one 32-bit word ({words[0]:#010x})"
    if lost:
        message = f"{head}, so {_bit_list(lost)} set after it {_are(lost)} lost"
        yield Result((cell,), message, Location.of_note(note), Severity.WARNING, fix)
    else:
        message = f"{head}; the others are all zero and ignored"
        yield Result((cell,), message, Location.of_note(note), Severity.INFO, fix)


def _bits(word: int) -> list[int]:
    return [b for b in range(F.SUBMAP_BITS) if word >> b & 1]


def _them(bits: list[int]) -> str:
    return "it" if len(bits) == 1 else "them"


def _are(bits: list[int]) -> str:
    return "is" if len(bits) == 1 else "are"


def _bit_list(bits: list[int]) -> str:
    return ("bit " if len(bits) == 1 else "bits ") + ", ".join(str(b) for b in bits)


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [SupportedFeaturesBits()]
