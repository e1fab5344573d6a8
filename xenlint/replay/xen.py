"""What one Xen release makes of an image's notes in one guest mode: libelf's parse, replayed.

This mirrors `elf_xen_parse()` (shared/abi/xen.md §3-§6) so rules can ask "what value does
Xen 4.2 see for FEATURES in a PV boot" without touching bytes. The result is per
(release, mode) and cached by the check context.
"""

from __future__ import annotations

import struct
from collections import Counter
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from xenlint.abi import features as F
from xenlint.abi import notes as N
from xenlint.abi.profile import Mode
from xenlint.abi.xen import XenRelease
from xenlint.image.model import PF_R, PF_W, PF_X, Image, Note
from xenlint.record import Frozen, Record

Source = Literal["notes", "xen_guest"]
Pae = Literal["no", "yes", "extended-cr3", "bimodal"]  # enum xen_pae_type


class FeatureToken(Frozen):
    """One token of a FEATURES string as libelf cuts it (at '|', or every 63 characters)."""

    __slots__ = ("note", "required", "split", "text", "word")

    text: str  # the token without '!'
    required: bool
    note: Note | None  # None when it came from __xen_guest
    # One of several tokens libelf makes of one '|'-separated name because of the
    # 63-character limit: every piece, the remainder, and the empty token a '|' right after
    # a full 63-character piece produces.
    split: bool
    word: str  # the '|'-separated name as written (with any '!'), which may be longer

    def __init__(
        self, text: str, required: bool, note: Note | None, split: bool = False, word: str = ""
    ) -> None:
        set_ = object.__setattr__
        set_(self, "text", text)
        set_(self, "required", required)
        set_(self, "note", note)
        set_(self, "split", split)
        set_(self, "word", word)

    @property
    def display(self) -> str:
        return ("!" if self.required else "") + self.text


class Phys32Reloc(Frozen):
    """PHYS32_RELOC as the PVH dom0 builder reads it (xen.md §7): each note sets the words its
    descsz covers (align, min, max), so with several notes every word keeps its last value."""

    __slots__ = ("default_align", "note", "words", "zeroed")

    note: Note  # the last PHYS32_RELOC note
    words: tuple[int | None, int | None, int | None]  # align, min, max as given; None = absent
    default_align: int  # the largest loadable p_align if at least a page, else 2 MiB
    # The last note whose descsz (at least 4) is not a multiple of 4: its words all read as 0.
    zeroed: Note | None

    def __init__(
        self,
        note: Note,
        words: tuple[int | None, int | None, int | None],
        default_align: int,
        zeroed: Note | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "note", note)
        set_(self, "words", words)
        set_(self, "default_align", default_align)
        set_(self, "zeroed", zeroed)

    @property
    def align(self) -> int:
        given = self.words[0]
        return self.default_align if given in (None, N.PHYS32_UNSET) else given

    @property
    def min(self) -> int:
        return N.RELOC_MIN_DEFAULT if self.words[1] is None else self.words[1]

    @property
    def max(self) -> int:
        return N.RELOC_MAX_DEFAULT if self.words[2] is None else self.words[2]


