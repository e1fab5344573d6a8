"""What the commands share: the settings from config and command line, and the images named."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from xenlint.cli.parser import UsageError
from xenlint.cli.stream import EXIT_ERROR, EXIT_OK
from xenlint.config.file import Config, ConfigError, find, load, split_list
from xenlint.config.settings import Overrides, Settings, build
from xenlint.engine.plugin import Registry
from xenlint.image.model import Image, ImageError


def settings(args: argparse.Namespace, registry: Registry) -> Settings:
    """The settings of this run: the config file (--config, $XENLINT_CONFIG or the nearest
    one found from the working directory; none with --isolated) overridden by the options."""
    if args.isolated:
        cfg = Config()
    elif args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"config file {args.config} not found")
        cfg = load(path)
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


def expand(paths: Sequence[str], skip_non_elf: bool = False) -> Iterator[tuple[str, bool]]:
    """Files to read, each with whether it was found inside a directory: a directory's files
    only where `xenlint.image.scan` finds they may be kernel images (not objects, host
    programs or boot sectors), and so named files with `skip_non_elf`."""
    from xenlint.image.scan import Candidate
    from xenlint.image.scan import expand as scan

    for item in scan(paths, skip_non_elf):
        if isinstance(item, Candidate):
            yield item.path, item.discovered


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
    for path, _ in expand(paths):
        try:
            images.append(load_image(path, max_decompressed))
        except ImageError as exc:
            print(f"xenlint: error: {path}: {exc}", file=sys.stderr)
            status = EXIT_ERROR
    return images, status
