"""The decompression spool: sparse (only what the prefix parse reads is written), bounded
when the notes lie past the cap, and a full second pass when the prefix is not enough."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from elfbuilder import Note, xen_kernel
from wrapping import COMPRESSORS, wrap

import xenlint.image.read as read
from xenlint.image.decompress import PIECE, SMALL_PIECE
from xenlint.image.elf import union_spans
from xenlint.image.model import ImageError
from xenlint.image.read import load_image

CODECS = list(COMPRESSORS)


@pytest.fixture
def spool_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes of disk the spool used (st_blocks) at the end of each spooling pass."""
    used: list[int] = []
    original = read._spool_and_parse

    def watched(pieces: Any, spool: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(pieces, spool, *args, **kwargs)
        finally:
            used.append(os.fstat(spool.fileno()).st_blocks * 512)

    monkeypatch.setattr(read, "_spool_and_parse", watched)
    return used


@pytest.mark.parametrize("codec", ["gzip", "xz"])
def test_notes_far_into_the_payload_cost_no_disk(
    tmp_path: Path, codec: str, spool_blocks: list[int]
) -> None:
    """24 MiB of code before the notes: only the head, the headers, the note segment and
    the slack after it are written (a few MiB at most, not 24)."""
    bare = xen_kernel([Note(6, b"linux\0"), Note(5, b"xen-3.0\0")], text_size=24 << 20)
    image = load_image(str(wrap(tmp_path, bare, codec)))
    plain = tmp_path / "bare.elf"
    plain.write_bytes(bare)
    expected = load_image(str(plain)).notes  # (the prefix read names no sections)
    assert [(n.offset, n.type, n.desc) for n in image.notes] == [
        (n.offset, n.type, n.desc) for n in expected
    ]
    assert len(spool_blocks) == 1 and spool_blocks[0] <= 4 << 20, spool_blocks


@pytest.mark.parametrize("codec", ["gzip", "bzip2", "xz", "lzma", "zstd"])
def test_the_sparse_pass_stops_within_a_small_piece_of_the_notes(
    tmp_path: Path, codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14's bound, bytes decompressed <= the end of the last PT_NOTE + one codec block,
    tightened for the codecs whose output the standard API bounds: the pass reading up to
    the notes decodes at most one SMALL_PIECE (32 KiB) past them, not one 1 MiB piece (only
    the first piece is a whole 1 MiB one)."""
    pytest.importorskip("compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd")
    bare = xen_kernel([Note(6, b"linux\0"), Note(5, b"xen-3.0\0")], text_size=3 << 20)
    plain = tmp_path / "bare.elf"
    plain.write_bytes(bare)
    end = max(s.offset + s.filesz for s in load_image(str(plain)).segments if s.is_note)
    decoded: list[int] = []
    original = read._store

    def counting(fd: int, piece: bytes, pos: int, keep: Any) -> None:
        decoded.append(len(piece))
        original(fd, piece, pos, keep)

    monkeypatch.setattr(read, "_store", counting)
    image = load_image(str(wrap(tmp_path, bare, codec)))
    assert [n.type for n in image.notes] == [6, 5]
    assert end <= sum(decoded) <= end + SMALL_PIECE, (end, sum(decoded))
    assert decoded[0] <= PIECE and max(decoded[1:]) <= SMALL_PIECE


@pytest.mark.parametrize("codec", CODECS)
def test_no_xen_note_in_the_segments_reads_everything(
    tmp_path: Path, codec: str, spool_blocks: list[int]
) -> None:
    """An empty PT_NOTE: the sparse pass cannot answer, the second pass keeps every byte
    and sees the sections, as the bare ELF's reading does."""
    bare = xen_kernel([], text_size=1 << 16)
    plain = tmp_path / "bare.elf"
    plain.write_bytes(bare)
    image = load_image(str(wrap(tmp_path, bare, codec)))
    expected = load_image(str(plain))
    assert image.sections_read and image.sections == expected.sections
    assert image.notes == expected.notes == ()
    assert len(spool_blocks) == 2


@pytest.mark.parametrize("codec", CODECS)
def test_notes_past_the_cap_stop_at_the_headers(tmp_path: Path, codec: str) -> None:
    """The cap error comes as soon as the program headers say where the notes end, and says
    how to raise the cap."""
    bomb = wrap(tmp_path, xen_kernel([Note(6, b"linux\0")], text_size=16 << 20), codec)
    pieces: list[int] = []
    original = read._store

    def counting(fd: int, piece: bytes, pos: int, keep: Any) -> None:
        pieces.append(len(piece))
        original(fd, piece, pos, keep)

    read._store = counting  # type: ignore[assignment]
    try:
        with pytest.raises(ImageError) as info:
            load_image(str(bomb), max_decompressed=4 << 20)
    finally:
        read._store = original  # type: ignore[assignment]
    message = str(info.value)
    assert "decompression stopped at the 4194304-byte limit" in message
    assert "PT_NOTE segments end at" in message
    assert "--max-decompressed-size" in message
    assert sum(pieces) <= (8 << 20) + (1 << 20), "decompressed far past the headers"


def test_overlapping_note_ranges_are_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """65,535 PT_NOTE segments at nearby offsets (tests/hostile.py 'note-segments-65535'),
    each kept with its 1 MiB loader slack, once made every decompressed piece be compared
    with every range (22 s of CPU): the ranges are merged, so one piece costs one write."""
    keep = union_spans(
        [(off, off + 16 + 1024 * 1024) for off in range(4096, 4096 + 65535 * 56, 56)]
    )
    assert keep == [(4096, 4096 + 65534 * 56 + 16 + 1024 * 1024)]
    writes: list[tuple[int, int]] = []
    monkeypatch.setattr(read.os, "pwrite", lambda fd, data, pos: writes.append((pos, len(data))))
    read._store(-1, b"\x01" * 65536, 0, [(0, 64), *keep])
    assert writes == [(0, 64), (4096, 65536 - 4096)]
