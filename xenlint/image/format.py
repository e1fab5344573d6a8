"""What an image format plugin contributes (the `xenlint_image_formats` hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xenlint.abi import bzimage as B
from xenlint.record import Frozen

if TYPE_CHECKING:
    from xenlint.image.model import Image

#: How many leading bytes of a file `ImageFormat.sniff` is given: enough for the bzImage
#: header (boot protocol fields up to payload_length).
HEAD_BYTES = B.HEADER_END


class ImageFormat(Frozen):
    """A way a kernel image can be stored: a bare ELF, a bzImage, a gzip-compressed ELF...

    `sniff(head)` says from the file's first HEAD_BYTES bytes whether this format claims the
    file; `load(path, max_decompressed)` reads it (raising ImageError with a one-line reason;
    `max_decompressed` bounds any decompression, in bytes). `looks_like(head)`, if given,
    is the stricter test used for files found while walking a directory (default: `sniff`).
    """

    name: str  # unique across plugins: "elf", "bzimage", "elf.gz"
    description: str  # for error messages and docs: "a gzip-compressed ELF"
    sniff: Callable[[bytes], bool]
    load: Callable[[str, int], Image]
    looks_like: Callable[[bytes], bool] | None

    __slots__ = ("description", "load", "looks_like", "name", "sniff")

    def __init__(
        self,
        name: str,
        description: str,
        sniff: Callable[[bytes], bool],
        load: Callable[[str, int], Image],
        looks_like: Callable[[bytes], bool] | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "description", description)
        set_(self, "sniff", sniff)
        set_(self, "load", load)
        set_(self, "looks_like", looks_like)