class XenParse(Record):
    __slots__ = (
        "_addresses_memo",  # not a field: addresses() of this parse, once worked out
        "fatal",
        "feature_strings",
        "hvm",
        "ignored",
        "mode",
        "numbers",
        "pae",
        "phys32_reloc",
        "raw_phys32",
        "release",
        "required",
        "source",
        "strings",
        "supported",
        "supported_words",
        "tokens",
        "tokens_dropped",
        "unknown",
        "used",
    )

    release: XenRelease
    mode: Mode
    hvm: bool  # parsed with the hvm flag (PVH on 4.16 and later)
    source: Source | None
    strings: dict[str, str]  # note name -> value as kept
    numbers: dict[str, int]  # note name -> value as read
    raw_phys32: int | None  # PHYS32_ENTRY before the uint32 store
    phys32_reloc: Phys32Reloc | None  # PHYS32_RELOC, on releases that parse it
    supported: int
    required: int
    tokens: list[FeatureToken]
    # Every FEATURES string Xen reads, with its note (None for the __xen_guest item).
    feature_strings: list[tuple[Note | None, str]]
    # Every SUPPORTED_FEATURES note Xen reads, with the 32-bit words libelf's array reader
    # sees in it (none when descsz is not a multiple of 4); only the first word counts.
    supported_words: list[tuple[Note, tuple[int, ...]]]
    unknown: list[FeatureToken]  # not in this release's table
    # Tokens past MAX_TOKENS_KEPT: counted into the bitmaps and the verdict, not kept.
    tokens_dropped: int
    fatal: FeatureToken | None  # the token that makes the parse fail
    ignored: list[Note]  # notes of types this release skips
    used: list[Note]  # notes this release parses
    pae: Pae  # PAE_MODE as libelf settles it: only ever switched on (sticky)
    if TYPE_CHECKING:
        _addresses_memo: Addresses | None  # not a field (not annotated at run time)

    def __init__(
        self,
        release: XenRelease,
        mode: Mode,
        hvm: bool,
        source: Source | None,
        strings: dict[str, str] | None = None,
        numbers: dict[str, int] | None = None,
        raw_phys32: int | None = None,
        phys32_reloc: Phys32Reloc | None = None,
        supported: int = 0,
        required: int = 0,
        tokens: list[FeatureToken] | None = None,
        feature_strings: list[tuple[Note | None, str]] | None = None,
        supported_words: list[tuple[Note, tuple[int, ...]]] | None = None,
        unknown: list[FeatureToken] | None = None,
        tokens_dropped: int = 0,
        fatal: FeatureToken | None = None,
        ignored: list[Note] | None = None,
        used: list[Note] | None = None,
        pae: Pae = "no",
    ) -> None:
        self.release = release
        self.mode = mode
        self.hvm = hvm
        self.source = source
        self.strings = dict() if strings is None else strings
        self.numbers = dict() if numbers is None else numbers
        self.raw_phys32 = raw_phys32
        self.phys32_reloc = phys32_reloc
        self.supported = supported
        self.required = required
        self.tokens = list() if tokens is None else tokens
        self.feature_strings = list() if feature_strings is None else feature_strings
        self.supported_words = list() if supported_words is None else supported_words
        self.unknown = list() if unknown is None else unknown
        self.tokens_dropped = tokens_dropped
        self.fatal = fatal
        self.ignored = list() if ignored is None else ignored
        self.used = list() if used is None else used
        self.pae = pae
        # Set here, not left unset: reading an unset slot raises AttributeError, and
        # addresses() asks once for each parsed cell of every image.
        self._addresses_memo = None

    def for_cell(self, release: XenRelease, mode: Mode) -> XenParse:
        """This parse as `release` in `mode` read it, for a cell whose parse key is the same
        (the dicts and lists are shared, as with `replace`). Positional arguments: a check
        builds one per Xen cell of every image, and `replace` by keyword cost three times as
        much (tests/test_note_check.py checks it against `replace`)."""
        return XenParse(
            release,
            mode,
            self.hvm,
            self.source,
            self.strings,
            self.numbers,
            self.raw_phys32,
            self.phys32_reloc,
            self.supported,
            self.required,
            self.tokens,
            self.feature_strings,
            self.supported_words,
            self.unknown,
            self.tokens_dropped,
            self.fatal,
            self.ignored,
            self.used,
            self.pae,
        )

    @property
    def phys32_entry(self) -> int | None:
        """PHYS32_ENTRY as libelf stores it: a uint32, with 0xFFFFFFFF meaning unset."""
        if self.raw_phys32 is None:
            return None
        value = self.raw_phys32 & 0xFFFFFFFF
        return None if value == N.PHYS32_UNSET else value

    def given(self, kind: N.NoteType) -> int | None:
        """The value libelf keeps for a 64-bit parameter note (ENTRY, VIRT_BASE, ...): None when
        the note is absent or holds UNSET_ADDR (all-ones), which libelf cannot tell apart."""
        value = self.numbers.get(kind.name)
        if value is None or (kind.name in N.UNSET_MEANS_ABSENT and value == N.UNSET_ADDR):
            return None
        return value

    @property
    def shortcut(self) -> bool:
        """PHYS32_ENTRY alone satisfies elf_xen_note_check (xen.md §4 step 3)."""
        if self.phys32_entry is None:
            return False
        kind = self.release.phys32_shortcut
        return kind == "pv+pvh" or (kind == "pvh" and self.hvm)

    @property
    def failed(self) -> bool:
        return self.fatal is not None

    def refuses(self, token: FeatureToken) -> bool:
        """Whether this unknown token fails the parse: '!' always, a bare name before 4.2.
        In the legacy __xen_guest string a failure only stops the remaining items."""
        return token.required or self.release.unknown_feature_fatal


def uses_xen_guest(release: XenRelease, mode: Mode) -> bool:
    """Whether this release consults `__xen_guest` in this mode (PV only from 4.16)."""
    return not (mode.is_pvh and release.hvm_flag)


# The XenRelease fields parse() reads; releases that agree on them (and on the hvm flag) parse
# an image identically, so the check context parses once per distinct key, not once per
# target x mode cell (65536 notes times 28+ cells once took half a minute). A test checks that
# every `release.<field>` the parse functions read is listed here.
PARSE_FIELDS = (
    "known_notes",
    "feature_names",
    "unknown_feature_fatal",
    "bounded_reads",
    "hvm_flag",
    "xen_guest_hypercall_any_order",
)


def parse_key(release: XenRelease, mode: Mode) -> tuple[object, ...]:
    """What makes two (release, mode) cells parse an image alike: the PARSE_FIELDS of the
    release and whether the parse is an hvm one."""
    # Asked for every Xen cell of every image: worked out once per release and mode (the
    # entry keeps the release, so its id stays its own).
    # By the ids of release and mode (an Enum hashes in Python; a Mode lives as long as its
    # class).
    hit = _PARSE_KEYS.get((id(release), id(mode)))
    if hit is None or hit[0] is not release:
        if len(_PARSE_KEYS) > 4096:
            _PARSE_KEYS.clear()
        key = (*(getattr(release, f) for f in PARSE_FIELDS), mode.is_pvh and release.hvm_flag)
        hit = _PARSE_KEYS[(id(release), id(mode))] = (release, key)
    return hit[1]


_PARSE_KEYS: dict[tuple[int, int], tuple[XenRelease, tuple[object, ...]]] = {}


def parse(
    image: Image, release: XenRelease, mode: Mode, index: NoteIndex | None = None
) -> XenParse:
    """libelf's parse of `image`'s notes (or `__xen_guest`) by `release` in `mode`.
    `index` is the image's NoteIndex when the caller parses the same image more than once."""
    hvm = mode.is_pvh and release.hvm_flag
    result = XenParse(release, mode, hvm, None)
    if image.notes:
        result.source = "notes"
        _parse_notes(index or NoteIndex(image), release, result)
    elif image.xen_guest is not None and uses_xen_guest(release, mode):
        result.source = "xen_guest"
        _parse_xen_guest(image, release, result, index)
    return result


