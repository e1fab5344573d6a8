"""Stream-decompress kernel payloads in bounded pieces: gzip, bzip2, xz, lzma, lzo, lz4, zstd.

Each codec yields the output a piece at a time (at most `PIECE` bytes per piece), so the
caller can stop early, count against a size cap, and never holds a whole kernel in memory.
Codecs come from the standard library where it has them; zstd, lz4 and lzo come from PyPI
packages installed as xenlint extras and are imported only when a payload needs them.
Every failure is a `DecompressError` with a one-line reason.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from typing import Any, Protocol

from xenlint.abi import bzimage as B
from xenlint.errors import XenlintError
from xenlint.record import Frozen

PIECE = 1 << 20  # most output bytes per yielded piece, by default
# The piece size for a stream read only up to its notes (read.py's sparse pass): the first
# output block CPython's bz2, lzma and zlib decompressors allocate (BUFFER_BLOCK_SIZE[0] in
# Include/internal/pycore_blocks_output_buffer.h, 3.10 and later). A piece of exactly one
# block is returned as that block; a 1 MiB piece is four blocks joined by one more copy into
# freshly faulted pages. On Debian's cloud vmlinux decoded to its notes (23 MB) that is
# 5,700 page faults instead of 9,700 and 11-14 ms less CPU for xz, lzma and bzip2.
SMALL_PIECE = 32 << 10
_FEED = 1 << 16  # input bytes handed to a decompressor at a time
# Memory a decompressor may use for its window/dictionary. The kernel uses at most 64 MiB
# (lzma -9) and 128 MiB (zstd --ultra -22); a header asking for more is hostile.
MEMORY_LIMIT = 256 << 20


class DecompressError(XenlintError):
    """The payload cannot be decompressed; the message is one line."""


class Source:
    """The compressed bytes [start, end) of an open file, read sequentially in pieces, so a
    payload is never held in memory whole (nor mapped, which would pin the mapping)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self.fd, self.pos, self.start, self.end = fd, start, start, end

    def read(self, n: int) -> bytes:
        """Up to `n` bytes; b"" at the end of the payload."""
        n = max(0, min(n, self.end - self.pos))
        chunk = os.pread(self.fd, n, self.pos) if n else b""
        self.pos += len(chunk)
        return chunk

    def exactly(self, n: int, what: str) -> bytes:
        chunk = self.read(n)
        if len(chunk) != n:
            raise DecompressError(f"{what} is truncated at payload offset {self.offset:#x}")
        return chunk

    def skip(self, n: int, what: str) -> None:
        if n > self.left:
            raise DecompressError(f"{what} is truncated at payload offset {self.offset:#x}")
        self.pos += n

    def u32(self, order: str, what: str) -> int:
        value: int = struct.unpack(order + "I", self.exactly(4, what))[0]
        return value

    @property
    def offset(self) -> int:
        return self.pos - self.start

    @property
    def left(self) -> int:
        return self.end - self.pos


class Stream(Protocol):
    """A codec's decompressor: the output of `src`, in pieces of at most `piece` bytes
    (lz4 and lzo yield their whole blocks whatever `piece` says). `partial` says the caller
    expects to stop before the end: a codec may then skip integrity work it would only
    compare at the end (xz's check), as long as it still checks whenever it gets there."""

    def __call__(
        self, src: Source, piece: int = PIECE, partial: bool = False
    ) -> Iterator[bytes]: ...


class Codec(Frozen):
    """A payload compression: its magic numbers and the function streaming its output.
    (A record, not a dataclass: only a compressed image imports this module, and
    `dataclasses` with its generated methods cost it about 10 M instructions.)"""

    __slots__ = ("extra", "magics", "name", "stream")

    name: str  # as the kernel's CONFIG_KERNEL_* and Xen's loader call it
    magics: tuple[bytes, ...]
    stream: Stream
    extra: str | None  # the xenlint extra that provides the decompressor

    def __init__(
        self,
        name: str,
        magics: tuple[bytes, ...],
        stream: Stream,
        extra: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "magics", magics)
        set_(self, "stream", stream)
        set_(self, "extra", extra)


def sniff(head: bytes) -> Codec | None:
    """The codec whose magic number starts `head`, tried in Xen's decompress.c order."""
    return next((c for c in CODECS if any(head.startswith(m) for m in c.magics)), None)


