"""Turn a path into an `Image`, whatever wrapping the kernel ships in: a bare ELF, a
gzip-compressed ELF (`xen.gz`), or an x86 bzImage whose payload is a compressed vmlinux.

The wrapping is sniffed from the content, never the file name. Compressed data is
decompressed as a stream into an anonymous temporary file, counted against a size cap, and
the stream is stopped as soon as the last PT_NOTE segment is out when that segment holds Xen
notes: Xen reads nothing else in that case (shared/abi/xen.md §5.1), and the notes of a
kernel sit in its first third. Input files are opened read-only and never written.
"""

from __future__ import annotations

import bisect
import itertools
import os
import stat
import struct
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Literal

from xenlint.abi import bzimage as B
from xenlint.abi.elf import ELF_MAGIC
from xenlint.image.format import HEAD_BYTES, ImageFormat
from xenlint.image.model import Image, ImageError, open_regular

if TYPE_CHECKING:
    from xenlint.image.decompress import Codec, Source
    from xenlint.image.elfheaders import Header

# The decompressors, tempfile and mmap are imported only for a compressed image: a run on
# bare ELF files (the common case) must not pay for them at start-up.

# Large enough for a debug vmlinux of a gigabyte and then some; config key
# `max-decompressed-size` changes it.
DEFAULT_MAX_DECOMPRESSED = 2 << 30


def load_image(
    path: str,
    *,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED,
    formats: Sequence[ImageFormat] | None = None,
    data: bytes | None = None,
) -> Image:
    """Read `path` as a kernel image, in the first of `formats` (default: the built-in ELF,
    bzImage and gzip-compressed ELF) whose `sniff` claims its first bytes. Raises ImageError
    with a one-line reason. `data`: the whole file, when the caller has read it already
    (`read_small`)."""
    if data is None:
        data, head = _head(path)
    else:
        head = data[:HEAD_BYTES]
    for fmt in formats or BUILTIN_FORMATS:
        if fmt.sniff(head):
            if data is not None and fmt.load is _load_elf:
                # A small bare ELF is parsed from the bytes read here, not opened again: a
                # directory check opens thousands of them.
                from xenlint.image.elf import parse_elf

                return parse_elf(data, path, source_path=path)
            return fmt.load(path, max_decompressed)
    raise ImageError(
        "not an ELF file, a gzip-compressed ELF or an x86 bzImage "
        f"(starts with {head[:4].hex(' ')})"
    )


def _head(path: str) -> tuple[bytes | None, bytes]:
    """(the whole file if it is small, else None; its first HEAD_BYTES bytes), with one open."""
    from xenlint.image.elf import READ_WHOLE_MAX

    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size <= READ_WHOLE_MAX:
            data = os.pread(fd, size, 0)
            return data, data[:HEAD_BYTES]
        return None, os.pread(fd, HEAD_BYTES, 0)
    finally:
        os.close(fd)


def read_small(path: str) -> bytes | None:
    """The bytes of a regular file of at most READ_WHOLE_MAX bytes (elf.py: such files are
    read, not mapped), with one open; None for a larger file or one that cannot be opened
    (its readers then open it themselves, and say why)."""
    try:
        return _head(path)[0]
    except (ImageError, OSError):
        return None


def looks_like_image(path: str, formats: Sequence[ImageFormat] | None = None) -> bool:
    """Whether a file found while walking a directory is worth checking: one of `formats`
    (default: the built-ins: an ELF, a bzImage, or gzip data that decompresses to an ELF)
    recognises it."""
    return probe(path, formats) == "image"


def probe(
    path: str, formats: Sequence[ImageFormat] | None = None
) -> Literal["image", "other", "unreadable"]:
    """What a file is, without blocking on a FIFO or opening a device: a kernel image (one of
    `formats`, default the built-ins, recognises its first bytes), something else (any other
    content, or not a regular file), or unreadable (it cannot be stat'ed or read)."""
    try:
        fd = open_regular(path)
    except ImageError:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return "unreadable"
        return "unreadable" if stat.S_ISREG(mode) else "other"
    try:
        head = os.read(fd, HEAD_BYTES)
    except OSError:
        return "unreadable"
    finally:
        os.close(fd)
    recognised = any((fmt.looks_like or fmt.sniff)(head) for fmt in formats or BUILTIN_FORMATS)
    return "image" if recognised else "other"


def _load_elf(path: str, max_decompressed: int) -> Image:
    from xenlint.image.elf import load_elf

    return load_elf(path)


def _load_bzimage(path: str, max_decompressed: int) -> Image:
    from xenlint.image.decompress import Source, sniff

    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, HEAD_BYTES, 0)
        start, end = _bzimage_payload(head, size)
        payload = Source(fd, start, end - B.SIZE_TRAILER)
        codec = sniff(os.pread(fd, 16, start))
        if codec is None:
            magic = os.pread(fd, 4, start).hex(" ")
            raise ImageError(
                f"bzImage payload at offset {start:#x} starts with {magic}, "
                "which is no compression xenlint (or Xen) knows"
            )
        declared = _le32(os.pread(fd, 4, end - B.SIZE_TRAILER))
        origin = f"bzImage payload, {codec.name}"
        return _inflate(codec, payload, path, origin, "bzimage", declared, max_decompressed)
    finally:
        os.close(fd)