def numeric(image: Image, note: Note) -> int:
    """elf_note_numeric: sizes 1/2/4/8 in the ELF's byte order; any other size reads 0."""
    if note.descsz not in N.NUMERIC_SIZES or note.truncated:
        return 0
    return int.from_bytes(note.desc, "little" if image.little_endian else "big")


def string_value(note: Note) -> str:
    return note.string.decode("latin-1")


class NoteIndex:
    """What parse() needs of an image's notes that does not depend on the release, worked out
    once per image: the notes of each type in walk order, and per type the value libelf ends
    up with (the last note wins; PAE_MODE, SUPPORTED_FEATURES and PHYS32_RELOC accumulate).
    Each release then only picks the types it knows, so a parse costs per note type, not per
    note: an image may hold libelf's 65536 notes and be judged in 100 cells."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.notes = image.notes
        self.by_type: dict[int, list[Note]] = {}  # first-seen order, as libelf's dict fills
        for note in self.notes:
            self.by_type.setdefault(note.type, []).append(note)
        self._tokens: dict[str, list[tuple[str, bool, bool, str]]] = {}
        self._features: dict[tuple[object, ...], _FeatureVerdict] = {}
        self._palign: int | None = None
        self._words: dict[int, tuple[int, ...]] = {}
        self._texts: dict[bytes, str] = {}
        self._note_tokens: dict[int, tuple[str, list[FeatureToken]]] = {}
        self._splits: dict[frozenset[int], tuple[list[Note], list[Note]]] = {}
        self._features_splits: dict[bool, _FeaturesSplit] = {}
        self._summaries: dict[
            str, tuple[int, dict[str, tuple[int, int | None]], int | None, int | None]
        ] = {}
        self._kept: dict[bool, list[tuple[int, N.NoteType, list[Note], _Kept | None]]] = {}
        self._string_tokens: dict[tuple[str, int], list[FeatureToken]] = {}

    def parse_key(self, release: XenRelease, mode: Mode) -> tuple[object, ...]:
        """What makes two (release, mode) cells parse this image alike: the module's
        parse_key narrowed to what the image lets matter. Only the known note types the image
        holds count, only the feature names its FEATURES strings use (and the unknown-name
        verdict only where there are FEATURES), bounded reads only where a string note is
        unterminated, the __xen_guest reading order only where it has HYPERCALL_PAGE: the
        dozen releases whose parse_keys differ in what an image lacks parse it once."""
        hvm = mode.is_pvh and release.hvm_flag
        if self.notes:
            known = release.known_notes & self._defined
            features = None
            if N.FEATURES.number in known:
                names = release.feature_names & self._feature_names
                features = (names, release.unknown_feature_fatal)
            bounded = release.bounded_reads if self.unterminated else None
            return ("notes", known, features, bounded, hvm)
        guest = self.image.xen_guest
        if guest is None or not uses_xen_guest(release, mode):
            return ("nothing", hvm)
        kinds = {N.BY_LEGACY_KEY.get(key) for key, _ in guest.items}
        features = None
        if N.FEATURES in kinds:
            names = release.feature_names & self._feature_names
            features = (names, release.unknown_feature_fatal)
        order = release.xen_guest_hypercall_any_order if N.HYPERCALL_PAGE in kinds else None
        return ("xen_guest", features, order, hvm)

    @cached_property
    def signature(self) -> tuple[object, ...]:
        """All that `parse_key` reads of the image: images with equal signatures give every
        (release, mode) the same key, so a run works out which cells share a parse once per
        signature (a directory of thousands of kernels has a handful), not once per image."""
        if self.notes:
            features = self._feature_names if N.FEATURES.number in self._defined else None
            return ("notes", self._defined, features, self.unterminated)
        guest = self.image.xen_guest
        if guest is None:
            return ("nothing",)
        kinds = {N.BY_LEGACY_KEY.get(key) for key, _ in guest.items}
        features = self._feature_names if N.FEATURES in kinds else None
        return ("xen_guest", features, N.HYPERCALL_PAGE in kinds)

    @cached_property
    def _feature_names(self) -> frozenset[str]:
        """Every defined feature name in the image's FEATURES strings (notes, or the
        __xen_guest item)."""
        if self.notes:
            notes = self.by_type.get(N.FEATURES.number, [])
            texts = {self.text(note) for note in {n.string: n for n in notes}.values()}
        else:
            assert self.image.xen_guest is not None
            items = self.image.xen_guest.items
            texts = {v for k, v in items if N.BY_LEGACY_KEY.get(k) is N.FEATURES}
        # Only the names some release defines matter (they are intersected with a release's
        # table): from each string's summary, not a token list of every string (2,000
        # distinct 4,000-character strings made 800,000 tuples).
        return frozenset().union(*(self._summary(text)[1] for text in texts))

    @cached_property
    def _defined(self) -> frozenset[int]:
        """The defined note types the image holds."""
        return frozenset(self.by_type).intersection(N.BY_NUMBER)

    @cached_property
    def unterminated(self) -> bool:
        """Whether a note of a string type lacks its NUL (bounded reads then skip it)."""
        by_type = self.by_type
        return any(not n.string_terminated for t in _STRING_TYPES for n in by_type.get(t, ()))

    def last(self, notes: list[Note], terminated: bool) -> Note | None:
        """The last note of a type (the last with a NUL-terminated string if `terminated`)."""
        for note in reversed(notes):
            if note.string_terminated or not terminated:
                return note
        return None

    def tokens(self, text: str) -> list[tuple[str, bool, bool, str]]:
        """feature_tokens() of a FEATURES string as plain tuples, once per distinct string."""
        found = self._tokens.get(text)
        if found is None:
            found = [(t.text, t.required, t.split, t.word) for t in feature_tokens(text)]
            self._tokens[text] = found
        return found

    def features(self, text: str, release: XenRelease) -> _FeatureVerdict:
        """What `release` makes of one FEATURES string, once per (string, feature table)."""
        key = (text, release.feature_names, release.unknown_feature_fatal)
        found = self._features.get(key)
        if found is None:
            supported = required = 0
            unknown: list[int] = []
            fatal = None
            for i, (name, req, _, _) in enumerate(self.tokens(text)):
                feature = F.BY_NAME.get(name)
                if feature is not None and name in release.feature_names:
                    supported |= 1 << feature.bit
                    if req:
                        required |= 1 << feature.bit
                    continue
                unknown.append(i)
                if fatal is None and (req or release.unknown_feature_fatal):
                    fatal = i
            found = _FeatureVerdict(supported, required, tuple(unknown), fatal)
            self._features[key] = found
        return found

    def counted(self, text: str, release: XenRelease) -> tuple[int, int, int, int | None]:
        """(supported bits, required bits, token count, index of the failing token or None)
        of one FEATURES string past MAX_TOKENS_KEPT for `release`: what `features` gives,
        from the string's release-independent summary, so each release costs a look at the
        few names Xen defines, not a pass over the string's tokens."""
        count, defined, other, other_required = self._summary(text)
        supported = required = 0
        first, first_required = other, other_required
        for name, (i, i_required) in defined.items():
            if name in release.feature_names:
                bit = 1 << F.BY_NAME[name].bit
                supported |= bit
                if i_required is not None:
                    required |= bit
                continue
            first = i if first is None else min(first, i)
            if i_required is not None:
                first_required = (
                    i_required if first_required is None else min(first_required, i_required)
                )
        return (
            supported,
            required,
            count,
            first if release.unknown_feature_fatal else first_required,
        )

    def _summary(
        self, text: str
    ) -> tuple[int, dict[str, tuple[int, int | None]], int | None, int | None]:
        """(token count, {defined name: (first index, first '!' index)}, first index of a
        name no release defines, the first such with '!'), once per distinct string. Its
        words are the tokens unless one reaches 63 characters (libelf then cuts it): found
        with set and list operations in C, not one Python step per token."""
        found = self._summaries.get(text)
        if found is not None:
            return found
        words = text.split("|")
        if words[-1] == "":
            words.pop()
        if words and max(map(len, words)) >= F.TOKEN_MAX:
            words = [("!" if r else "") + n for n, r, _, _ in self.tokens(text)]
        present = set(words)
        defined: dict[str, tuple[int, int | None]] = {}
        for name in F.BY_NAME.keys() & present | {n[1:] for n in _REQUIRED & present}:
            plain = words.index(name) if name in present else None
            bang = words.index("!" + name) if "!" + name in present else None
            defined[name] = (min(i for i in (plain, bang) if i is not None), bang)
        other = other_required = None
        unknown = present - _DEFINED_TOKENS
        if unknown:
            other = next(i for i, w in enumerate(words) if w in unknown)
            required = {w for w in unknown if w[:1] == "!"} if "!" in text else None
            if required:
                other_required = next(i for i, w in enumerate(words) if w in required)
        found = self._summaries[text] = (len(words), defined, other, other_required)
        return found

    def note_tokens(self, note: Note) -> tuple[str, list[FeatureToken]]:
        """A FEATURES note's string and tokens, made once and shared by every parse."""
        found = self._note_tokens.get(id(note))  # the index keeps every note alive
        if found is None:
            text = self.text(note)
            tokens = [FeatureToken(n, r, note, s, w) for n, r, s, w in self.tokens(text)]
            found = self._note_tokens[id(note)] = (text, tokens)
        return found

    def kept(
        self, skip_unterminated: bool
    ) -> list[tuple[int, N.NoteType, list[Note], _Kept | None]]:
        """(number, kind, notes, what libelf keeps of them) per defined note type, in
        first-seen order: what a parse takes of a type it knows, worked out once per image
        (and per string rule), not once per parse (a dozen per image)."""
        found = self._kept.get(skip_unterminated)
        if found is None:
            found = []
            for number, notes in self.by_type.items():
                kind = N.BY_NUMBER.get(number)
                if kind is None:
                    continue
                unparsed = kind is N.FEATURES or kind is N.PHYS32_RELOC  # parsed per release
                kept = None if unparsed else _kept(self, kind, notes, skip_unterminated)
                found.append((number, kind, notes, kept))
            self._kept[skip_unterminated] = found
        return found

    def note_tokens_of(self, text: str, note: Note | None) -> list[FeatureToken]:
        """feature_tokens(text, note), once per image, string and note (the parses of the
        __xen_guest FEATURES item share its tokens, as those of a note)."""
        found = self._string_tokens.get((text, id(note)))
        if found is None:
            found = feature_tokens(text, note)
            self._string_tokens[(text, id(note))] = found  # the index keeps every note alive
        return found

    def split(self, known: frozenset[int]) -> tuple[list[Note], list[Note]]:
        """The notes a release with `known` note types parses, and those it skips, once per
        distinct set of types (not once per cell: 65536 notes, 100 cells). The lists are
        shared by the parses that ask; nobody changes them."""
        # Keyed by the types that are both read and present: releases that differ only in
        # types the image does not hold share one split (one pass over 65536 notes, not 7).
        wanted = known.intersection(self.by_type, N.BY_NUMBER)
        found = self._splits.get(wanted)
        if found is None:
            used = [n for n in self.notes if n.type in wanted]
            ignored = [n for n in self.notes if n.type not in wanted]
            found = self._splits[wanted] = (used, ignored)
        return found

    def features_split(self, notes: list[Note], skip_unterminated: bool) -> _FeaturesSplit:
        """The FEATURES `notes` split for a release that skips unterminated strings or not;
        where MAX_TOKENS_KEPT falls depends only on the strings, so every release shares it."""
        found = self._features_splits.get(skip_unterminated)
        if found is None:
            read = [n for n in notes if n.string_terminated or not skip_unterminated]
            kept = tokens = 0
            while kept < len(read) and tokens < MAX_TOKENS_KEPT:
                tokens += len(self.tokens(self.text(read[kept])))
                kept += 1
            # Counted in C (65536 notes, usually a handful of distinct strings): per
            # distinct string its text, count and first note; per note its text.
            tail = read[kept:]
            raw = list(map(_STRING, tail))
            distinct = dict(zip(raw, tail, strict=True))
            texts = {string: self.text(note) for string, note in distinct.items()}
            per_note = list(map(texts.__getitem__, raw))
            first = dict(zip(reversed(per_note), reversed(tail), strict=True))
            found = _FeaturesSplit(
                read[:kept],
                list(zip(tail, per_note, strict=True)),
                dict(Counter(per_note)),
                first,
            )
            self._features_splits[skip_unterminated] = found
        return found

    def text(self, note: Note) -> str:
        """string_value() of a note, one str per distinct string (65536 notes may all read
        the same 4 KiB)."""
        found = self._texts.get(note.string)
        if found is None:
            found = self._texts[note.string] = string_value(note)
        return found

    def words(self, note: Note) -> tuple[int, ...]:
        """_words() of a note, once per note (a hostile bitmap may be megabytes long)."""
        found = self._words.get(id(note))
        if found is None:
            found = self._words[id(note)] = _words(self.image, note)
        return found

    @property
    def palign(self) -> int:
        """The largest loadable p_align (32-bit), PHYS32_RELOC's default alignment's source."""
        if self._palign is None:
            loads = self.image.load_segments()
            self._palign = max((s.align for s in loads), default=0) & 0xFFFFFFFF
        return self._palign


