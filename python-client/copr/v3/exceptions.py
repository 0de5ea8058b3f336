"""The exceptions scripts catch: the class names and hierarchy are those of python-copr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


class CoprException(Exception):
    """Base class of every error this client raises.

    ``result`` mirrors python-copr: an attribute-access dict with ``error`` (the message)
    and ``__response__`` (the HTTP response, when there was one).
    """

    def __init__(self, msg: str | None = None, response: requests.Response | None = None):
        super().__init__(msg)
        from copr.v3.results import Munch

        self.response = response
        self.result: Any = Munch(error=msg or "Unspecified error")
        self.result.__response__ = response


class CoprRequestException(CoprException):
    """The server refused or failed the request, or could not be reached."""

    def __str__(self) -> str:
        lines = str(self.result.error).split("\n")
        if len(lines) == 1:
            return lines[0]
        # Several lines are form validation errors: one per line, as a list.
        return "".join(f"\n- {line}" for line in lines)


class CoprNoResultException(CoprException):
    """The requested object does not exist (HTTP 404)."""


class CoprTimeoutException(CoprException):
    """The server gave up on the request (HTTP 504)."""


class CoprValidationException(CoprException):
    """The data given to a client method are not valid; nothing was sent."""


class CoprNoConfigException(CoprException):
    """No configuration file was found (kept for scripts that catch it)."""


class CoprConfigException(CoprException):
    """The configuration file is missing, incomplete or malformed."""


class CoprAuthException(CoprException):
    """Authentication failed: no credentials, a bad or expired token, or no permission."""