def _load_gzip(path: str, max_decompressed: int) -> Image:
    from xenlint.image.decompress import CODECS, Source

    codec = next(c for c in CODECS if c.name == "gzip")
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        payload = Source(fd, 0, size)
        declared = _le32(os.pread(fd, 4, size - 4)) if size >= 4 else None
        return _inflate(codec, payload, path, "gzip", "elf.gz", declared, max_decompressed)
    finally:
        os.close(fd)


def _gzip_elf(head: bytes) -> bool:
    """gzip data whose first decompressed bytes are an ELF magic (for directory walks)."""
    if not head.startswith(B.GZIP_MAGIC):
        return False
    import zlib

    try:
        return zlib.decompressobj(wbits=31).decompress(head, 4) == ELF_MAGIC
    except zlib.error:
        return False


#: The formats xenlint reads itself, in the order they are tried (registered by the
#: xenlint.image.formats plugin; a file that is none of them is XL000).
BUILTIN_FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat(
        "elf",
        "an ELF file",
        lambda head: head.startswith(ELF_MAGIC) or not head,  # empty: load_elf says why
        _load_elf,
        lambda head: head.startswith(ELF_MAGIC),
    ),
    ImageFormat("bzimage", "an x86 bzImage", lambda head: _is_bzimage(head), _load_bzimage),
    ImageFormat(
        "elf.gz",
        "a gzip-compressed ELF",
        lambda head: head.startswith(B.GZIP_MAGIC),
        _load_gzip,
        _gzip_elf,
    ),
)


def _le32(data: bytes) -> int | None:
    return struct.unpack("<I", data)[0] if len(data) == 4 else None


def _is_bzimage(head: bytes) -> bool:
    return head[B.HEADER_MAGIC_OFFSET : B.HEADER_MAGIC_OFFSET + 4] == B.HEADER_MAGIC


def _bzimage_payload(head: bytes, size: int) -> tuple[int, int]:
    """[start, end) of the compressed payload, size trailer included (boot.rst)."""
    if len(head) < B.HEADER_END:
        raise ImageError(f"truncated bzImage: {size} bytes, shorter than its setup header")
    (version,) = struct.unpack_from("<H", head, B.VERSION_OFFSET)
    if version < B.PAYLOAD_MIN_VERSION:
        raise ImageError(
            f"bzImage boot protocol {version >> 8}.{version & 0xFF:02d} has no payload_offset "
            "(needs 2.08 or later, as Xen's bzImage loader does)"
        )
    setup_sects = head[B.SETUP_SECTS_OFFSET] or B.SETUP_SECTS_DEFAULT
    offset, length = struct.unpack_from("<II", head, B.PAYLOAD_OFFSET_OFFSET)
    start = (setup_sects + 1) * B.SECTOR + offset
    end = start + length
    if length <= B.SIZE_TRAILER:
        raise ImageError(f"bzImage payload_length {length} leaves no compressed data")
    if end > size:
        raise ImageError(
            f"bzImage payload ({length} bytes at offset {start:#x}: setup_sects {setup_sects}, "
            f"payload_offset {offset:#x}) runs past the end of the file ({size:#x} bytes)"
        )
    return start, end


def _inflate(
    codec: Codec,
    payload: Source,
    path: str,
    origin: str,
    fmt: str,
    declared: int | None,
    cap: int,
) -> Image:
    import tempfile

    from xenlint.image.decompress import SMALL_PIECE, DecompressError

    args = (path, origin, fmt, declared, cap)
    try:
        with tempfile.TemporaryFile(prefix="xenlint-") as spool:
            try:
                # Small pieces: all but a few of them are decoded only to be dropped.
                pieces = codec.stream(payload, SMALL_PIECE, partial=True)
                return _spool_and_parse(pieces, spool, *args, sparse=True)
            except _NeedEverything:
                # Rare: the PT_NOTE segments hold no Xen note (or the stream ended before
                # them), so Xen reads the whole ELF, sections included. Decompress again,
                # this time keeping every byte.
                payload.pos = payload.start
                os.ftruncate(spool.fileno(), 0)
                return _spool_and_parse(codec.stream(payload), spool, *args, sparse=False)
    except DecompressError as exc:
        raise ImageError(f"{origin}: {exc}") from None
    except ImageError as exc:
        raise ImageError(f"{origin}: {exc}") from None
    except OSError as exc:
        raise ImageError(f"{origin}: cannot spool the decompressed data: {exc}") from None


class _NeedEverything(Exception):
    """The sparse spool skipped bytes that the parse turns out to need."""


