"""Walking paginated listings: ``next_page`` fetches the page after a List."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from copr.v3.requests import TIMEOUT, handle_errors
from copr.v3.results import List, munchify


def next_page(objects: List) -> Any:
    """The page following ``objects`` (an empty List once past the end).

    The request that fetched ``objects`` is sent again, credentials included, with the
    ``offset`` moved on by one page, and, where the frontend named the page's last id
    (``meta.last_id``, a page ordered by id), that id as ``after_id``: the frontend then
    continues from it by keyset rather than counting ``offset`` rows again.
    """
    response = objects.__response__
    meta = objects.meta
    if response is None or not objects or meta.get("limit") is None:
        return List([], meta=meta, response=response, proxy=objects.__proxy__)
    request = response.request.copy()
    parts = urlsplit(str(request.url))
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["offset"] = str(int(meta.get("offset") or 0) + int(meta["limit"]))
    if meta.get("last_id") is not None:
        query["after_id"] = str(int(meta["last_id"]))
    else:
        query.pop("after_id", None)
    request.url = urlunsplit(parts._replace(query=urlencode(query)))
    with requests.Session() as session:
        new_response = session.send(request, timeout=TIMEOUT)
    handle_errors(new_response)
    return munchify(new_response, proxy=objects.__proxy__)


def all_pages(objects: List) -> list[Any]:
    """Every item from ``objects`` on, across the following pages."""
    result: list[Any] = []
    page = objects
    while page:
        result.extend(page)
        page = next_page(page)
    return result


def unlimited(objects: List) -> Iterator[Any]:
    """Items from ``objects`` on, fetching the following pages lazily."""
    page = objects
    while page:
        yield from page
        page = next_page(page)