class _FeaturesSplit(Frozen):
    """The FEATURES notes a parse reads, split where MAX_TOKENS_KEPT is reached: the notes
    before it are parsed token by token, the rest only counted (per distinct string)."""

    __slots__ = ("counts", "first", "kept", "strings")

    kept: list[Note]
    strings: list[tuple[Note | None, str]]  # (note, its string) of each counted note
    counts: dict[str, int]  # distinct counted string -> how many notes hold it
    first: dict[str, Note]  # distinct counted string -> its first note

    def __init__(
        self,
        kept: list[Note],
        strings: list[tuple[Note | None, str]],
        counts: dict[str, int],
        first: dict[str, Note],
    ) -> None:
        set_ = object.__setattr__
        set_(self, "kept", kept)
        set_(self, "strings", strings)
        set_(self, "counts", counts)
        set_(self, "first", first)


class _FeatureVerdict(Frozen):
    __slots__ = ("fatal", "required", "supported", "unknown")

    supported: int
    required: int
    unknown: tuple[int, ...]  # indices of the unknown tokens
    fatal: int | None  # index of the first token that fails the parse

    def __init__(
        self, supported: int, required: int, unknown: tuple[int, ...], fatal: int | None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "supported", supported)
        set_(self, "required", required)
        set_(self, "unknown", unknown)
        set_(self, "fatal", fatal)