def _over_cap(cap: int, why: str) -> ImageError:
    return ImageError(
        f"decompression stopped at the {cap}-byte limit (max-decompressed-size): {why}; "
        "if the image is genuine, raise the limit with --max-decompressed-size SIZE or "
        "max-decompressed-size in the config"
    )


def _store(fd: int, piece: bytes, pos: int, keep: list[tuple[int, int]] | None) -> None:
    """Write the part of `piece` (at stream offset `pos`) that the parse can read: all of it
    (`keep` None) or its overlap with the `keep` ranges. Runs of zeros are not written: the
    spool is extended with ftruncate, so they read back as the holes of a sparse file."""
    if keep is None:
        if piece.count(0) != len(piece):
            os.pwrite(fd, piece, pos)
        return
    end = pos + len(piece)
    # `keep` is sorted and disjoint (_union): start at the first range ending after `pos`.
    first = max(bisect.bisect_right(keep, (pos, pos)) - 1, 0)
    for start, stop in itertools.islice(keep, first, None):
        if start >= end:
            break
        lo, hi = max(start, pos), min(stop, end)
        if lo < hi:
            chunk = piece[lo - pos : hi - pos]
            if chunk.count(0) != len(chunk):
                os.pwrite(fd, chunk, lo)


def _spool_and_parse(
    pieces: Iterator[bytes],
    spool: IO[bytes],
    path: str,
    origin: str,
    fmt: str,
    declared: int | None,
    cap: int,
    *,
    sparse: bool,
) -> Image:
    """Spool the stream; after the PT_NOTE segments are out, try the prefix.

    With `sparse`, once the program headers are known only the bytes the prefix parse reads
    are written (the head loaders probe, the headers, each PT_NOTE segment and the slack the
    loaders' walks may read past it), so a note segment far into a payload costs no disk;
    raises _NeedEverything when the parse then needs the whole ELF after all."""
    from xenlint.image.elf import HEAD_BYTES, NOTE_SLACK, union_spans
    from xenlint.image.elfheaders import read_header

    fd = spool.fileno()
    written = 0
    keep: list[tuple[int, int]] | None = None  # None: keep every byte
    stop_at: int | None = 64  # first the ELF header, then the phdr table, then the notes
    stage = "header"
    for piece in pieces:
        over = len(piece) > cap - written
        if over:  # keep what fits: the notes may still be inside the cap
            piece = piece[: cap - written]
        _store(fd, piece, written, keep)
        written += len(piece)
        while stop_at is not None and written >= stop_at:
            os.ftruncate(fd, written)
            if stage == "header":
                header = read_header(os.pread(fd, 64, 0))
                stage, stop_at = "phdrs", max(header.phdr_end, 64)
            elif stage == "phdrs":
                notes = _note_spans(fd, written, header)
                stage, stop_at = "notes", max((off + size for off, size in notes), default=None)
                if not any(off for off, _ in notes):
                    stop_at = None
                elif stop_at is not None and stop_at > cap:
                    # The notes lie past the cap: decompressing up to it would only find
                    # that out seconds (and gigabytes of a bomb) later.
                    raise _over_cap(cap, f"the PT_NOTE segments end at {stop_at:#x}, past it")
                elif sparse:
                    keep = [(0, HEAD_BYTES), (header.phoff, header.phdr_end)]
                    keep += [(off, off + size + NOTE_SLACK) for off, size in notes]
                    keep = union_spans(keep)
            else:
                image = _parse(fd, written, path, origin, fmt, declared or written)
                if image is not None and image.segment_notes:
                    return image
                if keep is not None:
                    raise _NeedEverything
                stop_at = None
        if over:
            raise _over_cap(
                cap, "the data expands further (a decompression bomb, or a larger limit is needed)"
            )
    if keep is not None:
        raise _NeedEverything
    os.ftruncate(fd, written)
    if written < 64:
        read_header(os.pread(fd, 64, 0))  # raises the precise reason
    image = _parse(fd, written, path, origin, fmt, None)
    assert image is not None
    return image


def _note_spans(fd: int, length: int, header: Header) -> list[tuple[int, int]]:
    """(p_offset, p_filesz) of each PT_NOTE program header, read through a mapping of what is
    decompressed so far (a hostile e_phentsize can make the table gigabytes long: it is
    never copied)."""
    import mmap

    from xenlint.image.elfheaders import check_phdr_table, note_spans

    check_phdr_table(header, length)
    with mmap.mmap(fd, length, access=mmap.ACCESS_READ) as data:
        return note_spans(data, header)


def _parse(
    fd: int, length: int, path: str, origin: str, fmt: str, prefix_of: int | None
) -> Image | None:
    import mmap

    from xenlint.image.elf import parse_elf

    with mmap.mmap(fd, length, access=mmap.ACCESS_READ) as data:
        return parse_elf(data, path, origin, fmt, prefix_of=prefix_of)
