"""Where a redirect that takes user input may go: a path on this site, nothing else.

Browsers are lenient with a Location header: they drop tabs and newlines anywhere in
it, read a backslash as a slash, and take ``//host`` (or ``/\\host``) as another site.
So a target is accepted only when it is a plain absolute path with no such character;
anything else falls back to the default.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Controls (tab, CR, LF, NUL, DEL, ...), any whitespace and the backslash.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]|\s")


def local_redirect_target(value: str | None, default: str = "/") -> str:
    """``value`` when it is a same-origin path such as ``/coprs/x/``, else ``default``."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if _UNSAFE.search(value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
