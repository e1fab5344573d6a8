"""The ELF loader finds Xen notes exactly where and how Xen's libelf finds them."""

from __future__ import annotations

from pathlib import Path

import pytest
from elfbuilder import Note, Section, Segment, build_elf, note_bytes, u32, u64, xen_kernel
from hypothesis import given, settings
from hypothesis import strategies as st

from xenlint.image.elf import load_elf, parse_xen_guest
from xenlint.image.model import ImageError
from xenlint.replay.xen import feature_tokens


def load(tmp_path: Path, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "k.elf"
    path.write_bytes(data)
    return load_elf(str(path))


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big", [False, True])
def test_classes_and_byte_orders(tmp_path: Path, bits: int, big: bool) -> None:
    notes = [Note(6, b"linux\0"), Note(3, u32(0x1234, big)), Note(18, u32(0x100000, big))]
    image = load(tmp_path, xen_kernel(notes, bits=bits, big_endian=big))
    assert image.elf_class == bits and image.little_endian is not big
    assert [n.type for n in image.notes] == [6, 3, 18]
    assert image.notes[1].desc == u32(0x1234, big)  # raw bytes, not pyelftools' "build id"
    assert image.note_source == "segments"
    assert image.notes[0].container.kind == "segment"
    assert image.notes[0].container.name == ".note.Xen"


def test_other_owners_and_padding(tmp_path: Path) -> None:
    notes = [
        Note(3, b"\x01\x02\x03\x04\x05", name=b"GNU\0"),
        Note(5, b"xen-3.0\0"),
        Note(5, b"xx\0", name=b"Xen\0\0\0\0\0", namesz=8),
    ]
    image = load(tmp_path, xen_kernel(notes))
    assert [(n.type, n.string) for n in image.notes] == [(5, b"xen-3.0"), (5, b"xx")]
    assert [(f.owner, f.type) for f in image.foreign_notes] == [(b"GNU", 3)]


def test_name_matched_as_c_string_regardless_of_namesz(tmp_path: Path) -> None:
    image = load(tmp_path, xen_kernel([Note(6, b"linux\0", name=b"Xen\0", namesz=3)]))
    assert [n.type for n in image.notes] == [6]


def test_eight_byte_padding_is_misread_like_xen(tmp_path: Path) -> None:
    stream = note_bytes([Note(6, b"linux\0"), Note(5, b"xen-3.0\0")], align=8)
    image = load(tmp_path, build_elf([Segment(data=b"\x90" * 64), Segment(type=4, data=stream)]))
    # 4-byte walking of an 8-aligned stream lands in padding after the first note
    assert [n.type for n in image.notes][:1] == [6]


def test_section_fallback_and_offset_zero_segment(tmp_path: Path) -> None:
    stream = note_bytes([Note(6, b"linux\0")])
    data = build_elf(
        [Segment(data=b"\x90" * 64), Segment(type=4, data=b"", offset=0, filesz=0)],
        [Section(".note.Xen", stream)],
    )
    image = load(tmp_path, data)
    assert image.note_source == "sections"
    assert image.notes[0].container.describe() == "section .note.Xen"
    assert [s.offset for s in image.skipped_segments] == [0]


def test_sections_ignored_when_segments_have_xen_notes(tmp_path: Path) -> None:
    data = xen_kernel(
        [Note(6, b"linux\0")], sections=[Section(".note.other", note_bytes([Note(5, b"x\0")]))]
    )
    image = load(tmp_path, data)
    assert [n.type for n in image.notes] == [6]
    assert len(image.section_notes) == 2  # both sections hold Xen notes; Xen uses segments


def test_xen_guest_section(tmp_path: Path) -> None:
    text = b"GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,HYPERCALL_PAGE=0x2\0"
    data = build_elf([Segment(data=b"\x90" * 64)], [Section("__xen_guest", text, type=1)])
    image = load(tmp_path, data)
    assert image.note_source == "xen_guest"
    assert image.xen_guest is not None
    assert dict(image.xen_guest.items)["VIRT_BASE"] == "0xC0000000"


def test_parse_xen_guest_limits() -> None:
    items = parse_xen_guest("A" * 40 + "=1,LOADER=" + "g" * 200 + ",,BSD_SYMTAB")
    assert items[0][0] == "A" * 31
    assert items[1] == ("LOADER", "g" * 127)
    assert items[2] == ("BSD_SYMTAB", "")


def test_descriptor_past_eof_is_a_problem_not_an_error(tmp_path: Path) -> None:
    data = xen_kernel([Note(6, b"linux\0"), Note(8, b"generic\0")], with_section_headers=False)
    cut = data[: data.rindex(b"generic") + 3]  # the last descriptor runs past EOF, like GRUB's
    image = load(tmp_path, cut)
    assert [n.type for n in image.notes] == [6, 8]
    assert image.notes[1].desc == b"gen" and image.notes[1].truncated
    assert {p.kind for p in image.problems} >= {"past-file"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not an ELF file"),
        (b"MZ\x90\x00" * 20, "not an ELF file"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 20, "truncated ELF header"),
        (b"\x7fELF\x05\x01\x01" + b"\0" * 60, "unknown ELF class 5"),
    ],
)
def test_unreadable(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(ImageError, match=words):
        load(tmp_path, data)


def test_header_tables_outside_file(tmp_path: Path) -> None:
    good = xen_kernel([Note(6, b"linux\0")])
    with pytest.raises(ImageError, match=r"program header table .* past the end of the file"):
        load(tmp_path, xen_kernel([Note(6, b"linux\0")], phoff=len(good) + 100))
    with pytest.raises(ImageError, match=r"section header table .* past the end of the file"):
        load(tmp_path, xen_kernel([Note(6, b"linux\0")], shoff=len(good) - 8))


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="directory"):
        load_elf(str(tmp_path))