def _parse_notes(index: NoteIndex, release: XenRelease, out: XenParse) -> None:
    """elf_xen_parse_note for every note, type by type (see NoteIndex)."""
    known = release.known_notes
    out.used, out.ignored = index.split(known)
    # XSA-55: an unterminated string is skipped (where there is none, that changes nothing,
    # and the parses of either kind of release share what they take of the notes)
    skip_unterminated = release.bounded_reads and index.unterminated
    for number, kind, notes, kept in index.kept(skip_unterminated):
        if number not in known:
            continue
        if kind is N.FEATURES:
            split = index.features_split(notes, skip_unterminated)
            for note in split.kept:
                _parse_features_note(index, note, release, out)
            if split.strings:
                _count_features(index, split, release, out)
        elif kind.kind is N.DescKind.STRING:
            if kept is not None:
                out.strings[kind.name] = kept.string
                if kind is N.PAE_MODE:
                    out.pae = kept.pae
        elif kind is N.SUPPORTED_FEATURES:
            assert kept is not None
            out.supported_words.extend(kept.words)
            out.supported |= kept.bits
            out.numbers[kind.name] = kept.number
        elif kind is N.PHYS32_ENTRY:
            assert kept is not None
            out.raw_phys32 = out.numbers[kind.name] = kept.number
        elif kind is N.PHYS32_RELOC:
            for note in notes:
                out.phys32_reloc = _phys32_reloc(index.image, note, out.phys32_reloc, index.palign)
        else:
            assert kept is not None
            out.numbers[kind.name] = kept.number


