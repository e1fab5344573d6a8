"""The built-in image formats (bare ELF, bzImage, gzip-compressed ELF), registered through the
`xenlint_image_formats` hook exactly as a third-party format is (pyproject.toml:
`image-formats = "xenlint.image.formats"`)."""

from __future__ import annotations

from xenlint import hookimpl
from xenlint.image.format import ImageFormat


@hookimpl
def xenlint_image_formats() -> list[ImageFormat]:
    from xenlint.image.read import BUILTIN_FORMATS

    return list(BUILTIN_FORMATS)
