"""x86 Linux boot protocol (bzImage) and kernel payload compression facts, as data.

Sources: Linux Documentation/arch/x86/boot.rst (the real-mode kernel header), Xen's
tools/libs/guest/xg_dom_bzimageloader.c (how Xen's toolstack slices and decompresses the
payload), Xen's xen/common/decompress.c (payload magic numbers), Linux
lib/decompress_unlz4.c and lib/decompress_unlzo.c (the lz4 legacy and lzop framing the kernel
build writes with `lz4 -l` and `lzop`), and Linux scripts/Makefile.lib `size_append` (the
4-byte little-endian uncompressed size after every payload).
"""

from __future__ import annotations

SECTOR = 512
SETUP_SECTS_OFFSET = 0x1F1  # u8; 0 means 4 (boot.rst: "if this field is 0, the real value is 4")
SETUP_SECTS_DEFAULT = 4
HEADER_MAGIC_OFFSET = 0x202  # "HdrS"
HEADER_MAGIC = b"HdrS"
VERSION_OFFSET = 0x206  # u16 boot protocol version, e.g. 0x020f
PAYLOAD_OFFSET_OFFSET = 0x248  # u32, relative to the start of the protected-mode code
PAYLOAD_LENGTH_OFFSET = 0x24C  # u32
PAYLOAD_MIN_VERSION = 0x0208  # payload_offset/payload_length exist from protocol 2.08
HEADER_END = 0x250  # bytes of the header xenlint reads
SIZE_TRAILER = 4  # the payload ends with the uncompressed size, le32 (size_append)

# Payload magic numbers, in the order Xen's decompress.c tries them.
GZIP_MAGIC = (b"\x1f\x8b",)
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
LZMA_MAGIC = b"\x5d\x00"  # lzma-alone properties byte 0x5d (lc=3, lp=0, pb=2) and dict size
LZO_MAGIC = b"\x89LZO\x00\r\n\x1a\n"  # lzop's file magic (decompress_unlzo.c checks all 9)
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"  # lz4 legacy frame (ARCHIVE_MAGICNUMBER 0x184C2102)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

LZ4_LEGACY_BLOCK = (
    8 << 20
)  # `lz4 -l` blocks decompress to at most 8 MiB (LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE)
LZO_BLOCK = 256 << 10  # decompress_unlzo.c refuses blocks larger than LZO_BLOCK_SIZE (256 KiB)

# lzop header flags (lzop's conf.h; decompress_unlzo.c reads the same ones)
LZO_F_ADLER32_D = 0x001
LZO_F_ADLER32_C = 0x002
LZO_F_H_EXTRA_FIELD = 0x040
LZO_F_CRC32_D = 0x100
LZO_F_CRC32_C = 0x200
LZO_F_H_FILTER = 0x800
LZO_VERSION_WITH_LEVEL = 0x0940  # from this lzop version the header has level and mtime_high

# The .xz container as "The .xz File Format" 1.2.1 (xz-file-format.txt, shipped with XZ
# Utils) lays it out: §2.1.1 Stream Header, §3.1 Block Header, §1.2 multibyte integers,
# §5.3.1 LZMA2's one properties byte. (liblzma's stream_flags_decoder.c and
# block_header_decoder.c read the same.)
XZ_STREAM_HEADER = 12  # magic (6), Stream Flags (2), CRC32 of the Stream Flags (4)
XZ_CHECK_IDS = (0x00, 0x01, 0x04, 0x0A)  # none, CRC32, CRC64, SHA-256 (§2.1.1.2)
XZ_BLOCK_FILTERS_MASK = 0x03  # Block Flags: number of filters - 1
XZ_BLOCK_RESERVED_MASK = 0x3C  # Block Flags: reserved, must be zero
XZ_BLOCK_HAS_COMPRESSED_SIZE = 0x40
XZ_BLOCK_HAS_UNCOMPRESSED_SIZE = 0x80
XZ_VARINT_MAX_BYTES = 9  # a multibyte integer is at most 9 bytes (63 bits)
XZ_LZMA2_DICT_PROP_MAX = 40  # an LZMA2 dictionary-size byte above 40 is invalid