class _Kept(Record):
    """What libelf keeps of the notes of one type (the same for every release that parses
    the type, given whether unterminated strings are skipped): the string or the number, and
    for PAE_MODE the mode it settles on, for SUPPORTED_FEATURES every note's words and their
    bits. Made once per image and type and only read after (a plain record: a Frozen one's
    `object.__setattr__` per field cost a microsecond for each of a dozen types per image)."""

    __slots__ = ("bits", "number", "pae", "string", "words")

    string: str  # a string type's value as kept
    number: int  # a numeric type's value
    pae: Pae
    words: list[tuple[Note, tuple[int, ...]]]
    bits: int

    def __init__(
        self,
        string: str = "",
        number: int = 0,
        pae: Pae = "no",
        words: list[tuple[Note, tuple[int, ...]]] | None = None,
        bits: int = 0,
    ) -> None:
        self.string = string
        self.number = number
        self.pae = pae
        self.words = [] if words is None else words
        self.bits = bits


def _kept(
    index: NoteIndex, kind: N.NoteType, notes: list[Note], skip_unterminated: bool
) -> _Kept | None:
    """libelf's value of one note type (None for a string type with no string it reads);
    FEATURES and PHYS32_RELOC are parsed per release, not here."""
    image = index.image
    if kind.kind is N.DescKind.STRING:
        last = index.last(notes, skip_unterminated)
        if last is None:
            return None
        value = string_value(last)
        if kind.number in _KEPT_SHORT:
            value = value[: N.STRING_KEEP]
        pae: Pae = "no"
        if kind is N.PAE_MODE:
            for note in notes:
                if note.string_terminated or not skip_unterminated:
                    pae = _pae(string_value(note), pae)
        return _Kept(value, pae=pae)
    if kind is N.SUPPORTED_FEATURES:
        words, bits = [], 0
        for note in notes:
            found = index.words(note) if note.descsz % 4 == 0 else ()
            words.append((note, found))
            if found:
                bits |= found[0]
        return _Kept(number=numeric(image, notes[-1]), words=words, bits=bits)
    return _Kept(number=numeric(image, notes[-1]))


# The note types whose descriptor is a string (note numbers).
_STRING_TYPES = tuple(k.number for k in N.NOTE_TYPES if k.kind is N.DescKind.STRING)
# The strings libelf copies into 16-byte buffers (note numbers).
_KEPT_SHORT = frozenset(k.number for k in (N.LOADER, N.GUEST_OS, N.GUEST_VERSION, N.XEN_VERSION))
# The __xen_guest items read as plain addresses (note numbers).
_LEGACY_ADDRESSES = frozenset(k.number for k in (N.VIRT_BASE, N.ENTRY, N.PADDR_OFFSET))


# FEATURES tokens kept for the rules per parse. A real kernel has a dozen; libelf's 65536 notes
# of 4096 '|' each would be 268 million. Past this many, a note's tokens still count (bits,
# required bits, the failing token) but are not kept as objects.
MAX_TOKENS_KEPT = 16384


_STRING = attrgetter("string")
# Every token a release may define, bare and required ('!'): a word outside this set is an
# unknown name for every release.
_REQUIRED = frozenset("!" + name for name in F.BY_NAME)
_DEFINED_TOKENS = frozenset(F.BY_NAME) | _REQUIRED


def _count_features(
    index: NoteIndex, split: _FeaturesSplit, release: XenRelease, out: XenParse
) -> None:
    """FEATURES notes past MAX_TOKENS_KEPT: their strings, bits and failing token count, once
    per distinct string, but their tokens are not kept."""
    out.feature_strings.extend(split.strings)
    for text, count in split.counts.items():
        supported, required, tokens, fatal = index.counted(text, release)
        out.tokens_dropped += count * tokens
        out.supported |= supported
        out.required |= required
        if fatal is not None and out.fatal is None:
            name, required_, split_, word = index.tokens(text)[fatal]
            out.fatal = FeatureToken(name, required_, split.first[text], split_, word)


def _parse_features_note(index: NoteIndex, note: Note, release: XenRelease, out: XenParse) -> None:
    text = index.text(note)
    out.feature_strings.append((note, text))
    verdict = index.features(text, release)
    _, tokens = index.note_tokens(note)
    out.tokens.extend(tokens)
    out.supported |= verdict.supported
    out.required |= verdict.required
    out.unknown.extend(tokens[i] for i in verdict.unknown)
    if verdict.fatal is not None and out.fatal is None:
        out.fatal = tokens[verdict.fatal]


def _pae(value: str, before: Pae) -> Pae:
    """PAE_MODE: exactly "yes" sets extended-cr3, anything containing "bimodal" bimodal;
    nothing switches it off again."""
    if "bimodal" in value:
        return "bimodal"
    return "extended-cr3" if value == "yes" else before


def _phys32_reloc(image: Image, note: Note, before: Phys32Reloc | None, palign: int) -> Phys32Reloc:
    """Words 0-2 are read when descsz reaches them, each as 0 if descsz is not a multiple of 4
    or the word is not in the file (elf_note_numeric_array); absent words keep earlier values."""
    order: Literal["little", "big"] = "little" if image.little_endian else "big"
    words = list(before.words if before else (None, None, None))
    for i in range(len(words)):
        if note.descsz >= 4 * (i + 1):
            data = note.desc[4 * i : 4 * i + 4]
            whole = note.descsz % 4 == 0 and len(data) == 4
            words[i] = int.from_bytes(data, order) if whole else 0
    zeroed = before.zeroed if before else None
    if note.descsz >= 4 and note.descsz % 4:
        zeroed = note
    default = palign if palign >= N.RELOC_PAGE else N.RELOC_ALIGN_DEFAULT
    return Phys32Reloc(note, (words[0], words[1], words[2]), default, zeroed)


