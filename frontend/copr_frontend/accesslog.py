"""gunicorn's access log for the frontend, without credentials.

gunicorn's default line names the HTTP Basic user (``%(u)s``), which for API v3 is the
API login, one half of every user's credentials; a custom format could also print the
``Authorization`` or ``Cookie`` header.  This logger blanks all of them, and the secret
part of webhook URLs (``/webhooks/<forge>/<copr_id>/<secret>/...``), wherever a format
could show it.  Serve with ``gunicorn --logger-class copr_frontend.accesslog.AccessLogger``.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

REDACTED = "-"
# Header and environ atoms that carry credentials.
_SECRET_ATOMS = ("{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e")
_WEBHOOK_SECRET = re.compile(r"(/webhooks/[^/\s?]+/[^/\s?]+/)[^/\s?]+")
_URL_ATOMS = ("r", "U", "{raw_uri}e", "{path_info}e", "{request_uri}e")


def redact_url(text: str) -> str:
    """``text`` with the secret of any webhook URL in it replaced."""
    return _WEBHOOK_SECRET.sub(r"\1<secret>", text)


class AccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with credentials left out of every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["u"] = REDACTED
        for key in _SECRET_ATOMS:
            if key in atoms:
                atoms[key] = REDACTED
        for key in _URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_url(atoms[key])
        return atoms
