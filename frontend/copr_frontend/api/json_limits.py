"""Limits on the JSON the frontend parses: how large and how deeply nested.

Every JSON request body (API v3, the backend API) is parsed by the app's JSON provider,
:class:`BoundedJSONProvider`, and the multipart ``json`` part by :func:`loads_bounded`;
both refuse, with a 400 that says why, a document larger than the ``max_json_size``
setting or nested deeper than :data:`MAX_JSON_DEPTH`.  Without the depth limit a deeply
nested body exhausts Python's recursion (the parser, then every walk over the value)
and ends in a 500.  The check runs before anything is parsed, so nothing is stored.
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask
from flask.json.provider import DefaultJSONProvider

from copr_frontend.api.errors import BadRequest
from copr_frontend.context import settings

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; Copr's own payloads need about 6."""

# A JSON string (skipped: brackets inside it do not nest) or one bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset("[{")


class JsonLimitError(BadRequest):
    """A JSON document over the size or depth limit (400)."""


def max_json_size() -> int:
    return settings().max_json_size


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit`` (without recursion)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: not even that many brackets in all
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif len(token) == 1:
            depth -= 1
    return False


def loads_bounded(
    raw: str | bytes, what: str = "The JSON body", *, limit: int | None = None, **kwargs: Any
) -> Any:
    """``json.loads`` of ``raw`` within the limits (``limit`` bytes, default the app's
    setting); :class:`JsonLimitError` beyond them.

    Invalid JSON is left to the parser (its ``ValueError``), so callers keep their own
    message for it.
    """
    limit = max_json_size() if limit is None else limit
    if len(raw) > limit:
        raise JsonLimitError(f"{what} is larger than the limit of {limit} bytes")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if too_deep(text):
        raise JsonLimitError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(raw, **kwargs)


class BoundedJSONProvider(DefaultJSONProvider):
    """The app's JSON provider: ``request.get_json()`` parses within the limits.

    A :class:`JsonLimitError` is not a ``ValueError``, so it reaches the client even
    through ``get_json(silent=True)``.
    """

    def __init__(self, app: flask.Flask, max_size: int) -> None:
        super().__init__(app)
        self.max_size = max_size

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(s, limit=self.max_size, **kwargs)


def install(app: flask.Flask, max_size: int) -> None:
    """Parse JSON within the limits; refuse an over-large body before receiving it."""
    app.json = BoundedJSONProvider(app, max_size)

    @app.before_request
    def _refuse_large_json() -> None:
        request = flask.request
        if not request.is_json:
            return  # forms and uploads have their own limits; a json part is checked later
        limit = max_json_size()
        overall = request.max_content_length
        if overall is not None and overall <= limit:
            return  # the request size limit comes first (a 413)
        if request.content_length is not None and request.content_length > limit:
            raise JsonLimitError(f"The JSON body is larger than the limit of {limit} bytes")
        # A body without a length (chunked) is cut off at the limit as it is received.
        request.max_content_length = limit + 1
