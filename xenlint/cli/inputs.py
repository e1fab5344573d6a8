"""What the commands share: the settings from config and command line, and the images named."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xenlint.cli.parser import UsageError
from xenlint.cli.stream import EXIT_ERROR, EXIT_OK
from xenlint.config.file import Config, find, load, split_list
from xenlint.config.settings import Overrides, Settings, build
from xenlint.engine.plugin import Registry
from xenlint.escape import escape
from xenlint.image.model import Image, ImageError
from xenlint.session import expand, load_image

if TYPE_CHECKING:
    from pathlib import Path


def settings(args: argparse.Namespace, registry: Registry) -> Settings:
    """The settings of this run: the config file (--config, $XENLINT_CONFIG or the nearest
    one found from the working directory; none with --isolated) overridden by the options."""
    if args.isolated:
        cfg = Config()
    elif args.config is not None:
        from pathlib import Path

        cfg = load(Path(args.config))
    else:
        env = os.environ.get("XENLINT_CONFIG")
        if env:
            from pathlib import Path

            found: Path | None = Path(env)
        else:
            found = find(os.getcwd())
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


def readable(
    paths: Sequence[str], command: str, max_decompressed: int | None, registry: Registry
) -> tuple[list[Image], int]:
    """Load every image for `notes` and `matrix`; an unreadable one is a one-line error on
    stderr and makes the exit status 2."""
    if not paths:
        raise UsageError(f"{command} needs a PATH")
    images, status = [], EXIT_OK
    for path, problem in expand(paths, formats=registry.image_formats):
        try:
            if problem is not None:
                raise ImageError(problem)
            images.append(load_image(path, max_decompressed, registry.image_formats))
        except ImageError as exc:
            print(f"xenlint: error: {escape(f'{path}: {exc}')}", file=sys.stderr)
            status = EXIT_ERROR
    return images, status