def _words(image: Image, note: Note) -> tuple[int, ...]:
    """The descriptor as 32-bit words in the ELF's byte order (elf_note_numeric_array)."""
    count = min(note.descsz, len(note.desc)) // 4
    return struct.unpack_from(f"{'<' if image.little_endian else '>'}{count}I", note.desc)


def _parse_features(
    text: str,
    release: XenRelease,
    note: Note | None,
    out: XenParse,
    index: NoteIndex | None = None,
) -> bool:
    """Tokenise like elf_xen_parse_features; returns False where Xen fails the parse.
    In __xen_guest (note None) libelf returns at the failing token, so the tokens after it
    are not read; in a note the parse fails anyway, and all tokens are kept for the rules.
    With the image's `index`, the parses of one image share the tokens of the string."""
    ok = True
    out.feature_strings.append((note, text))
    tokens = index.note_tokens_of(text, note) if index else feature_tokens(text, note)
    for token in tokens:
        out.tokens.append(token)
        feature = F.BY_NAME.get(token.text)
        if feature is not None and token.text in release.feature_names:
            out.supported |= 1 << feature.bit
            if token.required:
                out.required |= 1 << feature.bit
            continue
        out.unknown.append(token)
        if token.required or release.unknown_feature_fatal:
            if note is None:
                return False
            if out.fatal is None:
                out.fatal = token
            ok = False
    return ok


def feature_tokens(text: str, note: Note | None = None) -> list[FeatureToken]:
    """Cut a FEATURES string the way elf_xen_parse_features does: a token ends at '|' (which
    is consumed) or after 63 characters (the next character, even a '|', starts a new token).

    So each '|'-separated word gives its 63-character pieces, and a word of a multiple of 63
    characters that a '|' follows gives one more, empty, piece (that '|' ends it); an empty
    word gives one empty token, except after the last '|'. Cut with str.split and slices, not
    a loop per character: 65536 notes of 4096 characters are 268 million of them."""
    words = text.split("|")
    # The words a '|' follows: all but the last, or all when nothing comes after the last
    # '|' (that empty word, or an empty string, gives no token).
    followed = len(words) - 1
    if words[-1] == "":
        words.pop()
    tokens = []
    cut = F.TOKEN_MAX
    for i, word in enumerate(words):
        if len(word) < cut:
            pieces = [word]
        else:
            pieces = [word[k : k + cut] for k in range(0, len(word), cut)]
            if len(word) % cut == 0 and i < followed:
                pieces.append("")
        split = len(pieces) > 1
        for piece in pieces:
            required = piece.startswith("!")  # libelf looks at each piece's first character
            tokens.append(
                FeatureToken(piece[1:] if required else piece, required, note, split, word)
            )
    return tokens


def _parse_xen_guest(
    image: Image, release: XenRelease, out: XenParse, index: NoteIndex | None = None
) -> None:
    """The legacy NAME=VALUE string (xen.md §5.5). A FEATURES failure stops the remaining
    items but, unlike in a note, does not fail the parse. `index`: as for parse()."""
    assert image.xen_guest is not None
    for key, value in image.xen_guest.items:
        note = N.BY_LEGACY_KEY.get(key)
        if note is None:
            continue
        if note.number in _KEPT_SHORT:
            out.strings[note.name] = value[: N.STRING_KEEP]
        elif note.number in _LEGACY_ADDRESSES:
            out.numbers[note.name] = _strtoull(value)
        elif note is N.HYPERCALL_PAGE:
            out.numbers["HYPERCALL_PAGE_PFN"] = _strtoull(value)
            if not release.xen_guest_hypercall_any_order:
                # before 4.11 VIRT_BASE is added right here, all-ones while still unset
                base = out.numbers.get("VIRT_BASE", _UNSET_ADDR)
                out.numbers["HYPERCALL_PAGE"] = ((_strtoull(value) << 12) + base) & _UNSET_ADDR
        elif note is N.PAE_MODE:
            out.strings["PAE_MODE"] = value
            if value == "yes[extended-cr3]":
                out.pae = "extended-cr3"
            elif value.startswith("yes"):
                out.pae = "yes"  # "bimodal" is not understood here
        elif note is N.BSD_SYMTAB:
            out.strings["BSD_SYMTAB"] = "yes"
        elif note is N.FEATURES and not _parse_features(value, release, None, out, index):
            break
    pfn = out.numbers.pop("HYPERCALL_PAGE_PFN", None)
    if pfn is not None and release.xen_guest_hypercall_any_order:
        # 4.11+: the page number becomes an address, plus VIRT_BASE only if that is set
        out.numbers["HYPERCALL_PAGE"] = (
            (pfn << 12) + out.numbers.get("VIRT_BASE", 0)
        ) & _UNSET_ADDR


