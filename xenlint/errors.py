"""The one base class of every error xenlint raises on purpose.

Each subclass carries a one-line message meant for the user; the command line prints it as
`xenlint: error: MESSAGE` and exits with status 2. API callers can catch `XenlintError` for
all of them. Anything else escaping is a bug in xenlint or a plugin.
"""

from __future__ import annotations


class XenlintError(Exception):
    """A one-line, user-facing error: bad usage, configuration, target, or input image."""
