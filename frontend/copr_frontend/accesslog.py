"""gunicorn's access log for the frontend, without credentials.

gunicorn's default line names the HTTP Basic user (``%(u)s``), which for API v3 is the
API login, one half of every user's credentials; a custom format could also print the
``Authorization`` or ``Cookie`` header.  This logger blanks all of them, and the secret
part of webhook URLs (``/webhooks/<forge>/<copr_id>/<secret>/...``), wherever a format
could show it.  ``gunicorn_conf.py`` names it as gunicorn's logger class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from gunicorn.glogging import Logger

if TYPE_CHECKING:
    from gunicorn.glogging import _AtomsDict

REDACTED = "-"
# Header and environ atoms that carry credentials.
_SECRET_ATOMS = ("{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e")
_WEBHOOK_SECRET = re.compile(r"(/webhooks/[^/\s?]+/[^/\s?]+/)[^/\s?]+")
_URL_ATOMS = ("r", "U", "{raw_uri}e", "{path_info}e", "{request_uri}e")


def redact_url(text: str) -> str:
    """``text`` with the secret of any webhook URL in it replaced."""
    return _WEBHOOK_SECRET.sub(r"\1<secret>", text)


class AccessLogger(Logger):
    """gunicorn's logger with credentials left out of every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> _AtomsDict:
        atoms = super().atoms(resp, req, environ, request_time)
        # The stubs' TypedDict names only the fixed atoms; headers and environ values
        # arrive as "{name}i" / "{name}e" keys of the same dict, so edit it as a plain one.
        values = cast("dict[str, Any]", atoms)
        values["u"] = REDACTED
        for key in _SECRET_ATOMS:
            if key in values:
                values[key] = REDACTED
        for key in _URL_ATOMS:
            if isinstance(values.get(key), str):
                values[key] = redact_url(values[key])
        return atoms