class Addresses(Frozen):
    """elf_xen_addr_calc_check's view of the kernel (xen.md §6.1): where it thinks the image
    lies in the guest's virtual address space, and where it enters."""

    __slots__ = (
        "_out_of_bounds",  # not a field: the out_of_bounds verdict, worked out at creation
        "entry",
        "entry_from",
        "kend",
        "kstart",
        "paddr_offset",
        "paddr_offset_without_virt_base",
        "pend",
        "pstart",
        "virt_base",
    )

    virt_base: int  # VIRT_BASE, 0 when unset (forced to 0 for hvm)
    paddr_offset: int  # PADDR_OFFSET, or its default (0 with notes, VIRT_BASE in __xen_guest)
    kstart: int  # virt_kstart = pstart + VIRT_BASE - PADDR_OFFSET (64-bit wrap)
    kend: int  # virt_kend, the same for pend
    entry: int
    entry_from: str  # "the ENTRY note", "e_entry", "PHYS32_ENTRY", "VIRT_ENTRY in __xen_guest"
    pstart: int  # the p_paddr range of the loadable segments (all-ones/0 when there is none)
    pend: int
    paddr_offset_without_virt_base: bool  # "ERROR: ELF_PADDR_OFFSET set, VIRT_BASE unset"
    if TYPE_CHECKING:
        _out_of_bounds: str | None  # not a field (not annotated at run time)

    def __init__(
        self,
        virt_base: int,
        paddr_offset: int,
        kstart: int,
        kend: int,
        entry: int,
        entry_from: str,
        pstart: int,
        pend: int,
        paddr_offset_without_virt_base: bool,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "virt_base", virt_base)
        set_(self, "paddr_offset", paddr_offset)
        set_(self, "kstart", kstart)
        set_(self, "kend", kend)
        set_(self, "entry", entry)
        set_(self, "entry_from", entry_from)
        set_(self, "pstart", pstart)
        set_(self, "pend", pend)
        set_(self, "paddr_offset_without_virt_base", paddr_offset_without_virt_base)
        # Once, not per ask: seven rules ask it for each parsed cell of every image.
        set_(self, "_out_of_bounds", self._bounds_check())

    @property
    def out_of_bounds(self) -> str | None:
        """Why "ELF start or entries are out of bounds" fires, or None."""
        return self._out_of_bounds

    def _bounds_check(self) -> str | None:
        if self.kstart > self.kend:
            return "the kernel's address range is empty (no loadable segment)"
        if self.entry < self.kstart or self.entry > self.kend:
            return "entry outside the kernel"
        if self.virt_base > self.kstart:
            return "VIRT_BASE above the kernel start"
        return None


def addresses(image: Image, parse: XenParse) -> Addresses:
    """Replay elf_xen_addr_calc_check for this parse. BSD_SYMTAB's extension of the end is
    not modelled (it only widens the range)."""
    # Seven rules ask for each parsed cell of an image. The answer depends on the values the
    # parse read (shared by the cells sharing a parse), its hvm flag and two release fields:
    # worked out once per distinct set of them, kept in the image's memo with the values (so
    # no other dict can take their id while the entry lives) and gone with the image; a
    # parse is not changed once made.
    kept = parse._addresses_memo  # the parse keeps its answer
    if kept is not None:
        return kept
    release = parse.release
    key = (
        __name__,
        "addresses",
        id(parse.numbers),
        parse.raw_phys32,
        parse.source,
        parse.hvm,
        release.paddr_offset_check_pvh,
        release.read_only_load_skipped,  # load_flags(release)
    )
    memo = image.memo  # image.remember without its closure: asked once per parsed cell
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (parse.numbers, _addresses(image, parse))
    found: Addresses = hit[1]  # type: ignore[index]
    parse._addresses_memo = found
    return found


def _addresses(image: Image, parse: XenParse) -> Addresses:
    hvm, legacy = parse.hvm, parse.source == "xen_guest"
    given_base, given_offset = parse.given(N.VIRT_BASE), parse.given(N.PADDR_OFFSET)
    given_entry = parse.given(N.ENTRY)
    check_offset = not hvm or parse.release.paddr_offset_check_pvh
    base = 0 if hvm or given_base is None else given_base
    if hvm:
        offset = 0
    elif given_offset is not None:
        offset = given_offset
    else:
        offset = base if legacy else 0
    span = image.paddr_range(load_flags(parse.release))
    pstart, pend = span if span else (_UNSET_ADDR, 0)
    shift = (base - offset) & _UNSET_ADDR
    kstart, kend = (pstart + shift) & _UNSET_ADDR, (pend + shift) & _UNSET_ADDR
    if hvm and parse.phys32_entry is not None:
        entry, entry_from = parse.phys32_entry, "PHYS32_ENTRY"
    elif given_entry is not None and not hvm:
        entry = given_entry
        entry_from = "VIRT_ENTRY in __xen_guest" if legacy else "the ENTRY note"
    else:
        entry, entry_from = image.entry, "e_entry"
    return Addresses(
        base,
        offset,
        kstart,
        kend,
        entry,
        entry_from,
        pstart,
        pend,
        given_offset is not None and given_base is None and check_offset,
    )


def load_flags(release: XenRelease) -> int:
    """The p_flags that make a PT_LOAD count for this release's [pstart, pend]."""
    return PF_W | PF_X if release.read_only_load_skipped else PF_R | PF_W | PF_X


def note_check_applies(image: Image, release: XenRelease) -> bool:
    """Whether elf_xen_note_check looks at LOADER/GUEST_OS/XEN_VERSION for this machine: every
    machine but EM_ARM, which 4.2+ exempts (a non-x86 image without notes is XL001's case)."""
    return not (image.is_arm32 and release.arm_skips_note_check)


# UNSET_ADDR: libelf's "not given" value for 64-bit addresses, and the width they wrap at.
_UNSET_ADDR = (1 << 64) - 1


def _strtoull(text: str) -> int:
    """strtoull(text, NULL, 0): leading '0x' is hex, a leading '0' octal; stops at junk."""
    text = text.lstrip()
    base, digits = 10, "0123456789"
    if text[:2].lower() == "0x":
        base, digits, text = 16, "0123456789abcdefABCDEF", text[2:]
    elif text.startswith("0"):
        base, digits = 8, "01234567"
    end = 0
    while end < len(text) and text[end] in digits:
        end += 1
    # strtoull saturates at ULLONG_MAX on overflow
    return min(int(text[:end], base), _UNSET_ADDR) if end else 0