def _missing(codec: str, extra: str, module: str) -> DecompressError:
    return DecompressError(
        f"{codec} decompression needs the Python package {module!r}: pip install 'xenlint[{extra}]'"
    )


def _bounded(dec: Any, src: Source, name: str, piece: int) -> Iterator[bytes]:
    """Drive a decompressor with the bz2/lzma/zstd API (`max_length`, `needs_input`, `eof`).
    The first piece may be a whole PIECE whatever `piece` says (see _first)."""
    size = _first(piece)
    while not dec.eof:
        chunk = b""
        if dec.needs_input:
            chunk = src.read(_FEED)
            if not chunk:
                raise DecompressError(f"{name} data is truncated (the stream does not end)")
        out = dec.decompress(chunk, size)
        if out:
            size = piece
            yield out


def _first(piece: int) -> int:
    """The most bytes of the first piece: at least PIECE. Small pieces pay from the second
    on; the first is decoded whole so that a decoder checking a block only at its end (bzip2's
    900 KB blocks) can still report a corrupt first block before the caller reads a header
    out of it, and a small payload is checked as far as one PIECE of it reaches, as before
    small pieces."""
    return max(piece, PIECE)


def _gzip(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    import zlib

    dec = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    size = _first(piece)
    try:
        while not dec.eof:
            chunk = dec.unconsumed_tail or src.read(_FEED)
            if not chunk:
                raise DecompressError("gzip data is truncated (the stream does not end)")
            out = dec.decompress(chunk, size)
            if out:
                size = piece
                yield out
    except zlib.error as exc:
        raise DecompressError(f"corrupt gzip data: {exc}") from None


def _bzip2(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    import bz2

    try:
        yield from _bounded(bz2.BZ2Decompressor(), src, "bzip2", piece)
    except (OSError, ValueError) as exc:
        raise DecompressError(f"corrupt bzip2 data: {exc}") from None


def _lzma_family(src: Source, name: str, fmt: int, piece: int) -> Iterator[bytes]:
    import lzma

    try:
        yield from _bounded(lzma.LZMADecompressor(fmt, memlimit=MEMORY_LIMIT), src, name, piece)
    except lzma.LZMAError as exc:
        if "limit" in str(exc).lower():
            raise DecompressError(
                f"{name} data asks for more than {MEMORY_LIMIT >> 20} MiB of decoder memory"
            ) from None
        raise DecompressError(f"corrupt {name} data: {exc}") from None


def _xz(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    import lzma

    filters = _xz_first_block(src) if partial else None
    if filters is None:
        return _lzma_family(src, "xz", lzma.FORMAT_XZ, piece)
    return _xz_unchecked(src, piece, *filters)


def _xz_unchecked(
    src: Source, piece: int, filters: list[dict[str, int]], body: int, sizes: tuple[int, int]
) -> Iterator[bytes]:
    """The first block of an xz stream decoded raw, without computing its integrity check
    (CRC32 in a kernel's payload, 4 % of the instructions of decoding up to the notes): a
    caller that stops before the block's end would never compare it. Whatever makes the
    raw decoding stop first, the block's end, bad data, the sizes its header declares,
    a truncation, the stream is decoded again with every check from its start, the bytes
    already given dropped. The raw decoder is fed the same input pieces at the same
    offsets as the checked one, and the output of the call that ends the block (which the
    checked decoder loses when the check after it fails) is left to the checked decoding,
    so the caller gets exactly the bytes and the error that the checked decoding gives."""
    import lzma

    start, done = src.pos, 0
    in_limit, out_limit = sizes
    src.pos = body
    size = _first(piece)  # as _bounded asks the checked decoder
    try:
        dec = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        while True:
            chunk = b""
            if dec.needs_input:
                feed = _FEED - (src.pos - start) % _FEED  # the checked decoder's pieces
                chunk = src.read(min(feed, body + in_limit - src.pos))
                if not chunk:
                    break
            out = dec.decompress(chunk, size)
            if dec.eof or len(out) > out_limit - done:
                break
            if out:
                size = piece
                done += len(out)
                yield out
    except lzma.LZMAError:
        pass
    src.pos = start
    for out in _lzma_family(src, "xz", lzma.FORMAT_XZ, piece):
        if done >= len(out):
            done -= len(out)
            continue
        yield out[done:] if done else out
        done = 0


def _xz_first_block(src: Source) -> tuple[list[dict[str, int]], int, tuple[int, int]] | None:
    """(raw filter chain, offset of the block's data, (its compressed, uncompressed size
    limits)) of the stream's first block, or None where anything is other than a plain
    kernel payload's (a bad CRC, an unknown check or filter, filter properties, more
    memory than MEMORY_LIMIT / 2): the checked decoding then reports it as it always has."""
    import lzma
    import zlib

    head = os.pread(src.fd, min(B.XZ_STREAM_HEADER + 1024, src.left), src.pos)
    if len(head) < B.XZ_STREAM_HEADER + 8 or not head.startswith(B.XZ_MAGIC):
        return None
    flags = head[6:8]
    if flags[0] or flags[1] not in B.XZ_CHECK_IDS:
        return None
    if zlib.crc32(flags) != int.from_bytes(head[8:12], "little"):
        return None
    size = (head[B.XZ_STREAM_HEADER] + 1) * 4  # a 0 byte (an Index: no block) gives 4
    block = head[B.XZ_STREAM_HEADER : B.XZ_STREAM_HEADER + size]
    if size < 8 or len(block) != size:
        return None
    if zlib.crc32(block[:-4]) != int.from_bytes(block[-4:], "little"):
        return None
    bflags = block[1]
    if bflags & B.XZ_BLOCK_RESERVED_MASK:
        return None
    pos = 2
    end = size - 4

    def varint() -> int | None:
        nonlocal pos
        value = 0
        for i in range(B.XZ_VARINT_MAX_BYTES):
            if pos >= end:
                return None
            byte = block[pos]
            pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                return value if byte or not i else None  # no padding zero byte (§1.2)
        return None

    limits = [1 << 63, 1 << 63]
    for present, slot in (
        (B.XZ_BLOCK_HAS_COMPRESSED_SIZE, 0),
        (B.XZ_BLOCK_HAS_UNCOMPRESSED_SIZE, 1),
    ):
        if bflags & present:
            value = varint()
            if not value:
                return None
            limits[slot] = value
    bcj = {
        lzma.FILTER_X86,
        lzma.FILTER_POWERPC,
        lzma.FILTER_IA64,
        lzma.FILTER_ARM,
        lzma.FILTER_ARMTHUMB,
        lzma.FILTER_SPARC,
    }
    filters: list[dict[str, int]] = []
    count = (bflags & B.XZ_BLOCK_FILTERS_MASK) + 1
    for i in range(count):
        ident, props = varint(), varint()
        if ident is None or props is None or pos + props > end:
            return None
        last = i == count - 1
        if last and ident == lzma.FILTER_LZMA2 and props == 1:
            prop = block[pos]
            if prop > B.XZ_LZMA2_DICT_PROP_MAX:
                return None
            dict_size = (2 | (prop & 1)) << (prop // 2 + 11)
            if dict_size > MEMORY_LIMIT // 2:
                return None
            filters.append({"id": ident, "dict_size": dict_size})
        elif not last and ident in bcj and props == 0:
            filters.append({"id": ident})
        else:
            return None
        pos += props
    if any(block[pos:end]):  # Header Padding must be zeros
        return None
    return filters, src.pos + B.XZ_STREAM_HEADER + size, (limits[0], limits[1])


def _lzma(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    import lzma

    return _lzma_family(src, "lzma", lzma.FORMAT_ALONE, piece)


def _zstd(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    try:
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
    except ImportError:
        raise _missing("zstd", "zstd", "backports.zstd") from None
    window_log = MEMORY_LIMIT.bit_length() - 1
    dec = zstd.ZstdDecompressor(options={zstd.DecompressionParameter.window_log_max: window_log})
    try:
        yield from _bounded(dec, src, "zstd", piece)
    except zstd.ZstdError as exc:
        raise DecompressError(f"corrupt zstd data: {exc}") from None


def _lz4(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    """The lz4 legacy frame `lz4 -l` writes: the magic, then [le32 size][block] repeated;
    a repeated magic starts a concatenated frame (decompress_unlz4.c)."""
    try:
        import lz4.block
    except ImportError:
        raise _missing("lz4", "lz4", "lz4") from None
    src.skip(len(B.LZ4_LEGACY_MAGIC), "lz4 data")
    magic = int.from_bytes(B.LZ4_LEGACY_MAGIC, "little")
    bound = B.LZ4_LEGACY_BLOCK + B.LZ4_LEGACY_BLOCK // 255 + 16  # LZ4_compressBound
    while src.left:
        where = src.offset
        size = src.u32("<", "lz4 data")
        if size == magic:
            continue
        if size > bound:
            raise DecompressError(
                f"lz4 block at payload offset {where:#x} claims {size} bytes, more than "
                "an 8 MiB legacy block can compress to"
            )
        block = src.exactly(size, f"lz4 block at payload offset {where:#x}")
        try:
            yield lz4.block.decompress(block, uncompressed_size=B.LZ4_LEGACY_BLOCK)
        except lz4.block.LZ4BlockError as exc:
            raise DecompressError(
                f"corrupt lz4 block at payload offset {where:#x}: {exc}"
            ) from None


def _lzo(src: Source, piece: int = PIECE, partial: bool = False) -> Iterator[bytes]:
    """lzop's container (what the kernel build's `lzop -9` writes): a header, then blocks of
    [be32 out size][be32 in size][checksums][data] ending with a zero out size."""
    try:
        from lzallright import LZOCompressor, LZOError
    except ImportError:
        need = "" if sys.version_info >= (3, 11) else " (Python 3.11 or later)"
        raise _missing("lzo", "lzo", "lzallright" + need) from None
    flags = _lzop_header(src)
    lzo = LZOCompressor()
    while True:
        where = src.offset
        dst = src.u32(">", "lzo data")
        if dst == 0:
            return
        size = src.u32(">", "lzo data")
        if dst > B.LZO_BLOCK or size > dst:
            raise DecompressError(
                f"lzo block at payload offset {where:#x} is malformed ({size} bytes to "
                f"{dst}; blocks hold at most {B.LZO_BLOCK} bytes)"
            )
        checks = bool(flags & B.LZO_F_ADLER32_D) + bool(flags & B.LZO_F_CRC32_D)
        if size < dst:
            checks += bool(flags & B.LZO_F_ADLER32_C) + bool(flags & B.LZO_F_CRC32_C)
        src.skip(4 * checks, "lzo data")
        block = src.exactly(size, f"lzo block at payload offset {where:#x}")
        if size == dst:
            yield block
            continue
        try:
            out = lzo.decompress(block, output_size_hint=dst)
        except LZOError as exc:  # args: (EResult, partial output); name the result only
            reason = exc.args[0] if exc.args else type(exc).__name__
            raise DecompressError(
                f"corrupt lzo block at payload offset {where:#x}: {reason}"
            ) from None
        if len(out) != dst:
            raise DecompressError(
                f"lzo block at payload offset {where:#x} gave {len(out)} bytes, not {dst}"
            )
        yield out


def _lzop_header(src: Source) -> int:
    """Skip lzop's file header (lzop's and decompress_unlzo.c's layout); return its flags."""
    what = "lzop header"
    src.skip(len(B.LZO_MAGIC), what)
    (version,) = struct.unpack(">H", src.exactly(2, what))
    new = version >= B.LZO_VERSION_WITH_LEVEL
    src.skip(2 + (2 if new else 0) + 1 + (1 if new else 0), what)  # lib, needed, method, level
    flags = src.u32(">", what)
    src.skip((4 if flags & B.LZO_F_H_FILTER else 0) + 8 + (4 if new else 0), what)
    name_len = src.exactly(1, what)[0]
    src.skip(name_len + 4, what)  # file name, header checksum
    if flags & B.LZO_F_H_EXTRA_FIELD:
        src.skip(src.u32(">", what) + 4, what)
    return flags


CODECS: tuple[Codec, ...] = (
    Codec("gzip", B.GZIP_MAGIC, _gzip),
    Codec("bzip2", (B.BZIP2_MAGIC,), _bzip2),
    Codec("xz", (B.XZ_MAGIC,), _xz),
    Codec("lzma", (B.LZMA_MAGIC,), _lzma),
    Codec("lzo", (B.LZO_MAGIC,), _lzo, "lzo"),
    Codec("lz4", (B.LZ4_LEGACY_MAGIC,), _lz4, "lz4"),
    Codec("zstd", (B.ZSTD_MAGIC,), _zstd, "zstd"),
)
