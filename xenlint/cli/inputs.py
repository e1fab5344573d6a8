"""What the commands share: the settings from config and command line, and the images named."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from xenlint.cli.parser import UsageError
from xenlint.cli.stream import EXIT_ERROR, EXIT_OK
from xenlint.config.file import Config, find, load, split_list
from xenlint.config.settings import Overrides, Settings, build
from xenlint.engine.plugin import Registry
from xenlint.escape import escape
from xenlint.image.model import Image, ImageError


def settings(args: argparse.Namespace, registry: Registry) -> Settings:
    """The settings of this run: the config file (--config, $XENLINT_CONFIG or the nearest
    one found from the working directory; none with --isolated) overridden by the options."""
    if args.isolated:
        cfg = Config()
    elif args.config is not None:
        cfg = load(Path(args.config))
    else:
        env = os.environ.get("XENLINT_CONFIG")
        found = Path(env) if env else find(Path.cwd())
        cfg = load(found) if found else Config()
    modes = [m for value in args.mode or [] for m in split_list(value)] or None
    cli = Overrides(
        targets=args.target,
        modes=modes,
        select=split_list(args.select) if args.select is not None else None,
        ignore=split_list(args.ignore) if args.ignore is not None else None,
        extend_select=split_list(args.extend_select) if args.extend_select else None,
        max_decompressed=args.max_decompressed_size,
    )
    return build(cfg, cli, registry)


def expand(paths: Sequence[str], skip_non_elf: bool = False) -> Iterator[tuple[str, str | None]]:
    """Files to check, each with the reason it cannot be read (None when it can). Files found
    inside a directory are taken only if their content looks like a kernel image (ELF,
    gzip-compressed ELF, bzImage), and so are named files with `skip_non_elf` (pre-commit hands
    over any binary file); what cannot be read (a file or directory without permission, a
    dangling or looping symbolic link) is never skipped: it is an XL000 of its own. FIFOs,
    devices and sockets inside a directory are no images and are passed over."""
    from xenlint.image.read import probe

    for raw in paths:
        if not raw:
            raise UsageError("an empty PATH ('') names no file (use '.' for this directory)")
        if os.path.isdir(raw):
            yield from _walk(raw)
        elif not skip_non_elf:
            yield raw, None
        else:
            kind = probe(raw)
            if kind != "other":
                yield raw, _unreadable(raw) if kind == "unreadable" else None


def _walk(top: str) -> Iterator[tuple[str, str | None]]:
    """The images below `top` in path order, and every entry that could not be read."""
    from xenlint.image.read import probe

    found: list[tuple[str, str | None]] = []

    def failed(exc: OSError) -> None:
        found.append((exc.filename or top, exc.strerror or str(exc)))

    for directory, _, names in os.walk(top, onerror=failed):
        for name in names:
            path = os.path.join(directory, name)
            kind = probe(path)
            if kind == "image":
                found.append((path, None))
            elif kind == "unreadable":
                found.append((path, _unreadable(path)))
    yield from sorted(found, key=lambda item: Path(item[0]).parts)


def _unreadable(path: str) -> str:
    """Why `path` cannot be read, in the words of the OS."""
    try:
        os.stat(path)
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return "cannot be read"


def load_image(path: str, max_decompressed: int | None = None) -> Image:
    """Read one image (raises ImageError); `max_decompressed` bytes bound decompression."""
    from xenlint.image.read import DEFAULT_MAX_DECOMPRESSED
    from xenlint.image.read import load_image as read

    return read(path, max_decompressed=max_decompressed or DEFAULT_MAX_DECOMPRESSED)


def readable(
    paths: Sequence[str], command: str, max_decompressed: int | None
) -> tuple[list[Image], int]:
    """Load every image for `notes` and `matrix`; an unreadable one is a one-line error on
    stderr and makes the exit status 2."""
    if not paths:
        raise UsageError(f"{command} needs a PATH")
    images, status = [], EXIT_OK
    for path, problem in expand(paths):
        try:
            if problem is not None:
                raise ImageError(problem)
            images.append(load_image(path, max_decompressed))
        except ImageError as exc:
            print(f"xenlint: error: {escape(f'{path}: {exc}')}", file=sys.stderr)
            status = EXIT_ERROR
    return images, status