def test_input_not_modified(tmp_path: Path) -> None:
    data = xen_kernel([Note(6, b"linux\0"), Note(2, u64(0x1000))])
    path = tmp_path / "k.elf"
    path.write_bytes(data)
    path.chmod(0o444)
    load_elf(str(path))
    assert path.read_bytes() == data


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("a|b", ["a", "b"]),
        ("a||b", ["a", "", "b"]),
        ("|a", ["", "a"]),
        ("a|", ["a"]),
        ("!", ["!"]),
        ("!dom0|x", ["!dom0", "x"]),
        ("x" * 70, ["x" * 63, "x" * 7]),
        ("x" * 63 + "|a", ["x" * 63, "", "a"]),
    ],
)
def test_feature_tokens_like_libelf(text: str, tokens: list[str]) -> None:
    assert [t.display for t in feature_tokens(text)] == tokens


def _elf_xen_parse_features_tokens(text: str) -> list[tuple[str, bool, str]]:
    """elf_xen_parse_features' loop (xen/common/libelf/libelf-dominfo.c, every release since
    3.1), character by character: copy until '|' or 63 characters; a '|' that ends a token
    is skipped, one that comes right after a 63-character token starts the next (empty) one.
    (piece, split, word): whether the '|'-separated word gave several pieces, and the word."""
    pieces: list[tuple[int, str]] = []
    pos = start = 0
    while pos < len(text):
        end = pos
        while end - pos < 63 and end < len(text) and text[end] != "|":
            end += 1
        pieces.append((start, text[pos:end]))
        if end - pos == 63:
            pos = end
        else:
            pos = start = end + 1
    count = {s: sum(1 for t, _ in pieces if t == s) for s, _ in pieces}
    words = {s: text[s:].split("|", 1)[0] for s, _ in pieces}
    return [(piece, count[s] > 1, words[s]) for s, piece in pieces]


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="|!ab", max_size=300)
    | st.lists(st.sampled_from(["|", "!", "x" * 62, "x" * 63, "x" * 64, "y"]), max_size=12).map(
        "".join
    )
)
def test_feature_tokens_cut_as_libelf_loops(text: str) -> None:
    got = [(t.display, t.split, t.word) for t in feature_tokens(text)]
    assert got == _elf_xen_parse_features_tokens(text)
