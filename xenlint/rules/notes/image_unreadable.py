"""XL000: the file cannot be read as a kernel image at all.

The core reports it when loading fails (the rule never sees an Image, so `check` yields
nothing), with this rule's name, fix and configured severity; `ignore` and per-file-ignores
drop it, `select` always keeps it (xenlint.config.settings.select_rules)."""

from __future__ import annotations

from collections.abc import Iterator

from xenlint import hookimpl
from xenlint.engine.rule import Context, Result, Rule, Severity


class ImageUnreadable(Rule):
    code = "XL000"
    name = "image-unreadable"
    judges_behaviour = True
    severity = Severity.ERROR
    summary = "the file is not a kernel image xenlint (or Xen) can read"
    explanation = """
The file is not an ELF file, a gzip-compressed ELF or an x86 bzImage; or it is truncated;
or its program or section header table lies outside the file; or its compressed data is
corrupt, truncated, uses a compression xenlint cannot decode, or expands beyond the
decompression limit (max-decompressed-size, default 2 GiB: a decompression bomb stops
there). Xen's libelf refuses such an image too ("ELF: not an ELF binary", "ELF: phdr
overflow", "ELF: shdr overflow"). xenlint also refuses an image whose note names and note
strings pass 8 MiB: a kernel's hold a few hundred bytes, while libelf would read up to
65,536 strings of 4 KiB, and judging each one costs time. As an error this finding makes
xenlint exit with status 2, because nothing else about the image could be checked.

Configuration works as for any rule, with one difference: XL000 stays selected whatever
`select` names (selecting XL4 chooses which checks run; a file that could not be read was not
checked at all). `ignore = ["XL000"]` (or per-file-ignores) skips unreadable files silently,
and they no longer affect the exit status; a severity of warning or info reports them at that
severity without exit status 2.
"""
    fix = """
Check that the path names a kernel (vmlinux, bzImage, xen.gz) and that the build finished
writing it; rebuild it if it is truncated. For a large debug kernel raise the limit
(--max-decompressed-size 4G or max-decompressed-size in the config); for a zstd, lz4 or
lzo payload install the extra the message names (pip install 'xenlint[zstd]').
"""

    def check(self, ctx: Context) -> Iterator[Result]:
        return iter(())


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [ImageUnreadable()]
